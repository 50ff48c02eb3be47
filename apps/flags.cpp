#include "apps/flags.hpp"

#include <algorithm>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "datasets/csv.hpp"
#include "datasets/image_folder.hpp"
#include "io/number_text.hpp"

namespace xg {
namespace {

// The optimizer, loss, model and schedule flags.
void add_toolbox_flags(CLI::App* cmd, TrainConfig& o) {
  cmd->add_option("--optimizer", o.optimizer, "sgd, adam or adamw (torch.optim's formulas)")->capture_default_str();
  cmd->add_flag("--nesterov", o.nesterov, "Nesterov momentum (sgd with --momentum > 0)");
  cmd->add_option("--dampening", o.dampening, "SGD: dampening τ of the momentum, in [0, 1) (0 with --nesterov)")
      ->capture_default_str();
  cmd->add_option("--betas", o.betas, "Adam/AdamW: β1,β2, the decay rates of the gradient's mean and square, each in [0, 1)")
      ->capture_default_str();
  cmd->add_option("--eps", o.eps, "Adam/AdamW: ε added to the denominator's square root")->capture_default_str();
  cmd->add_flag("--amsgrad", o.amsgrad, "Adam/AdamW: divide by the running maximum of the second moment (AMSGrad)");
  cmd->add_option("--weight-decay", o.weight_decay,
                  "Weight decay λ on every parameter: sgd and adam add λ·p to the gradient, adamw decays p by lr·λ")
      ->default_str("0 (adamw: 0.01)");
  cmd->add_option("--l1", o.l1, "Add l1 · Σ|w| over the weights (not biases) to the training loss")->capture_default_str();
  cmd->add_option("--l2", o.l2, "Add l2 · Σw² over the weights (not biases) to the training loss")->capture_default_str();
  cmd->add_option("--label-smoothing", o.label_smoothing, "Label smoothing ε in [0, 1) (softmax head)")
      ->capture_default_str();
  cmd->add_option("--class-weights", o.class_weights,
                  "Per-class loss weights, comma separated, one per class (softmax head)");
  cmd->add_option("--pos-weight", o.pos_weight, "Weight of the positive class in the loss (sigmoid head)")
      ->capture_default_str();
  cmd->add_option("--activation", o.activation, "Hidden activation: relu, tanh, sigmoid or leaky_relu (slope 0.01)")
      ->capture_default_str();
  cmd->add_option("--dropout", o.dropout, "Dropout probability after each hidden activation, in [0, 1)")
      ->capture_default_str();
  cmd->add_option("--init", o.init,
                  "Weight init: default (torch.nn.Linear's), kaiming_uniform, kaiming_normal, xavier_uniform or "
                  "xavier_normal (gain from --activation; biases zero)")
      ->capture_default_str();
  cmd->add_option("--init-mode", o.init_mode, "fan_in or fan_out, for the kaiming inits")->capture_default_str();
  cmd->add_option("--step-size", o.step_size, "--schedule step: multiply the rate by --gamma every N epochs")
      ->capture_default_str();
  cmd->add_option("--milestones", o.milestones,
                  "--schedule multistep: epochs (counted after warm-up) after which the rate is multiplied by --gamma, "
                  "e.g. 5,8");
  cmd->add_option("--gamma", o.gamma, "Rate factor of step, multistep, exponential and plateau")
      ->default_str("0.1 (exponential: 0.9)");
  cmd->add_option("--min-lr", o.min_lr, "Floor of the rate for cosine and plateau")->capture_default_str();
  cmd->add_option("--plateau-patience", o.plateau_patience,
                  "--schedule plateau: epochs without improvement of the monitored loss before the rate drops")
      ->capture_default_str();
  cmd->add_option("--warmup-epochs", o.warmup_epochs,
                  "Linear warm-up: epoch e ≤ W uses lr·e/(W+1), then the schedule starts")
      ->capture_default_str();
  cmd->add_option("--clip-grad-norm", o.clip_grad_norm, "Clip the global gradient norm to this (0: off)")
      ->capture_default_str();
  cmd->add_option("--val-split", o.val_split,
                  "Hold out this fraction of the training set (seeded) for validation; the test set is then used "
                  "only once, at the end")
      ->capture_default_str();
  cmd->add_option("--early-stop", o.early_stop,
                  "Stop after this many epochs without a lower validation (or test) loss (0: off)")
      ->capture_default_str();
  cmd->add_option("--head", o.head, "softmax, or sigmoid (one output, binary cross-entropy; 2 classes)")
      ->capture_default_str();
  cmd->add_option("--classes-subset", o.classes_subset,
                  "Keep only these labels, comma separated (e.g. 0,1), renumbered 0..k-1");
}

}  // namespace

void add_training_flags(CLI::App* cmd, TrainCommandOptions& options) {
  TrainConfig& o = options.run;
  cmd->add_option("--data", o.data,
                  "Data set: 'fashion-mnist' (the Debian package's directory), a directory holding the four "
                  "MNIST-style IDX files (.gz or raw), an image folder (DIR/train/<class>/* and DIR/test/<class>/*, "
                  "or DIR/<class>/*; PNG, JPEG, PGM), or a FILE.csv (numeric features and a label column)")
      ->capture_default_str();
  cmd->add_option("--label-col", o.label_col, "CSV: the label column, by header name or 1-based number")
      ->default_str("the first column");
  cmd->add_option("--test", o.test_file, "CSV: a separate test file with the same columns")->type_name("FILE.csv");
  cmd->add_option("--test-split", o.test_split,
                  "CSV without --test, or an image folder of DIR/<class>/*: the fraction of the rows (of each class's "
                  "images) held out, seeded by --seed, for testing")
      ->capture_default_str();
  cmd->add_option("--channels", o.channels, "Image folders: 1 (colour becomes grey by luma) or 3 (RGB, CHW)")
      ->capture_default_str();
  cmd->add_option("--image-size", o.image_size,
                  "Image folders: resize every image to H,W (bilinear); default: every image must have the first one's size")
      ->type_name("H,W");
  cmd->add_option("--augment", o.augment,
                  "Images: random changes to each training image each epoch, seeded by --seed: shift=N (a translation "
                  "by up to N pixels each way, 1..64), fill=zero|edge (what moves in; default zero), flip (a "
                  "horizontal mirror, half the time); comma separated, e.g. shift=2,flip")
      ->type_name("SPEC");
  cmd->add_option("--arch", o.arch,
                  "Network: mlp (Linear layers of --hidden sizes), cnn (two conv layers, for images), or a comma "
                  "list of layers: convN[kK][sS][pP], maxpoolK[sS], avgpoolK[sS], flatten, fcN, fc (the outputs), relu, "
                  "tanh, sigmoid, leaky_relu (README: Choosing a network)")
      ->capture_default_str();
  cmd->add_option("--hidden", o.hidden, "Hidden layer sizes, comma separated ('' for none)")->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Passes over the training set")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Mini-batch size")->capture_default_str();
  cmd->add_option("--lr", o.lr, "Learning rate at the first epoch")->capture_default_str();
  cmd->add_option("--momentum", o.momentum, "SGD momentum, in [0, 1)")->capture_default_str();
  cmd->add_option("--schedule", o.schedule,
                  "Learning-rate schedule per epoch: none, step, multistep, cosine, exponential or plateau")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed for initial weights and shuffling; the same seed repeats a run exactly")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads,
                  "Worker threads; 0: all cores, or 1 in an epoch where timing shows 1 is faster (other processes "
                  "holding the cores); results are identical either way")
      ->capture_default_str();
  cmd->add_option("--classes", o.classes,
                  "Class names: a comma list or a file with one per line (default: the data set's, a classes.txt "
                  "beside the data, or numbers)")
      ->capture_default_str();
  cmd->add_flag("--no-normalize", o.no_normalize,
                "Feed pixels scaled to [0, 1] only (default: also normalise with the training set's mean and std)");
  cmd->add_option("--train-limit", o.train_limit, "Use only the first N training images (0: all)")
      ->capture_default_str();
  cmd->add_option("--test-limit", o.test_limit, "Use only the first N test images (0: all)")->capture_default_str();
  cmd->add_option("--report", options.report,
                  "Write DIR/report.html (charts, confusion matrix, configuration; self-contained) and "
                  "DIR/metrics.csv")
      ->type_name("DIR");
  add_toolbox_flags(cmd, o);
  cmd->parse_complete_callback([cmd, &options] {
    for (const CLI::Option* option : cmd->get_options())
      if (option->count() > 0) options.given_flags.push_back(option->get_name());
  });
}

