// xgrad: one binary, one subcommand per task.
// Exit status: 0 success; 1 a check that failed; 2 bad input; 3 training diverged.
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/eval_command.hpp"
#include "apps/explain_command.hpp"
#include "apps/gradcheck_command.hpp"
#include "apps/predict_command.hpp"
#include "apps/graph_command.hpp"
#include "train/forensics.hpp"
#include "apps/lr_find_command.hpp"
#include "apps/sweep_command.hpp"
#include "apps/train_command.hpp"
#include "train/loop.hpp"
#include "core/error.hpp"

namespace {

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// CLI11 reads "-1" into an unsigned count by wrapping it around (--epochs -1
// would train 18446744073709551615 epochs): every unsigned flag (CLI11's type
// name "UINT", or our "N") of every subcommand must hold a non-negative number.
void reject_negative_counts(CLI::App& app) {
  const CLI::Validator non_negative(
      [](std::string& text) {
        const std::size_t first = text.find_first_not_of(" \t");
        return first != std::string::npos && text[first] == '-' ? "must be 0 or more, got " + text : std::string();
      },
      "");
  for (CLI::App* command : app.get_subcommands({}))
    for (CLI::Option* option : command->get_options())
      if (option->get_type_name() == "UINT" || option->get_type_name() == "N") option->check(non_negative);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xgrad: a small, fast deep-learning trainer for MNIST-style classifiers"};
  app.require_subcommand(1);
  xg::TrainCommandOptions train_options;
  CLI::App* train = xg::add_train_command(app, train_options);
  xg::SweepOptions sweep_options;
  CLI::App* sweep = xg::add_sweep_command(app, sweep_options);
  xg::LrFindOptions lr_find_options;
  CLI::App* lr_find = xg::add_lr_find_command(app, lr_find_options);
  xg::GradcheckOptions gradcheck_options;
  CLI::App* gradcheck = xg::add_gradcheck_command(app, gradcheck_options);
  xg::GraphOptions graph_options;
  CLI::App* graph = xg::add_graph_command(app, graph_options);
  xg::EvalOptions eval_options;
  CLI::App* eval = xg::add_eval_command(app, eval_options);
  xg::PredictOptions predict_options;
  CLI::App* predict = xg::add_predict_command(app, predict_options);
  xg::ExplainOptions explain_options;
  CLI::App* explain = xg::add_explain_command(app, explain_options);

  reject_negative_counts(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "xgrad: " << one_line(e.what()) << " (see xgrad --help)\n";
    return 2;
  }

  try {
    if (*train) return xg::run_train(train_options);
    if (*sweep) return xg::run_sweep(sweep_options);
    if (*lr_find) return xg::run_lr_find(lr_find_options);
    if (*gradcheck) return xg::run_gradcheck(gradcheck_options);
    if (*graph) return xg::run_graph(graph_options);
    if (*eval) return xg::run_eval(eval_options);
    if (*predict) return xg::run_predict(predict_options);
    if (*explain) return xg::run_explain(explain_options);
  } catch (const xg::InputError& e) {
    std::cout.flush();
    std::cerr << "xgrad: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const xg::TrainingDiverged& e) {
    std::fflush(stdout);
    std::cerr << xg::format_divergence(e);
    return 3;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "xgrad: internal error: " << one_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
