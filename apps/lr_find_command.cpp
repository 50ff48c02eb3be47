#include "apps/lr_find_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <omp.h>

#include "apps/experiment.hpp"
#include "apps/report.hpp"
#include "core/error.hpp"
#include "losses/softmax_cross_entropy.hpp"

namespace xg {

void validate_lr_find_settings(const LrFindSettings& s) {
  auto fail = [](const std::string& message) { throw InputError(message); };
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

LrFindResult lr_range_test(Module& model, Optimizer& optimizer, DataLoader& loader, const LrFindSettings& s) {
  validate_lr_find_settings(s);
  std::vector<Tensor> parameters = model.parameters();
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
    if (batch == loader.num_batches()) loader.start_epoch(++epoch), batch = 0;
    const double lr = s.start * std::pow(s.end / s.start, double(i) / double(s.steps - 1));
    optimizer.set_lr(float(lr));
    loader.batch(batch++, input.value(), y);
    optimizer.zero_grad();
    Tensor logits = model(input);
    Tensor loss = softmax_cross_entropy(logits, y);
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
    optimizer.step();
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

std::string format_lr_chart(const LrFindResult& r, const LrFindSettings& s, int width, int height) {
  const double x0 = std::log10(s.start), x1 = std::log10(s.end);
  double y0 = *std::min_element(r.smoothed.begin(), r.smoothed.end());
  // The top a little above the starting loss: the descent gets the rows, the
  // explosion leaves through the top edge.
  double y1 = std::min(*std::max_element(r.smoothed.begin(), r.smoothed.end()),
                       std::max(1.25 * r.smoothed.front(), 1.1 * y0));
  if (y1 <= y0) y1 = y0 + 1e-3;
  std::vector<std::string> grid(std::size_t(height), std::string(std::size_t(width), ' '));
  auto column = [&](double lr) {
    return std::clamp(int(std::lround((std::log10(lr) - x0) / (x1 - x0) * (width - 1))), 0, width - 1);
  };
  for (std::size_t i = 0; i < r.smoothed.size(); ++i) {
    const double t = (std::min(r.smoothed[i], y1) - y0) / (y1 - y0);
    const int row = height - 1 - int(std::lround(t * (height - 1)));
    grid[std::size_t(row)][std::size_t(column(r.lrs[i]))] = '*';
  }
  std::string out = "smoothed loss\n";
  char label[32];
  for (int row = 0; row < height; ++row) {
    label[0] = 0;
    if (row == 0) std::snprintf(label, sizeof label, "%.3g", y1);
    if (row == height - 1) std::snprintf(label, sizeof label, "%.3g", y0);
    if (row == height / 2) std::snprintf(label, sizeof label, "%.3g", (y0 + y1) / 2);
    char prefix[48];
    std::snprintf(prefix, sizeof prefix, "%9s |", label);
    out += prefix + grid[std::size_t(row)] + "\n";
  }
  out += "          +" + std::string(std::size_t(width), '-') + "\n";
  std::string marks(std::size_t(width), ' ');
  marks[std::size_t(column(r.lrs[r.steep]))] = 'S';
  marks[std::size_t(column(r.lrs[r.valley]))] = r.steep == r.valley ? '*' : 'V';
  std::string ticks(std::size_t(width) + 16, ' ');
  for (int k = int(std::ceil(x0)); k <= int(std::floor(x1)); ++k) {
    const std::string t = "1e" + std::to_string(k);
    const std::size_t at = std::size_t(11 + column(std::pow(10.0, k)));
    for (std::size_t c = 0; c < t.size() && at + c < ticks.size(); ++c) ticks[at + c] = t[c];
  }
  while (!ticks.empty() && ticks.back() == ' ') ticks.pop_back();
  out += "           " + marks + "\n" + ticks + "\n";
  out += "           learning rate (log scale); S: steepest descent, V: valley\n";
  return out;
}

CLI::App* add_lr_find_command(CLI::App& app, LrFindOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "lr-find", "LR range test: raise the learning rate step by step, watch the loss, suggest a rate");
  add_training_flags(cmd, o.train);
  // The range replaces the single rate, and the test is counted in steps, not epochs.
  for (const char* flag : {"--lr", "--epochs", "--schedule"}) cmd->remove_option(cmd->get_option(flag));
  LrFindSettings& s = o.settings;
  cmd->add_option("--start", s.start, "Learning rate of the first step")->capture_default_str();
  cmd->add_option("--end", s.end, "Learning rate of the last step")->capture_default_str();
  cmd->add_option("--steps", s.steps, "Mini-batches, the rate growing exponentially from --start to --end")
      ->capture_default_str();
  cmd->add_option("--smoothing", s.smoothing, "beta of the loss's exponential moving average")->capture_default_str();
  cmd->add_option("--stop-factor", s.stop_factor, "Stop once the smoothed loss exceeds this x its minimum")
      ->capture_default_str();
  return cmd;
}

namespace {

void write_lr_find_report(const LrFindOptions& o, const Experiment& run, const LrFindResult& r) {
  const LrFindSettings& s = o.settings;
  HtmlReport report("xgrad lr-find: " + run.data().name);
  char text[256];
  std::snprintf(text, sizeof text, "Suggested learning rates: %.3g (steepest descent), %.3g (valley).",
                r.lrs[r.steep], r.lrs[r.valley]);
  report.add_paragraph(text);
  report.add_paragraph(r.stopped_early ? "Stopped early: " + r.stop_reason + "." : "Reached the end of the range.",
                       "note");
  report.add_heading("Configuration");
  std::snprintf(text, sizeof text, "%.3g to %.3g over %zu steps, smoothing %g, stop at %gx the minimum", s.start,
                s.end, s.steps, s.smoothing, s.stop_factor);
  auto config = report_config(run, {{"range", text}});
  // The Experiment's train line names an lr and epochs that lr-find does not use.
  config.erase(std::remove_if(config.begin(), config.end(), [](const auto& kv) { return kv.first == "train"; }),
               config.end());
  std::snprintf(text, sizeof text, "momentum %g, batch %zu", o.train.momentum, o.train.batch);
  config.push_back({"optimizer", text});
  report.add_config(config);

  LineChart chart{"Loss against learning rate", "learning rate (log scale)", "training loss"};
  chart.x_log10 = true;
  ChartSeries raw("loss per step", 7), smooth("smoothed loss", 0);
  raw.dots = smooth.dots = false;
  for (std::size_t i = 0; i < r.lrs.size(); ++i) {
    raw.x.push_back(std::log10(r.lrs[i])), raw.y.push_back(r.losses[i]);
    smooth.x.push_back(std::log10(r.lrs[i])), smooth.y.push_back(r.smoothed[i]);
  }
  chart.series = {raw, smooth};
  std::snprintf(text, sizeof text, "steepest descent: %.3g", r.lrs[r.steep]);
  chart.marks.push_back({std::log10(r.lrs[r.steep]), NAN, text, 3});
  std::snprintf(text, sizeof text, "valley: %.3g", r.lrs[r.valley]);
  chart.marks.push_back({std::log10(r.lrs[r.valley]), NAN, text, 2});
  const double minimum = r.smoothed[r.minimum];
  // Room for the descent: the explosion leaves through the top edge.
  chart.y_top = std::max(1.6 * r.smoothed.front(), 1.2 * minimum);
  chart.x_min = std::log10(s.start), chart.x_max = std::log10(s.end);
  report.add_heading("The range test");
  report.add_chart(chart);

  std::string csv = "step,lr,loss,smoothed_loss\n";
  for (std::size_t i = 0; i < r.lrs.size(); ++i)
    csv += std::to_string(i + 1) + "," + csv_number(r.lrs[i]) + "," + csv_number(r.losses[i]) + "," +
           csv_number(r.smoothed[i]) + "\n";
  write_report(o.train.report, report, csv);
}

}  // namespace

int run_lr_find(const LrFindOptions& o) {
  validate_lr_find_settings(o.settings);
  validate_train_options(o.train);
  const int threads = o.train.threads > 0 ? o.train.threads : omp_get_num_procs();
  omp_set_num_threads(threads);
  if (!o.train.report.empty()) prepare_report_directory(o.train.report);
  Experiment run(o.train, load_training_data(o.train));
  const LrFindSettings& s = o.settings;
  std::string summary = run.describe();
  summary = summary.substr(0, summary.rfind('\n'));
  std::printf("%s\nlr-find  %zu steps, lr from %g to %g (x%.4g per step), momentum %g, batch %zu, seed %llu\n"
              "         loss smoothed with beta %g; stops when it exceeds %gx its minimum\n",
              summary.c_str(), s.steps, s.start, s.end, std::pow(s.end / s.start, 1.0 / double(s.steps - 1)),
              o.train.momentum, o.train.batch, (unsigned long long)o.train.seed, s.smoothing, s.stop_factor);
  std::fflush(stdout);

  DataLoader loader(run.data().train, o.train.batch, /*shuffle=*/true, o.train.seed, run.normalization());
  const LrFindResult r = lr_range_test(run.model(), run.optimizer(), loader, s);

  std::printf("%s\n", format_lr_chart(r, s).c_str());
  if (r.stopped_early)
    std::printf("stopped early after %zu of %zu steps: %s\n", r.steps_taken, s.steps, r.stop_reason.c_str());
  else
    std::printf("ran all %zu steps without the loss exploding; a larger --end may show where it does\n", s.steps);
  std::printf("lowest smoothed loss %.4f at lr %.3g\n", r.smoothed[r.minimum], r.lrs[r.minimum]);
  std::printf("suggested learning rates:\n");
  std::printf("  steepest descent  %.3g   (the smoothed loss falls fastest here)\n", r.lrs[r.steep]);
  std::printf("  valley            %.3g   (fast.ai's rule: a third of the way into the longest fall; more cautious)\n",
              r.lrs[r.valley]);
  std::printf("the weights were restored; try `xgrad train --lr %.3g` with the same other flags, or compare both\n"
              "with `xgrad sweep --lr %.3g,%.3g`\n",
              r.lrs[r.steep], r.lrs[r.valley], r.lrs[r.steep]);
  if (!o.train.report.empty()) write_lr_find_report(o, run, r);
  return 0;
}

}  // namespace xg
