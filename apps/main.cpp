// xgrad: one binary, one subcommand per task.
// xgrad: one binary, one subcommand per task.
// Exit status: 0 success; 1 a check that failed; 2 bad input; 3 training diverged;
// 130/143 stopped by SIGINT/SIGTERM (train/interrupt.hpp).
//   xgrad                     the usage on stderr, exit 2 (as git: a command is missing)
//   xgrad help [COMMAND]      the usage, or COMMAND's flags (= xgrad COMMAND --help), exit 0
//   xgrad --version           version, commit, SIMD, OpenMP, MPI (also: xgrad version)
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <omp.h>

#include "apps/eval_command.hpp"
#include "apps/explain_command.hpp"
#include "apps/gradcheck_command.hpp"
#include "apps/predict_command.hpp"
#include "apps/graph_command.hpp"
#include "train/forensics.hpp"
#include "apps/lr_find_command.hpp"
#include "apps/sweep_command.hpp"
#include "apps/train_command.hpp"
#include "train/distributed.hpp"
#include "train/interrupt.hpp"
#include "train/loop.hpp"
#include "core/error.hpp"
#include "core/gemm.hpp"
#include "io/model_file.hpp"

#ifndef XGRAD_GIT_COMMIT
#define XGRAD_GIT_COMMIT "unknown"
#endif

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

// `xgrad --version`: what this binary is and what it was built with.
std::string build_description() {
  std::string text = std::string("xgrad ") + xg::kXgradVersion + " (commit " + XGRAD_GIT_COMMIT + ")\n";
  text += std::string("SIMD     ") + xg::gemm_simd_name() + ", " + std::to_string(xg::gemm_simd_floats()) +
          " float32 lanes per register\n";
  const std::map<int, const char*> openmp_versions = {{201307, "4.0"}, {201511, "4.5"}, {201811, "5.0"}, {202011, "5.1"}};
  const auto it = openmp_versions.find(_OPENMP);
  text += std::string("OpenMP   ") + (it == openmp_versions.end() ? std::to_string(_OPENMP) : it->second) + ", " +
          std::to_string(omp_get_num_procs()) + " cores available\n";
#ifdef XGRAD_MPI
  text += "MPI      yes";
#else
  text += "MPI      no (built without it)";
#endif
  return text;  // CLI11 ends it with a newline
}

CLI::App* find_subcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* command : app.get_subcommands({}))
    if (command->get_name() == name) return command;
  return nullptr;
}

std::vector<std::string> subcommand_names(CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands({})) names.push_back(command->get_name());
  return names;
}

// "unknown command 'trian'; did you mean 'train'?"
int unknown_command(CLI::App& app, const std::string& word) {
  const std::string near = xg::closest_name(word, subcommand_names(app));
  std::cerr << "xgrad: unknown command '" << word << "'" << (near.empty() ? "" : "; did you mean '" + near + "'?")
            << " (see xgrad help)\n";
  return 2;
}

// The first flag of `args` (after the subcommand) that `command` does not know.
std::string first_unknown_flag(CLI::App& command, const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg.rfind("--", 0) != 0 || arg == "--") continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (name != "--help" && command.get_option_no_throw(name) == nullptr) return name;
  }
  return "";
}

// The first flag given more than once.
std::string first_repeated_flag(CLI::App& command, const std::vector<std::string>& args) {
  std::map<std::string, int> seen;
  for (const std::string& arg : args) {
    if (arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (command.get_option_no_throw(name) != nullptr && ++seen[name] == 2) return name;
  }
  return "";
}

// CLI11's parse errors as one line that names the flag.
std::string parse_error_message(CLI::App& app, const CLI::ParseError& e, const std::vector<std::string>& args) {
  CLI::App* command = args.empty() ? nullptr : find_subcommand(app, args[0]);
  const std::vector<std::string> rest = command ? std::vector<std::string>(args.begin() + 1, args.end()) : args;
  const std::string see = command ? " (see xgrad " + args[0] + " --help)" : " (see xgrad --help)";
  if (command) {  // an unknown flag first: a misspelt one often makes a required flag look missing too
    const std::string flag = first_unknown_flag(*command, rest);
    if (!flag.empty()) {
      std::vector<std::string> names;
      for (const CLI::Option* option : command->get_options()) names.push_back(option->get_name());
      const std::string near = xg::closest_name(flag, names);
      return "unknown flag " + flag + (near.empty() ? "" : "; did you mean " + near + "?") + see;
    }
  }
  if (command && dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    const std::string flag = first_repeated_flag(*command, rest);
    if (!flag.empty()) return flag + " was given more than once; give it once" + see;
  }
  return one_line(e.what()) + see;
}

}  // namespace

int main(int argc, char** argv) {
  xg::DistributedSession mpi(argc, argv);  // under mpirun: MPI, and rank 0 alone prints (docs/DISTRIBUTED.md)
  CLI::App app{"xgrad: a small, fast deep-learning trainer for MNIST-style classifiers"};
  app.name("xgrad");
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", build_description(), "Print the version, the commit and how it was built");
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
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {  // as git: the usage, and a status that tells a script the command is missing
    std::cerr << app.help();
    return 2;
  }
  if (args[0] == "version") args[0] = "--version";  // as git and cargo
  if (args[0] == "help") {  // xgrad help [COMMAND]: the usage, or COMMAND --help
    if (args.size() > 2) {
      std::cerr << "xgrad: help takes one command, e.g. xgrad help train\n";
      return 2;
    }
    if (args.size() == 2 && !find_subcommand(app, args[1])) return unknown_command(app, args[1]);
    args = args.size() == 2 ? std::vector<std::string>{args[1], "--help"} : std::vector<std::string>{"--help"};
  }
  if (args[0].rfind("-", 0) != 0 && !find_subcommand(app, args[0])) return unknown_command(app, args[0]);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a reversed vector
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "xgrad: " << parse_error_message(app, e, args) << "\n";
    return 2;
  }
  if (app.get_subcommands().empty()) {  // only flags of xgrad itself, e.g. a bare --threads 2
    std::cerr << "xgrad: a command is required, e.g. xgrad train (see xgrad help)\n";
    return 2;
  }

  // A signal removes the temporary files of any write in flight and ends the
  // process (train, sweep and lr-find first stop at a step boundary).
  xg::install_interrupt_handlers();
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
  } catch (const xg::Interrupted& e) {  // a command that does not report it itself
    std::fflush(stdout);
    std::cerr << "xgrad: " << e.what() << "\n";
    return e.exit_status();
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
