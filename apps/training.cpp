#include "apps/training.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "losses/softmax_cross_entropy.hpp"

namespace xg {

namespace {
std::string diverged_message(std::size_t epoch, std::size_t step, float lr, float loss) {
  std::ostringstream s;
  s << "training diverged at epoch " << epoch << ", step " << step << ": loss is " << loss << " at lr " << lr;
  return s.str();
}
}  // namespace

TrainingDiverged::TrainingDiverged(std::size_t epoch_, std::size_t step_, float lr_, float loss_, double last_good)
    : std::runtime_error(diverged_message(epoch_, step_, lr_, loss_)),
      epoch(epoch_),
      step(step_),
      lr(lr_),
      loss(loss_),
      last_good_loss(last_good) {}

double train_epoch(Module& model, Optimizer& optimizer, DataLoader& loader, std::size_t epoch,
                   const ProgressFn& progress) {
  model.train();
  Array x;
  std::vector<std::uint32_t> y;
  double loss_sum = 0.0;
  std::size_t seen = 0;
  double last_good = std::numeric_limits<double>::quiet_NaN();
  const std::size_t steps = loader.num_batches();
  for (std::size_t i = 0; i < steps; ++i) {
    const std::size_t rows = loader.batch(i, x, y);
    optimizer.zero_grad();
    Tensor logits = model(Tensor(x));
    Tensor loss = softmax_cross_entropy(logits, y);
    const float value = loss.item();
    if (!std::isfinite(value)) throw TrainingDiverged(epoch, i + 1, optimizer.lr(), value, last_good);
    loss.backward();
    optimizer.step();
    last_good = value;
    loss_sum += double(value) * double(rows);
    seen += rows;
    if (progress && ((i + 1) % 20 == 0 || i + 1 == steps)) progress(i + 1, steps, loss_sum / double(seen));
  }
  return seen ? loss_sum / double(seen) : 0.0;
}

Evaluation evaluate(Module& model, const ImageSet& set, const Normalization& norm, std::size_t num_classes) {
  NoGradGuard no_grad;
  model.eval();
  DataLoader loader(set, 1000, /*shuffle=*/false, 0, norm);
  loader.start_epoch(1);
  Evaluation result{0.0, ConfusionMatrix(num_classes)};
  Array x;
  std::vector<std::uint32_t> y;
  double loss_sum = 0.0;
  for (std::size_t i = 0; i < loader.num_batches(); ++i) {
    const std::size_t rows = loader.batch(i, x, y);
    Tensor logits = model(Tensor(x));
    loss_sum += double(softmax_cross_entropy(logits, y).item()) * double(rows);
    result.confusion.add_batch(logits.data(), rows, logits.dim(1), y.data());
  }
  model.train();
  result.loss = set.count ? loss_sum / double(set.count) : 0.0;
  return result;
}

double scheduled_lr(const std::string& schedule, double base_lr, std::size_t epoch, std::size_t epochs) {
  if (schedule == "cosine") return base_lr * 0.5 * (1.0 + std::cos(M_PI * double(epoch - 1) / double(epochs)));
  return base_lr;
}

}  // namespace xg
