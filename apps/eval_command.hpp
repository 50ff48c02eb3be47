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

}  // namespace xg
