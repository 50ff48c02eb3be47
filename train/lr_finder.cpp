#include "train/lr_finder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/ops.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/clip.hpp"
#include "train/interrupt.hpp"

namespace xg {

void validate_lr_find_settings(const LrFindSettings& s) {
  if (!(s.start > 0) || !std::isfinite(s.start)) fail("--start must be a positive learning rate");
  if (!(s.end > s.start) || !std::isfinite(s.end)) fail("--end must be a learning rate larger than --start");
  if (s.steps < 5 || s.steps > 100000) fail("--steps must be from 5 to 100000, got " + std::to_string(s.steps));
  if (!(s.smoothing >= 0 && s.smoothing < 1)) fail("--smoothing must be in [0, 1)");
  if (!(s.stop_factor > 1)) fail("--stop-factor must be larger than 1");
}

std::size_t steepest_descent_index(const std::vector<double>& lrs, const std::vector<double>& losses) {
  std::size_t best = 0;
  double steepest = INFINITY;
  for (std::size_t i = 0; i + 1 < losses.size(); ++i) {
    const double slope = (losses[i + 1] - losses[i]) / (std::log10(lrs[i + 1]) - std::log10(lrs[i]));
    if (slope < steepest) steepest = slope, best = i;
  }
  return best;
}

std::size_t valley_index(const std::vector<double>& losses) {
  // lds[i]: length of the longest decreasing subsequence ending at i (O(n²), n is small).
  const std::size_t n = losses.size();
  if (n == 0) return 0;
  std::vector<std::size_t> lds(n, 1);
  std::size_t max_start = 0, max_end = 0;
  for (std::size_t i = 1; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j)
      if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
    if (lds[max_end] < lds[i]) max_end = i, max_start = max_end - lds[max_end];
  }
  const double sections = double(max_end - max_start) / 3.0;
  const std::size_t idx = max_start + std::size_t(sections) + std::size_t(sections / 2.0);
  return std::min(idx, n - 1);
}

LrFindResult lr_range_test(Module& model, Optimizer& optimizer, DataLoader& loader, const LrFindSettings& s,
                           const Objective* objective, const ProgressFn& progress) {
  validate_lr_find_settings(s);
  std::vector<Tensor> parameters;  // and buffers (BatchNorm2d's running statistics): all restored at the end
  for (const auto& named : model.named_state()) parameters.push_back(named.second);
  std::vector<Array> saved;
  for (const Tensor& p : parameters) saved.push_back(p.value());

  LrFindResult result;
  model.train();
  Tensor input(Array{}, false);
  std::vector<std::uint32_t> y;
  double average = 0.0, best = INFINITY;
  std::size_t epoch = 1, batch = 0;
  loader.start_epoch(epoch);
  for (std::size_t i = 0; i < s.steps; ++i) {
    if (const int signal = pending_interrupt()) {  // SIGINT/SIGTERM: stop between steps, weights restored
      for (std::size_t k = 0; k < parameters.size(); ++k) parameters[k].value() = saved[k];
      throw Interrupted(signal, epoch, i, s.steps);
    }
    if (batch == loader.num_batches()) loader.start_epoch(++epoch), batch = 0;
    const double lr = s.start * std::pow(s.end / s.start, double(i) / double(s.steps - 1));
    optimizer.set_lr(float(lr));
    loader.batch(batch++, input.value(), y);
    optimizer.zero_grad();
    Tensor logits = model(input);
    Tensor loss = objective ? objective->loss(logits, y) : softmax_cross_entropy(logits, y);
    if (objective && objective->penalty) loss = add(loss, objective->penalty());
    const double value = loss.item();
    result.steps_taken = i + 1;
    char text[160];
    if (!std::isfinite(value)) {
      std::snprintf(text, sizeof text, "the loss became %g at lr %.3g (step %zu)", value, lr, i + 1);
      result.stopped_early = true, result.stop_reason = text;
      break;
    }
    average = s.smoothing * average + (1.0 - s.smoothing) * value;
    const double smoothed = average / (1.0 - std::pow(s.smoothing, double(i + 1)));
    result.lrs.push_back(lr), result.losses.push_back(value), result.smoothed.push_back(smoothed);
    best = std::min(best, smoothed);
    if (smoothed > s.stop_factor * best) {
      std::snprintf(text, sizeof text, "the smoothed loss %.4g exceeded %gx its minimum %.4g at lr %.3g (step %zu)",
                    smoothed, s.stop_factor, best, lr, i + 1);
      result.stopped_early = i + 1 < s.steps, result.stop_reason = text;
      break;
    }
    loss.backward();
    if (objective && objective->clip_grad_norm > 0) clip_grad_norm(optimizer.parameters(), objective->clip_grad_norm);
    optimizer.step();
    if (progress && ((i + 1) % std::max<std::size_t>(1, s.steps / 100) == 0 || i + 1 == s.steps))
      progress(i + 1, s.steps, value);
  }
  for (std::size_t k = 0; k < parameters.size(); ++k) parameters[k].value() = saved[k];
  if (result.smoothed.size() < 3)
    throw InputError("--start: the loss exploded within " + std::to_string(result.smoothed.size() + 1) +
                     " steps; start the range lower (e.g. --start " + std::to_string(s.start / 100) + ")");
  result.minimum = std::size_t(std::min_element(result.smoothed.begin(), result.smoothed.end()) - result.smoothed.begin());
  const std::size_t n = result.smoothed.size();
  std::size_t from = s.steps / 10, to = n > 5 ? n - 5 : n;
  if (to < from + 3) from = 0, to = n;  // too short to trim
  const std::vector<double> lrs(result.lrs.begin() + long(from), result.lrs.begin() + long(to));
  const std::vector<double> losses(result.smoothed.begin() + long(from), result.smoothed.begin() + long(to));
  result.steep = from + steepest_descent_index(lrs, losses);
  result.valley = from + valley_index(losses);
  return result;
}

}  // namespace xg
