#include "train/sweep.hpp"

#include <exception>

#include "train/interrupt.hpp"

namespace xg {
namespace {

// Trains one epoch of one run, recording the windowed training loss; never throws.
void train_one_epoch(SweepRun& run, Experiment& experiment, std::size_t epoch, std::exception_ptr& failure,
                     const ProgressFn& progress) {
  const double steps = double(experiment.steps_per_epoch());
  std::size_t previous_step = 0;
  double previous_sum = 0.0;
  // The progress callback gets the running mean; the difference of running
  // sums gives the mean over the last window (batches weigh equally, except a
  // smaller last one).
  ProgressFn record = [&](std::size_t step, std::size_t, double mean) {
    const double sum = mean * double(step);
    run.curve_x.push_back(double(epoch - 1) + double(step) / steps);
    run.curve_y.push_back((sum - previous_sum) / double(step - previous_step));
    previous_step = step, previous_sum = sum;
    if (progress) progress(step, std::size_t(steps), mean);
  };
  try {
    run.history.push_back(experiment.run_epoch(epoch, record));
  } catch (const TrainingDiverged& e) {
    run.diverged = e;
  } catch (...) {
    failure = std::current_exception();
  }
  run.initial_loss = experiment.initial_loss();
}

}  // namespace

Sweep::Sweep(const TrainConfig& base, const std::vector<double>& rates, double explode_factor,
             std::shared_ptr<const Dataset> data) {
  for (double lr : rates) {
    TrainConfig config = base;
    config.lr = lr;
    experiments_.push_back(std::make_unique<Experiment>(config, data));
    experiments_.back()->set_explosion_factor(explode_factor);
    SweepRun run;
    run.base_lr = lr;
    run.initial_loss = experiments_.back()->initial_loss();
    run.steps_per_epoch = experiments_.back()->steps_per_epoch();
    runs_.push_back(run);
  }
}

bool Sweep::run_epoch(std::size_t epoch, int jobs, const SweepProgressFn& progress) {
  std::vector<std::size_t> active;
  for (std::size_t i = 0; i < runs_.size(); ++i)
    if (runs_[i].finished()) active.push_back(i);
  if (active.empty()) return false;
  const std::vector<SweepRun> before = runs_;  // an interrupted epoch leaves no trace in the records
  std::vector<std::exception_ptr> failures(runs_.size());  // anything but divergence, thrown inside the region
  // Inside this parallel region the GEMM sees omp_in_parallel() and stays on its own core.
#pragma omp parallel for schedule(dynamic, 1) num_threads(jobs) if (jobs > 1)
  for (std::size_t k = 0; k < active.size(); ++k) {
    const std::size_t i = active[k];
    ProgressFn run_progress;
    if (progress) run_progress = [&progress, i](std::size_t step, std::size_t steps, double loss) { progress(i, step, steps, loss); };
    train_one_epoch(runs_[i], *experiments_[i], epoch, failures[i], run_progress);
  }
  for (const std::exception_ptr& failure : failures) {
    if (!failure) continue;
    try {
      std::rethrow_exception(failure);
    } catch (const Interrupted&) {
      runs_ = before;
      throw;
    }
  }
  return true;
}

int Sweep::best() const {
  int best = -1;
  for (std::size_t i = 0; i < runs_.size(); ++i)
    if (runs_[i].finished() && !runs_[i].history.empty() &&
        (best < 0 || runs_[i].history.back().test_loss < runs_[std::size_t(best)].history.back().test_loss))
      best = int(i);
  return best;
}

}  // namespace xg