namespace {

// The optimal-string-alignment distance: insertions, deletions, substitutions
// and swaps of two neighbouring characters each count one.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string closest_name(const std::string& word, const std::vector<std::string>& names) {
  const std::string bare = word.substr(word.find_first_not_of('-') == std::string::npos ? 0 : word.find_first_not_of('-'));
  const std::size_t allowed = bare.size() < 4 ? 1 : 2;
  std::string best;
  std::size_t best_distance = allowed + 1;
  for (const std::string& name : names) {
    const std::size_t d = edit_distance(word, name);
    if (d < best_distance) best_distance = d, best = name;
  }
  if (!best.empty()) return best;
  std::string prefixed;  // "--val" -> "--val-split", when no other name starts so
  for (const std::string& name : names) {
    if (bare.size() < 3 || name.rfind(word, 0) != 0) continue;
    if (!prefixed.empty()) return "";
    prefixed = name;
  }
  return prefixed;
}

void warn_selection_on_test_set(const TrainConfig& config, bool save_best) {
  if (config.val_split > 0) return;
  std::string flags = save_best ? "--save-best" : "";
  if (config.early_stop) flags += flags.empty() ? "--early-stop" : " and --early-stop";
  if (flags.empty()) return;
  std::fprintf(stderr,
               "xgrad: warning: without --val-split, %s choose%s the epoch by the test set, so the test accuracy "
               "reported for it is optimistic; hold out a validation set with --val-split 0.1\n",
               flags.c_str(), flags.find(" and ") == std::string::npos ? "s" : "");
}

