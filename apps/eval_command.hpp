#pragma once
// `xgrad eval --model M`: a saved model's quality on the test split — accuracy,
// loss, confusion matrix, per-class precision/recall/F1 with macro averages,
// top-k accuracy, the most-confused pairs and a calibration summary.
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.hpp"

namespace CLI {
class App;
}

namespace xg {

struct EvalOptions {
  std::string model;
  std::string data;        // "" : the checkpoint's --data
  bool json = false;
  std::size_t top_k = 3;
  std::size_t limit = 0;   // first N test items (0: all)
};

CLI::App* add_eval_command(CLI::App& app, EvalOptions& options);
int run_eval(const EvalOptions& options);

// Calibration: items binned by confidence (the top softmax probability) into
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
// logits (N, C), labels N.
Calibration calibration(const Array& logits, const std::vector<std::uint32_t>& labels, std::size_t bins = 10);
// Fraction of items whose label is among the k largest logits.
double top_k_accuracy(const Array& logits, const std::vector<std::uint32_t>& labels, std::size_t k);

}  // namespace xg
