#include "train/sweep.hpp"

#include <exception>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

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

using Json = nlohmann::json;

double number_or_nan(const Json& j) { return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN(); }

// A run's records as JSON, and back (the ranks of a distributed sweep exchange them).
Json run_json(const SweepRun& run, const ConfusionMatrix& confusion) {
  Json j = {{"history", Json::array()}, {"initial_loss", run.initial_loss}, {"curve_x", run.curve_x},
            {"curve_y", run.curve_y}};
  for (const EpochStats& s : run.history) j["history"].push_back(epoch_json(s));
  std::vector<std::size_t> counts;
  for (std::size_t t = 0; t < confusion.num_classes(); ++t)
    for (std::size_t p = 0; p < confusion.num_classes(); ++p) counts.push_back(confusion.count(t, p));
  j["confusion"] = counts;
  if (const auto& d = run.diverged) {
    j["diverged"] = {{"epoch", d->epoch}, {"step", d->step}, {"lr", d->lr}, {"loss", d->loss},
                     {"last_good_loss", d->last_good_loss}, {"what", d->what()}, {"max_abs_logit", d->max_abs_logit},
                     {"nonfinite_logits", d->nonfinite_logits}, {"grad_norm", d->grad_norm},
                     {"layer_grad_norms", d->layer_grad_norms}};
  }
  return j;
}

void read_run_json(const Json& j, SweepRun& run, ConfusionMatrix& confusion) {
  run.history.clear();
  for (const Json& line : j["history"]) {
    run.history.push_back(epoch_from_json(line));
  }
  run.initial_loss = number_or_nan(j["initial_loss"]);
  run.curve_x.clear(), run.curve_y.clear();
  for (const Json& x : j["curve_x"]) run.curve_x.push_back(number_or_nan(x));
  for (const Json& y : j["curve_y"]) run.curve_y.push_back(number_or_nan(y));
  const std::vector<std::size_t> counts = j["confusion"].get<std::vector<std::size_t>>();
  const std::size_t k = confusion.num_classes();
  confusion = ConfusionMatrix(k);
  for (std::size_t c = 0; c < counts.size() && c < k * k; ++c)
    for (std::size_t n = 0; n < counts[c]; ++n) confusion.add(c / k, c % k);
  run.diverged.reset();
  if (j.contains("diverged")) {
    const Json& d = j["diverged"];
    const std::size_t epoch = d["epoch"], step = d["step"];
    const float lr = float(number_or_nan(d["lr"]));
    // what() is "training diverged at epoch E, step S: REASON at lr LR": the reason back from it.
    std::ostringstream head, tail;
    head << "training diverged at epoch " << epoch << ", step " << step << ": ";
    tail << " at lr " << lr;
    const std::string what = d["what"];
    const std::string reason = what.substr(head.str().size(), what.size() - head.str().size() - tail.str().size());
    TrainingDiverged e(epoch, step, lr, float(number_or_nan(d["loss"])), number_or_nan(d["last_good_loss"]), reason);
    e.max_abs_logit = float(number_or_nan(d["max_abs_logit"]));
    e.nonfinite_logits = d["nonfinite_logits"];
    e.grad_norm = number_or_nan(d["grad_norm"]);
    for (const Json& layer : d["layer_grad_norms"]) e.layer_grad_norms.push_back({layer[0], number_or_nan(layer[1])});
    run.diverged = e;
  }
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
    confusions_.emplace_back(data->num_classes());
  }
}

const ConfusionMatrix& Sweep::confusion(std::size_t i) const {
  return mine(i) ? experiments_[i]->last_evaluation().confusion : confusions_[i];
}

void Sweep::exchange_records() {
  if (!comm_ || comm_->size() == 1) return;
  Json mine_json = Json::object();
  for (std::size_t i = 0; i < runs_.size(); ++i)
    if (mine(i)) mine_json[std::to_string(i)] = run_json(runs_[i], confusion(i));
  for (const std::string& text : comm_->all_gather(mine_json.dump())) {
    const Json theirs = Json::parse(text);
    for (const auto& [key, run] : theirs.items()) {
      const std::size_t i = std::stoul(key);
      if (!mine(i)) read_run_json(run, runs_[i], confusions_[i]);
    }
  }
}

bool Sweep::run_epoch(std::size_t epoch, int jobs, const SweepProgressFn& progress) {
  std::vector<std::size_t> active;
  bool any = false;  // on any rank: every rank has every run's records
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    any = any || runs_[i].finished();
    if (runs_[i].finished() && mine(i)) active.push_back(i);
  }
  if (!any) return false;
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
  exchange_records();
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
