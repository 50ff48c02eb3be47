#pragma once
// `xgrad train`: train an MLP classifier on an MNIST-style data set or a CSV table.
#include <string>
#include <vector>

#include "train/config.hpp"

namespace CLI {
class App;
}

namespace xg {

// The train command's flags: the run (train/config.hpp) and what to do with it.
struct TrainCommandOptions {
  TrainConfig run;
  std::string metrics;    // --metrics FILE: one JSON line per epoch
  std::string report;     // --report DIR: report.html and metrics.csv
  std::string save;       // --save PATH ("": kDefaultModelPath, or the --resume file)
  bool no_save = false;   // --no-save: keep no model file
  std::string save_best;  // --save-best PATH
  std::string resume;     // --resume PATH
  bool quiet = false;     // no confusion matrix at the end
  std::vector<std::string> given_flags;  // the flags given on the command line (filled by the parser)
  bool was_given(const std::string& flag) const {
    for (const std::string& f : given_flags)
      if (f == flag) return true;
    return false;
  }
};

// Where `xgrad train` saves the model when neither --save nor --no-save is given.
inline const char* const kDefaultModelPath = "model.safetensors";

// Registers the subcommand and its flags (with defaults shown in --help).
CLI::App* add_train_command(CLI::App& app, TrainCommandOptions& options);
// Checks the flags once: the config's values (train/config.hpp validate) and
// that each flag given applies (apps/flags.hpp); throws InputError.
void validate_train_command(const TrainCommandOptions& options);
// Runs it; returns the exit status. Throws InputError for bad input (exit 2)
// and TrainingDiverged (exit 3); main() turns those into messages.
int run_train(const TrainCommandOptions& options);

}  // namespace xg
