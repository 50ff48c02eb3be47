#include "train/saved_model.hpp"

#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "datasets/csv.hpp"
#include "datasets/dataloader.hpp"
#include "train/checkpoint.hpp"
#include "train/experiment.hpp"
#include "train/loop.hpp"

namespace xg {

TrainConfig model_config(const LoadedModel& model) { return config_from_json(model.info.config, TrainConfig{}, model.path); }

Normalization model_normalization(const LoadedModel& model) { return Normalization{model.info.mean, model.info.std}; }

Dataset load_data_for_model(const LoadedModel& model, const std::string& data_flag) {
  TrainConfig o = model_config(model);
  o.test_limit = 0;  // the whole test split
  o.classes.clear();  // the model's names are set below
  if (!data_flag.empty()) o.data = data_flag;
  const std::string which = data_flag.empty() ? "the training data " + o.data : "--data " + o.data;
  if (model.takes_tables() != is_csv_path(o.data)) {
    throw InputError(which + ": the model " + model.path + " was trained on " +
                     (model.takes_tables() ? "CSV data; give a .csv file" : "images; give an image directory"));
  }
  Dataset data;
  if (model.takes_tables() && !data_flag.empty()) {
    // A CSV file to evaluate: every row is a test item, its label one of the model's classes.
    CsvOptions csv;
    csv.label_column = o.label_col;
    csv.test_split = 0.0;
    csv.classes = model.info.classes;
    csv.features = model.info.features;
    data = load_csv_dataset(o.data, csv);
    std::swap(data.train, data.test);  // all rows are test rows
  } else {
    // The data as training saw it: the same file or directory, split, classes subset and limits.
    data = prepare_training_data(o);
    if (model.takes_tables() && !model.info.data_sha256.empty() && data_sha256(data.train) != model.info.data_sha256) {
      throw InputError(which + " has changed since " + model.path + " was trained (its training split's sha256 differs), so "
                       "its test split is no longer held-out data; pass --data FILE.csv to evaluate a file as a whole");
    }
  }
  const std::size_t features = model.info.layers.front();
  if (data.test.features() != features) {
    throw InputError(which + ": items are " + data.test.item_description() + " but the model takes " +
                     std::to_string(features) + " inputs (" +
                     shape_string(Shape(model.info.input_shape.begin(), model.info.input_shape.end())) + ")");
  }
  for (std::uint32_t label : data.test.labels) {
    if (label >= model.info.classes.size()) {
      throw InputError(which + ": test label " + std::to_string(label) + " is not one of the model's " +
                       std::to_string(model.info.classes.size()) + " classes");
    }
  }
  data.class_names = model.info.classes;
  return data;
}

bool is_training_data(const LoadedModel& model, const std::string& data_flag) {
  if (!model.takes_tables() || data_flag.empty()) return false;
  TrainConfig o = model_config(model);
  std::error_code ec;
  if (std::filesystem::equivalent(data_flag, o.data, ec)) return true;
  if (model.info.data_sha256.empty()) return false;
  o.data = data_flag;
  o.classes.clear();
  try {
    return data_sha256(prepare_training_data(o).train) == model.info.data_sha256;
  } catch (const InputError&) {
    return false;  // it does not even read as the training file did
  }
}

Array model_logits(LoadedModel& model, const Split& items) {
  NoGradGuard no_grad;
  model.model->eval();
  const std::size_t classes = model.info.classes.size();
  Array logits = xt::zeros<float>({items.count, classes});
  DataLoader loader(items, evaluation_batch(*model.model, items), /*shuffle=*/false, 0, model_normalization(model));
  Array x;
  std::vector<std::uint32_t> y;
  for (std::size_t i = 0, first = 0; i < loader.num_batches(); ++i) {
    const std::size_t rows = loader.batch(i, x, y);
    const Array scores = class_scores((*model.model)(Tensor(x)), model.sigmoid_head());
    std::memcpy(logits.data() + first * classes, scores.data(), rows * classes * sizeof(float));
    first += rows;
  }
  return logits;
}

}  // namespace xg
