#pragma once
// TrainConfig: everything that shapes a training run, as plain data. The
// command line fills one (apps/flags.cpp), validate() checks it once, and a
// checkpoint stores it (config_json) so that a resumed run, eval and predict
// rebuild the same data, model and optimizer (config_from_json).
//
// Field names follow the `xgrad train` flags (docs: README, "Command-line
// reference"); error messages name the flag, since that is how people set them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xg {

struct TrainConfig {
  // ---- data (datasets/)
  std::string data = "fashion-mnist";  // a directory of IDX files or of image folders, "fashion-mnist", or a FILE.csv
  std::string label_col;               // CSV: the label column's name or 1-based number ("": the first column)
  std::string test_file;               // CSV: a separate test file ("": hold out test_split)
  double test_split = 0.2;             // CSV without test_file, image folders without train/ and test/: the fraction held out for testing
  std::size_t channels = 1;            // image folders: 1 grey, 3 RGB (datasets/image_folder.hpp)
  std::string image_size;              // image folders: "H,W" to resize every image to ("": all must have the first one's size)
  std::string classes;                 // class names: a comma list or a file ("": the data set's)
  std::string classes_subset;          // e.g. "0,1": keep those labels, renumbered 0..k-1
  bool no_normalize = false;           // feed x/255 (images) or the raw numbers (tables)
  std::size_t train_limit = 0;         // the first N training items (0: all)
  std::size_t test_limit = 0;
  double val_split = 0.0;              // hold out this fraction of the training set for validation
  std::string augment;                 // images: "shift=N,flip" (datasets/augment.hpp); "": none
  // ---- model (layers/)
  std::string arch = "mlp";            // mlp (--hidden, --activation, --dropout) | cnn | a layer list (layers/architecture.hpp)
  std::string hidden = "256,128";      // hidden layer sizes ("" for none)
  std::string activation = "relu";     // relu | tanh | sigmoid | leaky_relu
  double dropout = 0.0;                // Dropout(p) after each hidden activation
  std::string init = "default";        // default | kaiming_uniform | kaiming_normal | xavier_uniform | xavier_normal
  std::string init_mode = "fan_in";    // fan_in | fan_out (kaiming)
  std::string head = "softmax";        // softmax | sigmoid (one output, 2 classes)
  // ---- the loop
  std::uint64_t seed = 0;              // initial weights, shuffling, splits
  std::size_t epochs = 10;
  std::size_t batch = 64;
  int threads = 0;                     // 0: all cores, or one in an epoch where that is faster (train/thread_chooser.hpp)
  bool diagnostics = false;            // per-layer gradient-flow figures each epoch (train/diagnostics.hpp)
  std::size_t early_stop = 0;          // patience in epochs; 0: off
  // ---- optimizer (optim/)
  std::string optimizer = "sgd";       // sgd | adam | adamw
  double lr = 0.05;
  double momentum = 0.9;               // sgd
  bool nesterov = false;               // sgd
  double dampening = 0.0;              // sgd
  std::string betas = "0.9,0.999";     // adam, adamw: β1,β2
  double eps = 1e-8;                   // adam, adamw
  bool amsgrad = false;                // adam, adamw
  double weight_decay = -1.0;          // < 0: the optimizer's default (adamw 0.01, else 0)
  double clip_grad_norm = 0.0;         // 0: off
  // ---- loss (losses/)
  double l1 = 0.0, l2 = 0.0;           // penalties on the weights (not biases)
  double label_smoothing = 0.0;        // softmax head
  std::string class_weights;           // comma list, one per class (softmax head)
  double pos_weight = 1.0;             // sigmoid head
  // ---- learning-rate schedule (optim/lr_schedule.hpp)
  std::string schedule = "cosine";     // none | step | multistep | cosine | exponential | plateau
  std::size_t step_size = 3;           // step
  std::string milestones;              // multistep
  double gamma = -1.0;                 // < 0: the schedule's default (exponential 0.9, else 0.1)
  double min_lr = 0.0;                 // cosine's floor, plateau's minimum
  std::size_t plateau_patience = 2;
  std::size_t warmup_epochs = 0;
};

