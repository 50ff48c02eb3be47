#pragma once
// The pieces of a training run, built from a TrainConfig: the model (its
// activation, dropout and initialiser), the optimizer, the learning-rate
// schedule, the loss (label smoothing, class weights, a sigmoid head), weight
// penalties and gradient clipping, and the data options --classes-subset and
// --val-split. Experiment calls these.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "train/config.hpp"
#include "train/loop.hpp"
#include "core/random.hpp"
#include "datasets/dataset.hpp"
#include "layers/sequential.hpp"
#include "optim/lr_schedule.hpp"
#include "optim/optimizer.hpp"

namespace xg {

// --classes-subset "3,5": keeps only the items with those labels, in both
// splits, renumbered 0..k-1 in the order given; the class names follow.
// Throws InputError for a malformed list, a repeated or unknown label.
void keep_classes(Dataset& data, const std::string& spec);

// --val-split: moves a seeded random `fraction` of `train` (at least one item,
// and at least one left) into the returned set; both keep their original order.
Split split_validation(Split& train, double fraction, std::uint64_t seed);

// --arch mlp: Linear, activation, [Dropout], …, Linear; otherwise the layers of
// --arch (layers/architecture.hpp) for items of `item_shape` (a data set's:
// {rows, cols} images, {features} tables). One output for --head sigmoid.
// Weights initialised as --init says (biases then zero); "default" is
// PyTorch's own init of each layer, and the result equals make_mlp's for ReLU.
// Throws InputError when the --arch layers do not fit the items.
std::shared_ptr<Sequential> build_model(const TrainConfig& options, const Shape& item_shape, std::size_t classes,
                                        Rng& rng);
// The same for items of `inputs` features.
std::shared_ptr<Sequential> build_model(const TrainConfig& options, std::size_t inputs, std::size_t classes,
                                        Rng& rng);
std::unique_ptr<Optimizer> build_optimizer(const TrainConfig& options, std::vector<Tensor> parameters);
// Stepped once per epoch: epoch e (1-based) uses the rate after e-1 steps.
std::unique_ptr<LRSchedule> build_schedule(const TrainConfig& options);
// The loss, penalty and clipping of a step; throws InputError if the flags do
// not fit the data (--head sigmoid without 2 classes, a wrong --class-weights count).
Objective build_objective(const TrainConfig& options, const Module& model, std::size_t classes);

}  // namespace xg
