#include "train/loop.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>

#include "train/distributed.hpp"
#include "train/forensics.hpp"
#include "train/interrupt.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "io/number_text.hpp"
#include "layers/model_summary.hpp"
#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/clip.hpp"

namespace xg {

namespace {

// How many rows of `outputs` predict their label: the largest logit, or for a
// one-output (sigmoid) model, class 1 iff the output is > 0.
std::size_t count_correct(const Tensor& outputs, const std::vector<std::uint32_t>& y) {
  const std::size_t rows = y.size(), columns = outputs.size() / (rows ? rows : 1);
  const float* z = outputs.data();
  std::size_t correct = 0;
  for (std::size_t r = 0; r < rows; ++r, z += columns) {
    const std::size_t predicted = columns == 1 ? (z[0] > 0.0f ? 1 : 0) : argmax(z, columns);
    correct += predicted == y[r];
  }
  return correct;
}
}  // namespace

TrainResult train_epoch(Module& model, Optimizer& optimizer, DataLoader& loader, std::size_t epoch,
                   const ProgressFn& progress, ExplosionRule* explosion, StepObserver* observer,
                   const Objective* objective, GradientReducer* reducer) {
  model.train();
  // Two input tensors and label buffers, reused across steps. With a worker to
  // run it (BackgroundTask, core/parallel.hpp: after the forward pass's last
  // pooled call, the output layer and the loss run on this thread alone), the
  // loader copies batch i + 1 into the pair step i does not use (the one step
  // i - 1 used; its graph is gone by then) while step i computes, and then asks
  // for batch i + 2's rows. With one thread, step i + 1 copies its batch at its
  // start into the pair step i used, whose lines are still in this core's caches
  // (a fresh pair's would be fetched first), and step i asks for those rows after
  // its backward pass: asked for a whole step ahead, they had left the caches
  // again by the copy (docs/PERFORMANCE.md, ninth round). The same rows either way.
  Tensor inputs[2] = {Tensor(Array{}, false), Tensor(Array{}, false)};
  std::vector<std::uint32_t> labels[2];
  std::size_t slot = 0;  // the pair this step computes with
  std::size_t next_batch = 0, next_slot = 0, next_rows = 0;
  bool ahead = false;  // copy_next runs on the worker, a step ahead (set before it is posted)
  const std::function<void()> copy_next = [&] {
    next_rows = loader.batch(next_batch, inputs[next_slot].value(), labels[next_slot], ahead);
  };
  std::optional<BackgroundTask> copying;  // batch next_batch, posted during the previous step
  int forward_calls = 0;  // the pooled calls (GEMMs on the threads) the last forward pass made
  double loss_sum = 0.0;
  std::size_t seen = 0, correct = 0;
  double last_good = explosion ? explosion->last_loss : std::numeric_limits<double>::quiet_NaN();
  const std::size_t steps = loader.num_batches();
  for (std::size_t i = 0; i < steps; ++i) {
    throw_if_interrupted(epoch, i, steps);  // a step boundary: SIGINT/SIGTERM stop here (train/interrupt.hpp)
    if (!copying) {
      next_batch = i, next_slot = slot, ahead = false;
      copy_next();
    } else {
      copying->wait();
      copying.reset();
      slot = next_slot;
    }
    Tensor& input = inputs[slot];
    const std::vector<std::uint32_t>& y = labels[slot];
    const std::size_t rows = next_rows;
    // Data-parallel (train/distributed.hpp): this rank's `rows` of the global batch's.
    const std::size_t global_rows = loader.batch_rows(i);
    const auto [shard_begin, shard_end] = loader.shard_of_batch(i);
    if (reducer) set_dropout_shard(model, shard_begin, global_rows - shard_end);
    optimizer.zero_grad();
    // The copy of batch i + 1 starts as the forward pass's last pooled call ends
    // (as many as the last step's forward made; or as the forward returns): from
    // there to the backward pass the worker has nothing else to do, and a copy
    // started any earlier would take it off the forward's GEMMs.
    if (i + 1 < steps && BackgroundTask::can_run_ahead()) {
      next_batch = i + 1, next_slot = 1 - slot, ahead = true;
      loader.shape_batch(next_batch, inputs[next_slot].value(), labels[next_slot]);  // allocates here
      copying.emplace(copy_next, BackgroundTask::Deferred{forward_calls});
    }
    const unsigned long long calls_before = BackgroundTask::pooled_calls();
    Tensor logits = model(input);
    forward_calls = int(BackgroundTask::pooled_calls() - calls_before);
    if (copying) copying->post_now();
    float value = 0.0f;
    Tensor loss = logits;  // an empty shard has no loss (its gradients count 0)
    const bool clipping = objective && objective->clip_grad_norm > 0;
    // Why the loss says stop: not finite, or grown past the explosion rule.
    const auto loss_reason = [&]() -> std::string {
      if (!std::isfinite(value)) return "loss is " + format_number(value);
      if (explosion && explosion->factor > 0 && value > explosion->factor * explosion->initial_loss)
        return "loss " + format_number(value) + " exceeded " + format_number(explosion->factor) +
               "x its initial value " + format_number(explosion->initial_loss);
      return "";
    };
    // When nothing reads the gradients between the backward pass and the update
    // (no clipping, no other ranks, no observer that reads them) and the loss gives
    // no reason to stop, SGD updates the weights inside the backward pass
    // (Optimizer::begin_update_in_backward): the same new weights, to the bit.
    bool updated_in_backward = false;
    if (rows > 0) {  // a rank's shard of a last batch smaller than the ranks can be empty
      loss = objective ? objective->loss(logits, y) : softmax_cross_entropy(logits, y);
      if (objective && objective->penalty) loss = add(loss, objective->penalty());
      value = loss.item();
      updated_in_backward = !clipping && !reducer && !(observer && observer->reads_gradients()) && loss_reason().empty() &&
                            optimizer.begin_update_in_backward();
      try {
        // Only the parameters' gradients are read after this (the step, clipping,
        // the reduce, observers, forensics): an op may skip storing an
        // intermediate gradient (a ReLU's, made inside the next layer's GEMM).
        loss.backward(IntermediateGrads::Drop);
      } catch (...) {
        optimizer.end_update_in_backward();
        throw;
      }
    }
    // The next step copies its batch inline (no worker): ask for its rows now, so
    // they arrive while the reduce (with other ranks) and the step run.
    if (!copying && i + 1 < steps) loader.prefetch_batch(i + 1);
    // The sum of the ranks' gradients, each weighted by its share of the rows:
    // the global batch's gradient and mean loss, the same on every rank.
    if (reducer) value = reducer->reduce(value, rows, global_rows);
    if (explosion && std::isnan(explosion->initial_loss)) explosion->initial_loss = value;
    // A non-finite gradient is found by the optimizer's step, which checks every
    // new weight as it writes it (a weight it leaves finite came from a finite
    // gradient): a separate pass over all the gradients before the update is only
    // made when clipping is about to rescale them (the forensics then see the
    // gradients the backward pass made).
    const auto gradient_reason = [&] { return "a gradient is not finite (loss " + format_number(value) + ")"; };
    std::string reason = loss_reason();  // empty while the step is healthy
    if (std::isfinite(value) && clipping && !gradients_finite(optimizer.parameters())) reason = gradient_reason();
    if (!reason.empty()) {
      TrainingDiverged diverged(epoch, i + 1, optimizer.lr(), value, last_good, reason);
      record_forensics(diverged, logits, model);
      throw diverged;
    }
    if (observer) observer->after_backward(loss);
    if (clipping) clip_grad_norm(optimizer.parameters(), objective->clip_grad_norm);
    optimizer.step();
    if (!optimizer.step_left_parameters_finite()) {  // a model with a non-finite weight is never saved
      // (With updated_in_backward the weights' gradients were never stored: the weight is what is known.)
      const bool gradients_were_finite = clipping || updated_in_backward || gradients_finite(optimizer.parameters());
      TrainingDiverged diverged(epoch, i + 1, optimizer.lr(), value, last_good,
                                gradients_were_finite ? "a weight is not finite after the update (loss " + format_number(value) + ")"
                                                      : gradient_reason());
      record_forensics(diverged, logits, model, !updated_in_backward);
      throw diverged;
    }
    if (observer) observer->after_step();
    last_good = value;
    if (explosion) explosion->last_loss = value;
    loss_sum += double(value) * double(global_rows);
    correct += count_correct(logits, y);
    seen += global_rows;
    if (progress && ((i + 1) % 20 == 0 || i + 1 == steps)) progress(i + 1, steps, loss_sum / double(seen));
  }
  if (reducer) {  // the items every rank got right
    std::uint64_t total = correct;
    reducer->comm().sum(&total, 1);
    correct = std::size_t(total);
  }
  TrainResult result;
  if (seen) {
    result.loss = loss_sum / double(seen);
    result.accuracy = double(correct) / double(seen);
  }
  return result;
}

nlohmann::json epoch_json(const EpochStats& s) {
  const std::string held_out = s.validation ? "val" : "test";
  return {{"epoch", s.epoch},     {"train_loss", s.train_loss}, {"train_acc", s.train_acc}, {held_out + "_loss", s.test_loss},
          {held_out + "_acc", s.test_acc}, {"lr", s.lr},        {"seconds", s.seconds}, {"threads", s.threads}};
}

nlohmann::json diverged_epoch_json(const TrainingDiverged& e, bool validation) {
  const std::string held_out = validation ? "val" : "test";
  return {{"epoch", e.epoch},       {"train_loss", nullptr}, {"train_acc", nullptr}, {held_out + "_loss", nullptr},
          {held_out + "_acc", nullptr}, {"lr", e.lr},        {"seconds", nullptr},   {"diverged", true},
          {"step", e.step},         {"reason", e.what()}};
}

EpochStats epoch_from_json(const nlohmann::json& line) {
  EpochStats s;
  auto number = [&](const char* key) {
    const auto it = line.find(key);
    if (it == line.end()) return 0.0;
    // epoch_json writes a NaN loss as null: read it back as NaN, a gap in the charts.
    return it->is_number() ? it->get<double>() : std::numeric_limits<double>::quiet_NaN();
  };
  s.epoch = std::size_t(number("epoch"));
  s.train_loss = number("train_loss");
  s.train_acc = number("train_acc");
  s.validation = line.contains("val_loss");
  s.test_loss = number(s.validation ? "val_loss" : "test_loss");
  s.test_acc = number(s.validation ? "val_acc" : "test_acc");
  s.lr = number("lr");
  s.seconds = number("seconds");
  s.threads = int(number("threads"));
  return s;
}

Array class_scores(const Tensor& outputs, bool sigmoid_head) {
  if (!sigmoid_head) return outputs.value();
  const std::size_t rows = outputs.size();
  Array scores = xt::zeros<float>({rows, std::size_t(2)});  // (0, z): argmax is class 1 iff z > 0
  for (std::size_t r = 0; r < rows; ++r) scores(r, 1) = outputs.data()[r];
  return scores;
}

std::size_t evaluation_batch(Module& model, const Split& set) {
  constexpr std::size_t kMost = 1000, kLeast = 64, kActivationFloats = std::size_t(1) << 22;
  auto* sequential = dynamic_cast<Sequential*>(&model);
  if (sequential == nullptr || set.count == 0) return kMost;
  std::size_t largest = set.features();
  for (const LayerSummary& layer : summarize_layers(*sequential, set.features())) {
    std::size_t values = 1;
    for (std::size_t d : layer.output_shape) values *= d;
    largest = std::max(largest, values);
  }
  return std::clamp(kActivationFloats / std::max<std::size_t>(largest, 1), kLeast, kMost);
}

Evaluation evaluate(Module& model, const Split& set, const Normalization& norm, std::size_t num_classes,
                    const Objective* objective, const Communicator* comm) {
  const std::size_t batch = evaluation_batch(model, set);
  NoGradGuard no_grad;
  model.eval();
  const std::size_t ranks = comm ? std::size_t(comm->size()) : 1;
  DataLoader loader(set, batch * ranks, /*shuffle=*/false, 0, norm);
  if (comm) loader.set_shard(std::size_t(comm->rank()), ranks);
  loader.start_epoch(1);
  Evaluation result{0.0, ConfusionMatrix(num_classes)};
  Array x;
  std::vector<std::uint32_t> y;
  double loss_sum = 0.0;
  for (std::size_t i = 0; i < loader.num_batches(); ++i) {
    const std::size_t rows = loader.batch(i, x, y);
    if (rows == 0) continue;
    Tensor logits = model(Tensor(x));
    const Tensor loss = objective ? objective->loss(logits, y) : softmax_cross_entropy(logits, y);
    loss_sum += double(loss.item()) * double(rows);
    const Array scores = class_scores(logits, objective && objective->binary);
    result.confusion.add_batch(scores.data(), rows, scores.shape()[1], y.data());
  }
  model.train();
  if (ranks > 1) {  // the sums over the ranks' shards
    comm->sum(&loss_sum, 1);
    std::vector<std::uint64_t> counts(num_classes * num_classes);
    for (std::size_t t = 0; t < num_classes; ++t)
      for (std::size_t p = 0; p < num_classes; ++p) counts[t * num_classes + p] = result.confusion.count(t, p);
    comm->sum(counts.data(), counts.size());
    result.confusion = ConfusionMatrix(num_classes);
    for (std::size_t t = 0; t < num_classes; ++t)
      for (std::size_t p = 0; p < num_classes; ++p)
        for (std::uint64_t n = 0; n < counts[t * num_classes + p]; ++n) result.confusion.add(t, p);
  }
  result.loss = set.count ? loss_sum / double(set.count) : 0.0;
  return result;
}

}  // namespace xg