// Calls visit(flag, key, field) for each field that shapes a run's data, model
// and numbers (all but epochs, threads and diagnostics). A checkpoint records
// them by key (config_json); a resumed run, eval and predict read them back.
template <class Config, class Visit>
void for_each_training_flag(Config& c, Visit&& visit) {
  visit("--data", "data", c.data);
  visit("--label-col", "label_col", c.label_col);
  visit("--test", "test", c.test_file);
  visit("--test-split", "test_split", c.test_split);
  visit("--channels", "channels", c.channels);
  visit("--image-size", "image_size", c.image_size);
  visit("--classes", "classes", c.classes);
  visit("--classes-subset", "classes_subset", c.classes_subset);
  visit("--no-normalize", "no_normalize", c.no_normalize);
  visit("--train-limit", "train_limit", c.train_limit);
  visit("--test-limit", "test_limit", c.test_limit);
  visit("--val-split", "val_split", c.val_split);
  visit("--augment", "augment", c.augment);
  visit("--arch", "arch", c.arch);
  visit("--hidden", "hidden", c.hidden);
  visit("--activation", "activation", c.activation);
  visit("--dropout", "dropout", c.dropout);
  visit("--init", "init", c.init);
  visit("--init-mode", "init_mode", c.init_mode);
  visit("--head", "head", c.head);
  visit("--seed", "seed", c.seed);
  visit("--batch", "batch", c.batch);
  visit("--optimizer", "optimizer", c.optimizer);
  visit("--lr", "lr", c.lr);
  visit("--momentum", "momentum", c.momentum);
  visit("--nesterov", "nesterov", c.nesterov);
  visit("--dampening", "dampening", c.dampening);
  visit("--betas", "betas", c.betas);
  visit("--eps", "eps", c.eps);
  visit("--amsgrad", "amsgrad", c.amsgrad);
  visit("--weight-decay", "weight_decay", c.weight_decay);
  visit("--l1", "l1", c.l1);
  visit("--l2", "l2", c.l2);
  visit("--label-smoothing", "label_smoothing", c.label_smoothing);
  visit("--class-weights", "class_weights", c.class_weights);
  visit("--pos-weight", "pos_weight", c.pos_weight);
  visit("--clip-grad-norm", "clip_grad_norm", c.clip_grad_norm);
  visit("--schedule", "schedule", c.schedule);
  visit("--step-size", "step_size", c.step_size);
  visit("--milestones", "milestones", c.milestones);
  visit("--gamma", "gamma", c.gamma);
  visit("--min-lr", "min_lr", c.min_lr);
  visit("--plateau-patience", "plateau_patience", c.plateau_patience);
  visit("--warmup-epochs", "warmup_epochs", c.warmup_epochs);
  visit("--early-stop", "early_stop", c.early_stop);
}

// Checks every value and the combinations that cannot work (e.g. --nesterov
// with adam, --label-smoothing with --head sigmoid); throws InputError naming
// the flag. Checks that need the data (class counts) happen when the run is built.
// Whether a flag that does not apply was given at all is the command line's
// business (apps/flags.hpp), since a plain config cannot tell.
void validate(const TrainConfig& config);

// The largest --batch and --epochs accepted: beyond them a number is a typo or
// a wrapped negative, and a batch count near 2^64 would overflow the loader's
// arithmetic.
constexpr std::size_t kMaxBatch = std::size_t(1) << 20;
constexpr std::size_t kMaxEpochs = 1000000;

// The weight decay and the schedule's gamma in effect (resolving the < 0 defaults).
double effective_weight_decay(const TrainConfig& config);
double effective_gamma(const TrainConfig& config);

// "256,128" -> {256, 128}; "" -> {} (no hidden layer). Throws InputError naming `flag`.
std::vector<std::size_t> parse_size_list(const std::string& flag, const std::string& text);

// The config as a checkpoint stores it: {"epochs": …, "data": …, …} by key.
nlohmann::json config_json(const TrainConfig& config);
// The config a checkpoint records, over `base`: a key the document lacks (a
// checkpoint of an older xgrad) keeps base's value, and so does "epochs".
// A flag listed in `must_match` must have base's value in the document too
// (a resumed run keeps its training flags). Throws InputError naming `source`.
TrainConfig config_from_json(const nlohmann::json& doc, const TrainConfig& base, const std::string& source,
                             const std::vector<std::string>& must_match = {});

// "SGD lr 0.05 momentum 0.9, schedule cosine" and the regularisation in effect.
std::string describe_training(const TrainConfig& config);

}  // namespace xg