void print_report_path(const std::string& dir) {
  std::printf("report written to %s\n", (dir + "/report.html").c_str());
}

std::vector<OutputPath> report_outputs(const std::string& report_dir) {
  if (report_dir.empty()) return {};
  return {{"--report", report_dir + "/report.html", "page", true}, {"--report", report_dir + "/metrics.csv", "table", true}};
}

std::vector<OutputPath> data_inputs(const TrainConfig& config) {
  return {{"--data", config.data}, {"--test", config.test_file}, {"--classes", config.classes}};
}

void add_inspect_flags(CLI::App* cmd, InspectOptions& o) {
  cmd->add_option("--data", o.data,
                  "Data set: 'fashion-mnist', a directory of MNIST-style IDX files, or a FILE.csv")
      ->capture_default_str();
  cmd->add_option("--label-col", o.label_col, "CSV: the label column, by header name or 1-based number")
      ->default_str("the first column");
  cmd->add_option("--arch", o.arch, "Network: mlp, cnn or a layer list, as in xgrad train")->capture_default_str();
  cmd->add_option("--hidden", o.hidden, "Hidden layer sizes, comma separated ('' for none)")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Number of training items in the batch (the first ones)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the initial weights, as in xgrad train")->capture_default_str();
  cmd->add_option("--activation", o.activation, "Hidden activation: relu, tanh, sigmoid or leaky_relu (slope 0.01)")
      ->capture_default_str();
  cmd->add_option("--init", o.init,
                  "Weight init: default, kaiming_uniform, kaiming_normal, xavier_uniform or xavier_normal, as in xgrad train")
      ->capture_default_str();
  cmd->add_option("--init-mode", o.init_mode, "fan_in or fan_out, for the kaiming inits")->capture_default_str();
  cmd->add_flag("--no-normalize", o.no_normalize, "Feed inputs scaled to [0, 1] only, as xgrad train --no-normalize");
}


