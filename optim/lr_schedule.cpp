#include "optim/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace xg {

void LRSchedule::step(double) {
  ++t_;
  lr_ = lr_at(t_);
}

StepLR::StepLR(double base_lr, std::size_t step_size, double gamma)
    : LRSchedule(base_lr), step_size_(step_size), gamma_(gamma) {
  if (step_size == 0) throw std::invalid_argument("StepLR: step_size must be at least 1");
}

double StepLR::lr_at(std::size_t t) const { return base_lr_ * std::pow(gamma_, double(t / step_size_)); }

MultiStepLR::MultiStepLR(double base_lr, std::vector<std::size_t> milestones, double gamma)
    : LRSchedule(base_lr), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
}

double MultiStepLR::lr_at(std::size_t t) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
  return base_lr_ * std::pow(gamma_, double(passed));
}

ExponentialLR::ExponentialLR(double base_lr, double gamma) : LRSchedule(base_lr), gamma_(gamma) {}

double ExponentialLR::lr_at(std::size_t t) const { return base_lr_ * std::pow(gamma_, double(t)); }

CosineAnnealingLR::CosineAnnealingLR(double base_lr, std::size_t t_max, double eta_min)
    : LRSchedule(base_lr), t_max_(t_max), eta_min_(eta_min) {
  if (t_max == 0) throw std::invalid_argument("CosineAnnealingLR: T_max must be at least 1");
}

double CosineAnnealingLR::lr_at(std::size_t t) const {
  return eta_min_ + (base_lr_ - eta_min_) * 0.5 * (1.0 + std::cos(M_PI * double(t) / double(t_max_)));
}

ReduceLROnPlateau::ReduceLROnPlateau(double base_lr, const PlateauOptions& options)
    : LRSchedule(base_lr), options_(options) {
  if (!(options.factor > 0.0 && options.factor < 1.0)) {
    throw std::invalid_argument("ReduceLROnPlateau: factor must be in (0, 1)");
  }
}

void ReduceLROnPlateau::step(double metric) {
  if (std::isnan(metric)) throw std::invalid_argument("ReduceLROnPlateau: step() needs the metric");
  ++t_;
  if (metric < best_ * (1.0 - options_.threshold)) {
    best_ = metric;
    bad_steps_ = 0;
  } else {
    ++bad_steps_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_steps_ = 0;
  }
  if (bad_steps_ > options_.patience) {
    const double reduced = std::max(lr_ * options_.factor, options_.min_lr);
    if (lr_ - reduced > 1e-8) lr_ = reduced;
    cooldown_left_ = options_.cooldown;
    bad_steps_ = 0;
  }
}

LinearWarmup::LinearWarmup(std::unique_ptr<LRSchedule> inner, std::size_t warmup_steps, double start_factor)
    : LRSchedule(inner->base_lr()), inner_(std::move(inner)), warmup_(warmup_steps), start_factor_(start_factor) {
  if (warmup_steps == 0) throw std::invalid_argument("LinearWarmup: warmup_steps must be at least 1");
  if (!(start_factor > 0.0 && start_factor <= 1.0)) {
    throw std::invalid_argument("LinearWarmup: start_factor must be in (0, 1]");
  }
  lr_ = lr_at(0);
}

double LinearWarmup::lr_at(std::size_t t) const {
  return base_lr_ * (start_factor_ + (1.0 - start_factor_) * double(t) / double(warmup_));
}

void LinearWarmup::step(double metric) {
  ++t_;
  if (t_ < warmup_) {
    lr_ = lr_at(t_);
    return;
  }
  if (t_ > warmup_) inner_->step(metric);  // at t_ == warmup_ the inner schedule starts at its step 0
  lr_ = inner_->lr();
}

}  // namespace xg
