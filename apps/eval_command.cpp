#include "apps/eval_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "train/saved_model.hpp"
#include "train/distributed.hpp"
#include "core/error.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "metrics/calibration.hpp"
#include "metrics/confusion_matrix.hpp"

namespace xg {

CLI::App* add_eval_command(CLI::App& app, EvalOptions& o) {
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a saved model on the test split");
  cmd->add_option("--model", o.model, "Model file written by xgrad train --save")->required()->type_name("PATH");
  cmd->add_option("--data", o.data, "Data set (default: the one the model was trained on)");
  cmd->add_flag("--json", o.json, "Print one JSON document instead of tables");
  cmd->add_option("--top-k", o.top_k, "k for the top-k accuracy")->capture_default_str();
  cmd->add_option("--test-limit", o.limit, "Use only the first N test items (0: all)")->capture_default_str();
  return cmd;
}

int run_eval(const EvalOptions& o) {
  if (o.top_k == 0) throw InputError("--top-k must be at least 1");
  LoadedModel model = load_model(o.model);
  Dataset data = load_data_for_model(model, o.data);
  if (o.limit) truncate(data.test, o.limit);
  const Split& test = data.test;
  const std::vector<std::string>& names = model.info.classes;
  const std::size_t classes = names.size();
  const Array logits = model_logits(model, test);

  ConfusionMatrix confusion(classes);
  confusion.add_batch(logits.data(), test.count, classes, test.labels.data());
  const Array log_p = log_softmax(logits);
  double loss = 0.0;
  for (std::size_t i = 0; i < test.count; ++i) loss -= double(log_p.data()[i * classes + test.labels[i]]);
  loss = test.count ? loss / double(test.count) : 0.0;
  // Top-k accuracy says something only when k < classes (with k = classes it is 1).
  const std::size_t k = std::min(o.top_k, classes);
  const bool show_top_k = k < classes;
  const double top_k = top_k_accuracy(logits, test.labels, k);
  std::string warning;
  if (is_training_data(model, o.data)) {
    warning = "--data " + o.data + " holds the rows " + o.model + " was trained on, so this accuracy measures memorisation, "
              "not how it does on new data; leave out --data to evaluate on the held-out test split";
    std::fprintf(stderr, "xgrad: warning: %s\n", warning.c_str());
  }
  const Calibration cal = calibration(softmax(logits), test.labels);

  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["items"] = test.count;
    j["classes"] = names;
    j["accuracy"] = confusion.accuracy();
    j["loss"] = loss;
    if (show_top_k) {
      j["top_k"] = k;
      j["top_k_accuracy"] = top_k;
    }
    if (!warning.empty()) j["warning"] = warning;
    nlohmann::json matrix = nlohmann::json::array();
    for (std::size_t t = 0; t < classes; ++t) {
      nlohmann::json row = nlohmann::json::array();
      for (std::size_t p = 0; p < classes; ++p) row.push_back(confusion.count(t, p));
      matrix.push_back(row);
    }
    j["confusion_matrix"] = matrix;
    nlohmann::json per_class = nlohmann::json::array();
    for (std::size_t c = 0; c < classes; ++c) {
      std::size_t support = 0;
      for (std::size_t p = 0; p < classes; ++p) support += confusion.count(c, p);
      per_class.push_back({{"class", names[c]}, {"precision", confusion.precision(c)}, {"recall", confusion.recall(c)},
                           {"f1", confusion.f1(c)}, {"support", support}});
    }
    j["per_class"] = per_class;
    j["macro"] = {{"precision", confusion.macro_precision()}, {"recall", confusion.macro_recall()}, {"f1", confusion.macro_f1()}};
    j["weighted"] = {{"precision", confusion.weighted_precision()}, {"recall", confusion.weighted_recall()},
                     {"f1", confusion.weighted_f1()}};
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& m : confusion.most_confused(5)) pairs.push_back({{"truth", names[m.truth]}, {"predicted", names[m.predicted]}, {"count", m.count}});
    j["most_confused"] = pairs;
    nlohmann::json bins = nlohmann::json::array();
    for (const CalibrationBin& b : cal.bins) {
      bins.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}, {"mean_confidence", b.confidence}, {"accuracy", b.accuracy}});
    }
    j["calibration"] = {{"bins", bins}, {"ece", cal.ece}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  const bool terminal = stdout_is_terminal();
  std::printf("model  %s: %s, trained %zu epochs\n", o.model.c_str(), model.model->describe().c_str(), model.info.epoch);
  std::printf("data   %s: %zu test %s\n\n", data.name.c_str(), test.count, test.is_image() ? "images" : "rows");
  std::printf("accuracy %.4f  test_loss %.4f", confusion.accuracy(), loss);
  if (show_top_k) std::printf("  top-%zu accuracy %.4f", k, top_k);
  std::printf("\n");
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%s\n", confusion.format_matrix(names, terminal).c_str());
  std::printf("%s\n", confusion.format_report(names).c_str());
  std::printf("%s\n", confusion.format_most_confused(names, 5).c_str());
  std::printf("\ncalibration: mean confidence vs accuracy in 10 bins of confidence\n");
  std::printf("  confidence   items  mean_conf  accuracy\n");
  for (const CalibrationBin& b : cal.bins) {
    if (b.count == 0) {
      std::printf("  %.1f-%.1f   %7zu          -         -\n", b.lo, b.hi, b.count);
    } else {
      std::printf("  %.1f-%.1f   %7zu     %.4f    %.4f\n", b.lo, b.hi, b.count, b.confidence, b.accuracy);
    }
  }
  std::printf("  expected calibration error %.4f\n", cal.ece);
  return 0;
}

}  // namespace xg
