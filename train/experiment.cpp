#include "train/experiment.hpp"

#include <chrono>

#include <omp.h>

#include "core/error.hpp"
#include "core/random.hpp"
#include "datasets/augment.hpp"
#include "datasets/csv.hpp"
#include "datasets/image_dataset.hpp"
#include "datasets/image_folder.hpp"

namespace xg {

Dataset load_dataset(const TrainConfig& o) {
  if (!is_csv_path(o.data) && is_image_folder(o.data)) {
    ImageFolderOptions folder;
    folder.channels = o.channels;
    if (!o.image_size.empty()) {
      const ImageShape size = parse_image_size(o.image_size);
      folder.rows = size.rows, folder.cols = size.cols;
    }
    folder.test_split = o.test_split;
    folder.seed = o.seed;
    return load_image_folder(o.data, folder);
  }
  if (!is_csv_path(o.data)) return load_image_dataset(o.data);
  CsvOptions csv;
  csv.label_column = o.label_col;
  csv.test_file = o.test_file;
  csv.test_split = o.test_file.empty() ? o.test_split : 0.0;
  csv.seed = o.seed;
  return load_csv_dataset(o.data, csv);
}

Dataset prepare_training_data(const TrainConfig& o) {
  Dataset data = load_dataset(o);
  if (!o.classes.empty()) {
    std::vector<std::string> names = load_class_names(o.classes);
    if (names.size() < data.num_classes()) {
      throw InputError("--classes gives " + std::to_string(names.size()) + " names but the data has " +
                       std::to_string(data.num_classes()) + " classes");
    }
    data.class_names = std::move(names);
  }
  if (!o.classes_subset.empty()) keep_classes(data, o.classes_subset);
  if (o.train_limit) truncate(data.train, o.train_limit);
  if (o.test_limit) truncate(data.test, o.test_limit);
  return data;
}

std::shared_ptr<const Dataset> load_training_data(const TrainConfig& o) {
  return std::make_shared<const Dataset>(prepare_training_data(o));
}

Experiment::Experiment(const TrainConfig& config, std::shared_ptr<const Dataset> data)
    : config_(config), data_(std::move(data)), last_{0.0, ConfusionMatrix(data_->num_classes())} {
  validate(config_);
  if (config_.val_split > 0) {
    train_ = data_->train;
    validation_ = split_validation(train_, config_.val_split, config_.seed);
  }
  const Split& train = has_validation() ? train_ : data_->train;
  if (config_.no_normalize) {
    const std::size_t values = normalization_values(train);  // x/255 for images, the raw numbers for tables
    norm_ = Normalization{std::vector<float>(values, 0.0f), std::vector<float>(values, 1.0f)};
  } else {
    norm_ = compute_normalization(train);
  }
  Rng rng(config_.seed);
  model_ = build_model(config_, train.shape, data_->num_classes(), rng);
  objective_ = build_objective(config_, *model_, data_->num_classes());
  optimizer_ = build_optimizer(config_, model_->parameters());
  schedule_ = build_schedule(config_);
  loader_ = std::make_unique<DataLoader>(train, config_.batch, /*shuffle=*/true, config_.seed, norm_);
  loader_->set_augment(parse_augment(config_.augment));  // the training split only
  if (config_.diagnostics) diagnostics_ = std::make_unique<Diagnostics>(*model_);
}

EpochStats Experiment::run_epoch(std::size_t epoch, const ProgressFn& progress) {
  EpochStats stats;
  stats.epoch = epoch;
  // Epoch e runs at the schedule's rate after e-1 steps. A resumed run has
  // replayed its epochs' losses (restore_history); without them (a state file
  // of an older xgrad) the schedule catches up blind, and plateau, whose steps
  // need the losses, restarts from --lr.
  while (config_.schedule != "plateau" && schedule_->steps() + 1 < epoch) schedule_->step();
  stats.lr = schedule_->lr();
  optimizer_->set_lr(float(stats.lr));
  loader_->start_epoch(epoch);
  const auto start = std::chrono::steady_clock::now();
  if (diagnostics_) diagnostics_->start_epoch();
  if (threads_) threads_->start_epoch();
  ObserverPair observers;
  observers.first = diagnostics_.get();
  observers.second = threads_.get();
  const TrainResult trained =
      train_epoch(*model_, *optimizer_, *loader_, epoch, progress, &explosion_, &observers, &objective_, reducer_.get());
  stats.threads = threads_ ? threads_->threads() : omp_get_max_threads();
  stats.train_loss = trained.loss;
  stats.train_acc = trained.accuracy;
  if (diagnostics_) diagnostics_history_.push_back(diagnostics_->finish_epoch());
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  last_ = evaluate(*model_, has_validation() ? validation_ : data_->test, norm_, data_->num_classes(), &objective_, comm_);
  stats.validation = has_validation();
  stats.test_loss = last_.loss;
  stats.test_acc = last_.accuracy();
  after_epoch(last_.loss);
  return stats;
}

void Experiment::after_epoch(double monitored_loss) {
  schedule_->step(monitored_loss);  // only plateau reads the loss
  if (monitored_loss < best_loss_) {
    best_loss_ = monitored_loss;
    epochs_since_best_ = 0;
  } else {
    ++epochs_since_best_;
  }
}

void Experiment::restore_history(const std::vector<double>& monitored_losses) {
  for (double loss : monitored_losses) after_epoch(loss);
}

void Experiment::distribute(const Communicator& comm) {
  if (comm.size() == 1) return;
  comm.broadcast_model(model_->parameters(), *optimizer_);
  comm_ = &comm;
  reducer_ = std::make_unique<GradientReducer>(comm, model_->parameters());
  loader_->set_shard(std::size_t(comm.rank()), std::size_t(comm.size()));
}

void Experiment::choose_threads(int cores) {
  if (cores > 1) threads_ = std::make_unique<ThreadChooser>(cores);
}

const Evaluation& Experiment::evaluate_test() {
  last_ = evaluate(*model_, data_->test, norm_, data_->num_classes(), &objective_, comm_);
  return last_;
}

std::string Experiment::describe() const {
  std::size_t parameter_count = 0;
  for (const Tensor& p : model_->parameters()) parameter_count += p.size();
  const Split& train = data_->train;
  std::string text = "data   " + data_->name + ": " + std::to_string(train.count) + " train / " +
                     std::to_string(data_->test.count) + (train.is_image() ? " test images of " : " test rows of ") +
                     (train.is_image() ? std::to_string(train.rows()) + "x" + std::to_string(train.cols()) +
                                             (train.channels() == 3 ? " RGB" : "")
                                       : train.item_description()) +
                     ", " + std::to_string(data_->num_classes()) + " classes\n";
  text += "model  " + model_->describe() + ", " + std::to_string(parameter_count) + " parameters\n";
  text += "train  " + describe_training(config_) + ", batch " + std::to_string(config_.batch) + ", " +
          std::to_string(config_.epochs) + (config_.epochs == 1 ? " epoch" : " epochs") + ", seed " + std::to_string(config_.seed);
  if (has_validation()) text += " (" + std::to_string(validation_.count) + " held out for validation)";
  return text;
}

std::vector<std::pair<std::string, std::string>> Experiment::summary_items() const {
  std::vector<std::pair<std::string, std::string>> items;
  std::string text = describe();
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    const std::size_t space = line.find(' ');
    std::string key = line.substr(0, space), value = space == std::string::npos ? "" : line.substr(space);
    value.erase(0, value.find_first_not_of(' '));
    items.push_back({key, value});
    start = end + 1;
  }
  const TrainConfig& o = config_;
  items.push_back({"seed", std::to_string(o.seed)});
  items.push_back({"threads", o.threads ? std::to_string(o.threads) : "all cores"});
  if (o.train_limit) items.push_back({"train limit", std::to_string(o.train_limit)});
  if (o.test_limit) items.push_back({"test limit", std::to_string(o.test_limit)});
  return items;
}

InspectedBatch first_training_batch(const TrainConfig& config) {
  InspectedBatch inspected;
  inspected.run = std::make_unique<Experiment>(config, load_training_data(config));
  DataLoader loader(inspected.run->data().train, config.batch, /*shuffle=*/false, 0, inspected.run->normalization());
  loader.batch(0, inspected.x, inspected.y);
  return inspected;
}

}  // namespace xg
