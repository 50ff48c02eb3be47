#pragma once
// Using a saved model (io/model_file.hpp): the config of the run that trained
// it, the data to evaluate it on, and its class scores.
#include <string>

#include "datasets/dataset.hpp"
#include "io/model_file.hpp"
#include "train/config.hpp"

namespace xg {

// The TrainConfig of the run that trained it (its metadata's "config").
TrainConfig model_config(const LoadedModel& model);
// Its input normalisation (the metadata's mean and std).
Normalization model_normalization(const LoadedModel& model);

// The data set to use a model with, its test split the items to evaluate, with
// the model's class names:
//   - no `data_flag`: the training run's data (its --data, CSV split, --classes-subset);
//   - an image directory: its test images (with the run's --classes-subset);
//   - a CSV file (a table model): every row of it, labels from the model's classes.
// Throws InputError when the items do not fit the model (size, kind, labels),
// or when a table model's training file has changed since (its test split
// would no longer be held out).
Dataset load_data_for_model(const LoadedModel& model, const std::string& data_flag);

// True when `data_flag` (a table model's --data FILE.csv) holds the rows the
// model was trained on: it is the training file itself, or, read with the
// run's flags (--label-col, --test or --test-split, --seed), it gives a
// training split whose SHA-256 is the model's data_sha256. Evaluating on it
// measures memorisation, not generalisation.
bool is_training_data(const LoadedModel& model, const std::string& data_flag);

// The class scores (count, classes) of the items, normalised as in training,
// whose softmax is the model's class probabilities (train/loop.hpp class_scores).
Array model_logits(LoadedModel& model, const Split& items);

}  // namespace xg
