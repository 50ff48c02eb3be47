#pragma once
// `xgrad train`: train an MLP classifier on an MNIST-style data set or a CSV table.
#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace xg {

struct TrainOptions {
  std::string data = "fashion-mnist";  // a directory of IDX files, "fashion-mnist", or a FILE.csv
  // CSV data only (datasets/csv.hpp):
  std::string label_col;     // the label column's name or 1-based number ("": the first column)
  std::string test_file;     // --test FILE.csv: a separate test file ("": hold out --test-split)
  double test_split = 0.2;   // the fraction of the rows held out for testing when there is no --test
  std::string hidden = "256,128";
  std::size_t epochs = 10;
  std::size_t batch = 64;
  double lr = 0.05;
  double momentum = 0.9;
  std::string schedule = "cosine";
  std::uint64_t seed = 0;
  int threads = 0;  // 0: all cores
  std::string metrics;
  std::string classes;
  bool no_normalize = false;
  std::size_t train_limit = 0;  // 0: all
  std::size_t test_limit = 0;
  bool quiet = false;  // no confusion matrix and report at the end
  bool diagnostics = false;  // per-layer gradient-flow figures each epoch (apps/diagnostics.hpp)
  std::string report;  // directory for report.html and metrics.csv ("" : none)
  std::string save;       // --save PATH: the model after every epoch, PATH.state beside it (apps/checkpoint.hpp);
                          // `xgrad train` makes it kDefaultModelPath (or the --resume file) unless --no-save
  bool no_save = false;   // --no-save: `xgrad train` keeps no model file
  std::string save_best;  // --save-best PATH: the model of the epoch with the lowest test loss
  std::string resume;     // --resume PATH: continue the run saved there
  // The toolbox (apps/toolbox.hpp builds and checks these; README lists the meanings).
  std::string optimizer = "sgd";  // sgd | adam | adamw
  bool nesterov = false;
  double dampening = 0.0;           // sgd
  std::string betas = "0.9,0.999";  // adam, adamw: β1,β2
  double eps = 1e-8;                // adam, adamw
  bool amsgrad = false;             // adam, adamw
  double weight_decay = -1.0;  // < 0: the optimizer's default (adamw 0.01, else 0)
  double l1 = 0.0, l2 = 0.0;
  double label_smoothing = 0.0;
  std::string class_weights;     // comma list, one per class
  double pos_weight = 1.0;       // --head sigmoid
  std::string activation = "relu";
  double dropout = 0.0;
  std::string init = "default";  // default | kaiming_uniform | kaiming_normal | xavier_uniform | xavier_normal
  std::string init_mode = "fan_in";
  std::size_t step_size = 3;     // --schedule step
  std::string milestones;        // --schedule multistep
  double gamma = -1.0;           // < 0: the schedule's default
  double min_lr = 0.0;           // cosine's floor, plateau's minimum
  std::size_t plateau_patience = 2;
  std::size_t warmup_epochs = 0;
  double clip_grad_norm = 0.0;   // 0: off
  double val_split = 0.0;
  std::size_t early_stop = 0;    // patience in epochs; 0: off
  std::string head = "softmax";  // softmax | sigmoid (2 classes)
  std::string classes_subset;    // e.g. "0,1": keep those labels, renumbered 0..k-1
  std::vector<std::string> given_flags;  // the flags given on the command line (filled by the parser)
  bool was_given(const std::string& flag) const {
    for (const std::string& f : given_flags)
      if (f == flag) return true;
    return false;
  }
};

// Calls visit(flag, key, field) for each flag that shapes a training run's
// data, model and numbers (all but --epochs, --threads and the output flags).
// A checkpoint records them by key in its config (apps/checkpoint.cpp); a
// resumed run, eval and predict take them back from there.
template <class Options, class Visit>
void for_each_training_flag(Options& o, Visit&& visit) {
  visit("--data", "data", o.data);
  visit("--label-col", "label_col", o.label_col);
  visit("--test", "test", o.test_file);
  visit("--test-split", "test_split", o.test_split);
  visit("--classes", "classes", o.classes);
  visit("--classes-subset", "classes_subset", o.classes_subset);
  visit("--no-normalize", "no_normalize", o.no_normalize);
  visit("--train-limit", "train_limit", o.train_limit);
  visit("--test-limit", "test_limit", o.test_limit);
  visit("--val-split", "val_split", o.val_split);
  visit("--hidden", "hidden", o.hidden);
  visit("--activation", "activation", o.activation);
  visit("--dropout", "dropout", o.dropout);
  visit("--init", "init", o.init);
  visit("--init-mode", "init_mode", o.init_mode);
  visit("--head", "head", o.head);
  visit("--seed", "seed", o.seed);
  visit("--batch", "batch", o.batch);
  visit("--optimizer", "optimizer", o.optimizer);
  visit("--lr", "lr", o.lr);
  visit("--momentum", "momentum", o.momentum);
  visit("--nesterov", "nesterov", o.nesterov);
  visit("--dampening", "dampening", o.dampening);
  visit("--betas", "betas", o.betas);
  visit("--eps", "eps", o.eps);
  visit("--amsgrad", "amsgrad", o.amsgrad);
  visit("--weight-decay", "weight_decay", o.weight_decay);
  visit("--l1", "l1", o.l1);
  visit("--l2", "l2", o.l2);
  visit("--label-smoothing", "label_smoothing", o.label_smoothing);
  visit("--class-weights", "class_weights", o.class_weights);
  visit("--pos-weight", "pos_weight", o.pos_weight);
  visit("--clip-grad-norm", "clip_grad_norm", o.clip_grad_norm);
  visit("--schedule", "schedule", o.schedule);
  visit("--step-size", "step_size", o.step_size);
  visit("--milestones", "milestones", o.milestones);
  visit("--gamma", "gamma", o.gamma);
  visit("--min-lr", "min_lr", o.min_lr);
  visit("--plateau-patience", "plateau_patience", o.plateau_patience);
  visit("--warmup-epochs", "warmup_epochs", o.warmup_epochs);
  visit("--early-stop", "early_stop", o.early_stop);
}

// The flags of the one training step that `xgrad gradcheck` and `xgrad graph` inspect.
struct InspectOptions {
  std::string data = "fashion-mnist";
  std::string label_col;  // CSV data: as train's --label-col
  std::string hidden = "256,128";
  std::size_t batch = 8;
  std::uint64_t seed = 0;
};
// Registers --data, --label-col, --hidden, --batch and --seed.
void add_inspect_flags(CLI::App* command, InspectOptions& options);

// Where `xgrad train` saves the model when neither --save nor --no-save is given.
inline const char* const kDefaultModelPath = "model.safetensors";

// Registers the flags that shape a training run (shared with other subcommands).
void add_training_flags(CLI::App* command, TrainOptions& options);
// Registers the subcommand and its flags (with defaults shown in --help).
CLI::App* add_train_command(CLI::App& app, TrainOptions& options);
// Throws InputError naming the first bad flag.
void validate_train_options(const TrainOptions& options);
// Runs it; returns the exit status. Throws InputError for bad input (exit 2)
// and TrainingDiverged (exit 3); main() turns those into messages.
int run_train(const TrainOptions& options);

// "256,128" -> {256, 128}; "" -> {} (no hidden layer). Throws InputError naming `flag`.
std::vector<std::size_t> parse_size_list(const std::string& flag, const std::string& text);

}  // namespace xg