void check_given_flags_apply(const TrainConfig& c, const std::vector<std::string>& given_flags) {
  auto given = [&](const char* flag) {
    for (const std::string& f : given_flags)
      if (f == flag) return true;
    return false;
  };
  auto fail = [](const std::string& message) { throw InputError(message); };
  const bool csv = is_csv_path(c.data);
  const bool folder = !csv && is_image_folder(c.data);
  for (const char* flag : {"--label-col", "--test"})
    if (!csv && given(flag)) fail(std::string(flag) + " applies to CSV data only (--data FILE.csv), not to " + c.data);
  if (!csv && !folder && given("--test-split"))
    fail("--test-split applies to CSV data or an image folder of class folders only, not to " + c.data);
  for (const char* flag : {"--channels", "--image-size"})
    if (!folder && given(flag)) fail(std::string(flag) + " applies to image folders only (--data DIR of class folders), not to " + c.data);
  if (csv && given("--augment")) fail("--augment applies to images only, not to CSV data " + c.data);
  if (!c.test_file.empty() && given("--test-split")) fail("give --test FILE.csv or --test-split, not both");
  if (folder && given("--test-split") && image_folder_has_splits(c.data))
    fail("--test-split does not apply to " + c.data + ": it has train/ and test/ folders, whose test images are the test split");
  for (const char* flag : {"--momentum", "--dampening"})
    if (c.optimizer != "sgd" && given(flag)) fail(std::string(flag) + " applies to --optimizer sgd only, not " + c.optimizer);
  for (const char* flag : {"--betas", "--eps", "--amsgrad"})
    if (c.optimizer == "sgd" && given(flag)) fail(std::string(flag) + " applies to --optimizer adam or adamw only");
  if (given("--weight-decay") && c.weight_decay < 0) fail("--weight-decay must be ≥ 0, got " + format_number(c.weight_decay));
  if (given("--init-mode") && c.init.rfind("kaiming", 0) != 0)
    fail("--init-mode applies to the kaiming inits only, not --init " + c.init);
  if (given("--step-size") && c.schedule != "step") fail("--step-size applies to --schedule step only, not " + c.schedule);
  if (given("--gamma") && c.schedule != "step" && c.schedule != "multistep" && c.schedule != "exponential" &&
      c.schedule != "plateau")
    fail("--gamma applies to --schedule step, multistep, exponential or plateau, not " + c.schedule);
  if (given("--gamma") && c.gamma < 0) fail("--gamma must be in (0, 1), got " + format_number(c.gamma));
  if (given("--min-lr") && c.schedule != "cosine" && c.schedule != "plateau")
    fail("--min-lr applies to --schedule cosine or plateau, not " + c.schedule);
  if (given("--plateau-patience") && c.schedule != "plateau")
    fail("--plateau-patience applies to --schedule plateau only, not " + c.schedule);
  if (c.head == "softmax" && given("--pos-weight")) fail("--pos-weight applies to --head sigmoid only");
  for (const char* flag : {"--hidden", "--activation", "--dropout"})
    if (c.arch != "mlp" && given(flag)) fail(std::string(flag) + " applies to --arch mlp only; write the layers in --arch instead");
}

TrainConfig inspect_config(const InspectOptions& o) {
  if (o.batch == 0) throw InputError("--batch must be at least 1");
  if (o.batch > kMaxBatch)
    throw InputError("--batch must be at most " + std::to_string(kMaxBatch) + ", got " + std::to_string(o.batch));
  TrainConfig c;
  c.data = o.data;
  c.label_col = o.label_col;
  c.arch = o.arch;
  c.hidden = o.hidden;
  c.seed = o.seed;
  c.batch = o.batch;
  c.activation = o.activation;
  c.init = o.init;
  c.init_mode = o.init_mode;
  c.no_normalize = o.no_normalize;
  if (!o.label_col.empty()) check_given_flags_apply(c, {"--label-col"});
  if (o.init_mode != "fan_in") check_given_flags_apply(c, {"--init-mode"});
  validate(c);
  return c;
}

}  // namespace xg
