#pragma once
// Scores of a classifier beyond the confusion matrix: top-k accuracy and
// calibration (does a 0.9 confidence mean 90% right?).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace xg {

// Calibration: items binned by confidence (their top class probability) into
// `bins` equal bins of [0, 1]; per bin the count, mean confidence and accuracy;
// ece = Σ_bins count/N · |accuracy − confidence| (expected calibration error).
struct CalibrationBin {
  double lo = 0, hi = 0;
  std::size_t count = 0;
  double confidence = 0, accuracy = 0;
};
struct Calibration {
  std::vector<CalibrationBin> bins;
  double ece = 0;
};
// Both throw std::invalid_argument unless labels holds one class index < C per row.
// probabilities (N, C), each row summing to 1 (e.g. losses/softmax_cross_entropy.hpp's softmax); labels N.
Calibration calibration(const Array& probabilities, const std::vector<std::uint32_t>& labels, std::size_t bins = 10);
// Fraction of items whose label is among the k largest scores (N, C); ties go
// to the lower class index, as argmax does.
double top_k_accuracy(const Array& scores, const std::vector<std::uint32_t>& labels, std::size_t k);

}  // namespace xg
