#include "report/lr_find_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/html.hpp"

namespace xg {

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
  bool clipped = false;
  for (std::size_t i = 0; i < r.smoothed.size(); ++i) {
    const double t = (std::min(r.smoothed[i], y1) - y0) / (y1 - y0);
    const int row = height - 1 - int(std::lround(t * (height - 1)));
    const bool above = r.smoothed[i] > y1;  // beyond the top: '^'
    clipped = clipped || above;
    char& cell = grid[std::size_t(row)][std::size_t(column(r.lrs[i]))];
    cell = above && cell != '*' ? '^' : '*';
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
  if (clipped) {
    const double top_smoothed = *std::max_element(r.smoothed.begin(), r.smoothed.end());
    const double top_raw = *std::max_element(r.losses.begin(), r.losses.end());
    char note[200];
    std::snprintf(note, sizeof note,
                  "           ^: clipped at %.3g; the smoothed loss rose to %.4g (the loss of one step to %.4g)\n", y1,
                  top_smoothed, top_raw);
    out += note;
  }
  return out;
}

void write_lr_find_report(const std::string& dir, const LrFindReport& run) {
  const LrFindSettings& s = run.settings;
  const LrFindResult& r = run.result;
  HtmlReport report("xgrad lr-find: " + run.data_name);
  char text[256];
  std::snprintf(text, sizeof text, "Suggested learning rates: %.3g (steepest descent), %.3g (valley).",
                r.lrs[r.steep], r.lrs[r.valley]);
  report.add_paragraph(text);
  report.add_paragraph(r.stopped_early ? "Stopped early: " + r.stop_reason + "." : "Reached the end of the range.",
                       "note");
  report.add_heading("Configuration");
  std::snprintf(text, sizeof text, "%.3g to %.3g over %zu steps, smoothing %g, stop at %gx the minimum", s.start,
                s.end, s.steps, s.smoothing, s.stop_factor);
  auto config = run.config;
  config.push_back({"range", text});
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
  const double top_raw = *std::max_element(r.losses.begin(), r.losses.end());
  if (top_raw > chart.y_top) {
    std::snprintf(text, sizeof text, "The chart is clipped at a loss of %.3g; the loss of one step rose to %.4g.",
                  chart.y_top, top_raw);
    report.add_paragraph(text, "note");
  }

  std::string csv = "step,lr,loss,smoothed_loss\n";
  for (std::size_t i = 0; i < r.lrs.size(); ++i)
    csv += std::to_string(i + 1) + "," + csv_number(r.lrs[i]) + "," + csv_number(r.losses[i]) + "," +
           csv_number(r.smoothed[i]) + "\n";
  write_report(dir, report, csv);
}

}  // namespace xg
