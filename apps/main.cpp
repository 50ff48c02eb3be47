// xgrad: one binary, one subcommand per task.
// Exit status: 0 success; 1 a check that failed; 2 bad input; 3 training diverged.
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/train_command.hpp"
#include "apps/training.hpp"
#include "core/error.hpp"

namespace {

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xgrad: a small, fast deep-learning trainer for MNIST-style classifiers"};
  app.require_subcommand(1);
  xg::TrainOptions train_options;
  CLI::App* train = xg::add_train_command(app, train_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "xgrad: " << one_line(e.what()) << " (see xgrad --help)\n";
    return 2;
  }

  try {
    if (*train) return xg::run_train(train_options);
  } catch (const xg::InputError& e) {
    std::cout.flush();
    std::cerr << "xgrad: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const xg::TrainingDiverged& e) {
    std::fflush(stdout);
    std::cerr << "xgrad: " << e.what() << "\n"
              << "hint: lower the learning rate, e.g. --lr " << e.lr / 10 << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "xgrad: internal error: " << one_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
