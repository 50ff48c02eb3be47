#pragma once
// `xgrad sweep --report DIR`: the runs' loss curves side by side (training
// loss per 20-step window, held-out loss and accuracy per epoch, divergences
// marked), the table of final figures, the best run's confusion matrix, and
// DIR/metrics.csv. It takes plain records (train/sweep.hpp SweepRun).
#include <string>
#include <utility>
#include <vector>

#include "metrics/confusion_matrix.hpp"
#include "train/sweep.hpp"

namespace xg {

struct SweepReport {
  std::string data_name;
  std::vector<std::pair<std::string, std::string>> config;  // key/value lines
  const std::vector<SweepRun>* runs = nullptr;
  int best = -1;                                 // index into runs; -1: every rate diverged
  bool validation = false;                       // the held-out figures are the validation set's
  const ConfusionMatrix* best_confusion = nullptr;  // the best run's, on the held-out set
  std::vector<std::string> class_names;
};

void write_sweep_report(const std::string& dir, const SweepReport& sweep);

}  // namespace xg
