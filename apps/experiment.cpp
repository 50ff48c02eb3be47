#include "apps/experiment.hpp"

#include <chrono>
#include <cstdio>

#include "core/error.hpp"
#include "core/random.hpp"
#include "optim/sgd.hpp"

namespace xg {

std::shared_ptr<const ImageDataset> load_training_data(const TrainOptions& o) {
  auto data = std::make_shared<ImageDataset>(load_image_dataset(o.data));
  if (!o.classes.empty()) {
    std::vector<std::string> names = load_class_names(o.classes);
    if (names.size() < data->num_classes()) {
      throw InputError("--classes gives " + std::to_string(names.size()) + " names but the data has " +
                       std::to_string(data->num_classes()) + " classes");
    }
    data->class_names = std::move(names);
  }
  if (o.train_limit) truncate(data->train, o.train_limit);
  if (o.test_limit) truncate(data->test, o.test_limit);
  return data;
}

Experiment::Experiment(const TrainOptions& options, std::shared_ptr<const ImageDataset> data)
    : options_(options), data_(std::move(data)), last_{0.0, ConfusionMatrix(data_->num_classes())} {
  validate_train_options(options_);
  norm_ = options_.no_normalize ? Normalization{} : compute_normalization(data_->train);
  std::vector<std::size_t> sizes{data_->train.features()};
  for (std::size_t h : parse_size_list("--hidden", options_.hidden)) sizes.push_back(h);
  sizes.push_back(data_->num_classes());
  Rng rng(options_.seed);
  model_ = make_mlp(sizes, rng);
  optimizer_ = std::make_unique<SGD>(model_->parameters(), float(options_.lr), float(options_.momentum));
  loader_ = std::make_unique<DataLoader>(data_->train, options_.batch, /*shuffle=*/true, options_.seed, norm_);
}

EpochStats Experiment::run_epoch(std::size_t epoch, const ProgressFn& progress) {
  EpochStats stats;
  stats.epoch = epoch;
  stats.lr = scheduled_lr(options_.schedule, options_.lr, epoch, options_.epochs);
  optimizer_->set_lr(float(stats.lr));
  loader_->start_epoch(epoch);
  const auto start = std::chrono::steady_clock::now();
  stats.train_loss = train_epoch(*model_, *optimizer_, *loader_, epoch, progress);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  last_ = evaluate(*model_, data_->test, norm_, data_->num_classes());
  stats.test_loss = last_.loss;
  stats.test_acc = last_.accuracy();
  return stats;
}

std::string Experiment::describe() const {
  std::size_t parameter_count = 0;
  for (const Tensor& p : model_->parameters()) parameter_count += p.size();
  char text[1024];
  std::snprintf(text, sizeof text,
                "data   %s: %zu train / %zu test images of %zux%zu, %zu classes\n"
                "model  %s, %zu parameters\n"
                "train  SGD lr %g momentum %g, schedule %s, batch %zu, %zu epochs, seed %llu",
                data_->name.c_str(), data_->train.count, data_->test.count, data_->train.rows, data_->train.cols,
                data_->num_classes(), model_->describe().c_str(), parameter_count, options_.lr, options_.momentum,
                options_.schedule.c_str(), options_.batch, options_.epochs, (unsigned long long)options_.seed);
  return text;
}

}  // namespace xg
