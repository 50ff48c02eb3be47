#include "metrics/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace xg {
namespace {
// labels must hold one class index below c per row of the (n, c) scores.
void check_labels(const Array& scores, const std::vector<std::uint32_t>& labels, const char* function) {
  if (scores.dimension() != 2 || labels.size() != scores.shape()[0])
    throw std::invalid_argument(std::string(function) + ": " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(scores.dimension() == 2 ? scores.shape()[0] : 0) + " rows of scores");
  for (std::uint32_t label : labels)
    if (label >= scores.shape()[1])
      throw std::invalid_argument(std::string(function) + ": label " + std::to_string(label) + " is out of range for " +
                                  std::to_string(scores.shape()[1]) + " classes");
}
}  // namespace

double top_k_accuracy(const Array& scores, const std::vector<std::uint32_t>& labels, std::size_t k) {
  check_labels(scores, labels, "top_k_accuracy");
  const std::size_t n = scores.shape()[0], c = scores.shape()[1];
  std::size_t hits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = scores.data() + i * c;
    // The label is in the top k when fewer than k classes score strictly higher
    // (ties go to the lower index, as argmax does).
    std::size_t above = 0;
    for (std::size_t j = 0; j < c; ++j) above += row[j] > row[labels[i]] || (row[j] == row[labels[i]] && j < labels[i]);
    hits += above < k;
  }
  return n ? double(hits) / double(n) : 0.0;
}

Calibration calibration(const Array& p, const std::vector<std::uint32_t>& labels, std::size_t bins) {
  check_labels(p, labels, "calibration");
  if (bins == 0) throw std::invalid_argument("calibration: bins must be at least 1");
  const std::size_t n = p.shape()[0], c = p.shape()[1];
  Calibration out;
  out.bins.resize(bins);
  for (std::size_t b = 0; b < bins; ++b) {
    out.bins[b].lo = double(b) / double(bins);
    out.bins[b].hi = double(b + 1) / double(bins);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = p.data() + i * c;
    const std::size_t predicted = argmax(row, c);
    const double confidence = row[predicted];
    const std::size_t b = std::min(bins - 1, std::size_t(confidence * double(bins)));
    out.bins[b].count += 1;
    out.bins[b].confidence += confidence;
    out.bins[b].accuracy += predicted == labels[i] ? 1.0 : 0.0;
  }
  for (CalibrationBin& bin : out.bins) {
    if (bin.count == 0) continue;
    bin.confidence /= double(bin.count);
    bin.accuracy /= double(bin.count);
    out.ece += double(bin.count) / double(n) * std::fabs(bin.accuracy - bin.confidence);
  }
  return out;
}

}  // namespace xg
