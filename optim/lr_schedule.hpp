#pragma once
// Learning-rate schedules, as torch.optim.lr_scheduler computes them. A schedule
// is an object the training loop steps once per epoch (or once per batch — the
// caller chooses the unit); lr() is the rate to use for the current step:
//
//   schedule.lr() at step 0 is the base rate; after k calls of step() it is
//   the rate for step k. Set it on the optimizer before each epoch (batch).
//
// With t the number of step() calls so far and lr₀ the base rate:
//   ConstantLR         lr₀
//   StepLR             lr₀ · γ^⌊t / step_size⌋
//   MultiStepLR        lr₀ · γ^(number of milestones ≤ t)
//   ExponentialLR      lr₀ · γ^t
//   CosineAnnealingLR  η_min + (lr₀ - η_min) · ½ (1 + cos(π t / T_max))   (periodic past T_max, as torch)
//   ReduceLROnPlateau  lr ← max(lr · factor, min_lr) once the metric has not improved for
//                      more than `patience` steps (torch's rules: relative threshold, cooldown)
//   LinearWarmup       lr₀ · (s + (1 - s) t / W) for t < W, then the wrapped schedule from its
//                      step 0 (torch: SequentialLR([LinearLR(s, total_iters=W), inner], [W]))
#include <cstddef>
#include <limits>
#include <memory>
#include <vector>

namespace xg {

class LRSchedule {
 public:
  explicit LRSchedule(double base_lr) : base_lr_(base_lr), lr_(base_lr) {}
  virtual ~LRSchedule() = default;

  // The rate for the current step.
  double lr() const { return lr_; }
  double base_lr() const { return base_lr_; }
  // Calls of step() so far.
  std::size_t steps() const { return t_; }
  // Advances one step. `metric` (e.g. the validation loss of the epoch just
  // finished) is read only by ReduceLROnPlateau.
  virtual void step(double metric = std::numeric_limits<double>::quiet_NaN());

 protected:
  // The closed form at step t (stateless schedules).
  virtual double lr_at(std::size_t t) const = 0;
  double base_lr_, lr_;
  std::size_t t_ = 0;
};

class ConstantLR : public LRSchedule {
 public:
  using LRSchedule::LRSchedule;

 protected:
  double lr_at(std::size_t) const override { return base_lr_; }
};

class StepLR : public LRSchedule {
 public:
  StepLR(double base_lr, std::size_t step_size, double gamma = 0.1);

 protected:
  double lr_at(std::size_t t) const override;

 private:
  std::size_t step_size_;
  double gamma_;
};

class MultiStepLR : public LRSchedule {
 public:
  MultiStepLR(double base_lr, std::vector<std::size_t> milestones, double gamma = 0.1);

 protected:
  double lr_at(std::size_t t) const override;

 private:
  std::vector<std::size_t> milestones_;
  double gamma_;
};

class ExponentialLR : public LRSchedule {
 public:
  ExponentialLR(double base_lr, double gamma);

 protected:
  double lr_at(std::size_t t) const override;

 private:
  double gamma_;
};

class CosineAnnealingLR : public LRSchedule {
 public:
  CosineAnnealingLR(double base_lr, std::size_t t_max, double eta_min = 0.0);

 protected:
  double lr_at(std::size_t t) const override;

 private:
  std::size_t t_max_;
  double eta_min_;
};

struct PlateauOptions {
  double factor = 0.1;      // lr ← lr · factor
  std::size_t patience = 10;  // steps without improvement tolerated
  double threshold = 1e-4;  // improvement: metric < best · (1 - threshold)
  std::size_t cooldown = 0;  // steps after a reduction during which bad steps are not counted
  double min_lr = 0.0;
};

// Mode "min" (a loss), threshold mode "rel", as torch's defaults.
class ReduceLROnPlateau : public LRSchedule {
 public:
  ReduceLROnPlateau(double base_lr, const PlateauOptions& options = {});
  // Throws std::invalid_argument when metric is NaN (it needs one).
  void step(double metric = std::numeric_limits<double>::quiet_NaN()) override;
  double best() const { return best_; }

 protected:
  double lr_at(std::size_t) const override { return lr_; }

 private:
  PlateauOptions options_;
  double best_ = std::numeric_limits<double>::infinity();
  std::size_t bad_steps_ = 0, cooldown_left_ = 0;
};

class LinearWarmup : public LRSchedule {
 public:
  // `inner` must have the same base rate; warmup_steps ≥ 1; start_factor in (0, 1].
  LinearWarmup(std::unique_ptr<LRSchedule> inner, std::size_t warmup_steps, double start_factor);
  void step(double metric = std::numeric_limits<double>::quiet_NaN()) override;

 protected:
  double lr_at(std::size_t t) const override;

 private:
  std::unique_ptr<LRSchedule> inner_;
  std::size_t warmup_;
  double start_factor_;
};

}  // namespace xg
