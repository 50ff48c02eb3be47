#pragma once
// The flags that several subcommands share: those of a training run (train,
// sweep, lr-find) and those of the one step that gradcheck and graph inspect.
#include <cstdint>
#include <string>
#include <vector>

#include "io/output_paths.hpp"
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


// Registers every flag of a TrainConfig (but --diagnostics) and --report, and
// records the flags given in options.given_flags.
void add_training_flags(CLI::App* command, TrainCommandOptions& options);

// Throws InputError for a flag that was given but does not apply to the run
// (e.g. --momentum with --optimizer adam, --label-col with image data), which
// a TrainConfig alone cannot tell from a default.
void check_given_flags_apply(const TrainConfig& config, const std::vector<std::string>& given_flags);

// The name among `names` that `word` most likely misspells (an edit distance
// of 1 or 2, counting a swap of neighbours as one edit, or the only name that
// starts with it); "" when none is close.
std::string closest_name(const std::string& word, const std::vector<std::string>& names);

// Without --val-split, --save-best and --early-stop choose an epoch by the
// test set, whose accuracy then no longer measures unseen data: says so once,
// on stderr.
void warn_selection_on_test_set(const TrainConfig& config, bool save_best);

// "report written to DIR/report.html" on stdout: where the page of --report DIR is.
void print_report_path(const std::string& dir);

// The files `--report DIR` writes (DIR/report.html, DIR/metrics.csv; DIR is
// created), for check_output_paths (io/output_paths.hpp); none for "".
std::vector<OutputPath> report_outputs(const std::string& report_dir);
// The files a run reads (--data, --test, --classes), which no output may be.
std::vector<OutputPath> data_inputs(const TrainConfig& config);

// The flags of the one training step that `xgrad gradcheck` and `xgrad graph` inspect.
struct InspectOptions {
  std::string data = "fashion-mnist";
  std::string label_col;  // CSV data: as train's --label-col
  std::string hidden = "256,128";
  std::size_t batch = 8;
  std::uint64_t seed = 0;
  std::string activation = "relu";  // the architecture flags, as train's
  std::string init = "default";
  std::string init_mode = "fan_in";
  bool no_normalize = false;
  std::string arch = "mlp";  // as train's --arch
};
// Registers --data, --label-col, --arch, --hidden, --batch, --seed, and the
// architecture flags --activation, --init, --init-mode and --no-normalize.
void add_inspect_flags(CLI::App* command, InspectOptions& options);
// The run they describe (the rest as `xgrad train`'s defaults); throws InputError.
TrainConfig inspect_config(const InspectOptions& options);

}  // namespace xg
