#pragma once
// `xgrad train --report DIR`: DIR/report.html (loss, accuracy and the learning rate per epoch,
// the epoch table, the gradient-flow charts, the confusion matrix with
// per-class metrics, the configuration; when the run diverged, what
// happened) and DIR/metrics.csv. It takes plain records, not the run itself.
#include <string>
#include <utility>
#include <vector>

#include "metrics/confusion_matrix.hpp"
#include "report/html.hpp"
#include "train/diagnostics.hpp"
#include "train/loop.hpp"

namespace xg {

struct TrainReport {
  std::string data_name;
  std::vector<std::pair<std::string, std::string>> config;  // key/value lines (Experiment::summary_items)
  std::vector<EpochStats> history;                          // the epochs completed
  std::vector<std::vector<LayerDiagnostics>> diagnostics;   // per epoch, with --diagnostics (else empty)
  const ConfusionMatrix* confusion = nullptr;               // on the test set, after the last epoch
  std::vector<std::string> class_names;
  const TrainingDiverged* diverged = nullptr;               // the run stopped here
  std::string interrupted;  // a signal stopped the run: where ("interrupted by SIGINT in epoch 3 at step 40 of 469"), else ""
};

void write_train_report(const std::string& dir, const TrainReport& run);

// metrics.csv of per-epoch stats: epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds
// (val_loss, val_acc with --val-split)
std::string epoch_metrics_csv(const std::vector<EpochStats>& history);

// Per-layer charts over the epochs of the update/weight ratio and the gradient
// norm (log scale), and the dead-ReLU fraction. No-op when `history` is empty.
void add_diagnostics_charts(HtmlReport& report, const std::vector<std::vector<LayerDiagnostics>>& history);

}  // namespace xg
