#pragma once
// Reports people can look at: one self-contained HTML file (inline SVG charts
// and CSS, no JavaScript, no external files) plus a pandas-friendly CSV.
//
// The page is also well-formed XML (XHTML syntax: every element closed, only
// the five XML entities), so `xml.etree` or any XML parser can read it, and
// each chart is one <svg> element:
//   line charts:   <svg class="chart line-chart">, one <path class="curve …">
//                  per series, inside the plot's clip path
//   confusion:     <svg class="chart heatmap">, one <rect class="cell"> per
//                  (true, predicted) pair with its count as text
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "metrics/confusion_matrix.hpp"

namespace xg {

// Escapes &, <, >, " and ' for text and attribute values.
std::string xml_escape(const std::string& text);

struct ChartSeries {
  explicit ChartSeries(std::string label_, int color_ = -1) : label(std::move(label_)), color(color_) {}
  std::string label;           // legend text
  std::vector<double> x, y;    // the same length; points with a non-finite y are skipped
  std::string css_class;       // extra class on the path, e.g. "lr-curve"
  bool dashed = false;
  bool dots = true;            // a dot on every point (off for long per-step curves)
  int color = -1;              // palette index; -1: the series' position
};

// A labelled mark: a cross at (x, y) (divergence), or, when y is NaN, a
// vertical line across the plot at x (a suggested learning rate).
struct ChartMark {
  double x = 0.0, y = std::nan("");
  std::string label;  // shown in the legend (and beside a vertical line)
  int color = -1;     // palette index; -1: dark grey
};

struct LineChart {
  LineChart(std::string title_, std::string x_label_, std::string y_label_)
      : title(std::move(title_)), x_label(std::move(x_label_)), y_label(std::move(y_label_)) {}
  std::string title, x_label, y_label;
  std::vector<ChartSeries> series;
  std::vector<ChartMark> marks;
  bool log_y = false;          // logarithmic y axis (values must be > 0)
  bool x_log10 = false;        // x holds log10 of a quantity: ticks read 10^k
  bool x_integer = false;      // only integer x ticks (epochs)
  double y_top = std::nan(""); // clip the y range here (points above are drawn at the edge)
  double x_min = std::nan(""), x_max = std::nan("");  // a fixed x range (default: the data's)
};

std::string render_line_chart(const LineChart& chart);

// K x K heatmap: rows true class, columns predicted; the diagonal in blue, the
// errors in orange-red, each shaded by its share of the row, with the count;
// below it the two colour scales (<rect class="scale-step">, 10 per scale).
std::string render_confusion_heatmap(const ConfusionMatrix& matrix, const std::vector<std::string>& names);

class HtmlReport {
 public:
  explicit HtmlReport(std::string title);
  void add_heading(const std::string& text);
  void add_paragraph(const std::string& text, const std::string& css_class = "");
  // Cells are plain text (escaped); a cell starting with '\x01' is right-aligned (numbers).
  void add_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                 const std::string& css_class = "");
  // Key/value pairs of the run's configuration.
  void add_config(const std::vector<std::pair<std::string, std::string>>& items);
  void add_chart(const LineChart& chart) { body_ += "<figure>" + render_line_chart(chart) + "</figure>\n"; }
  // The heatmap beside per-class precision, recall, F1 and support.
  void add_confusion_matrix(const ConfusionMatrix& matrix, const std::vector<std::string>& names);
  std::string html() const;

 private:
  std::string title_, body_;
};

// Writes DIR/report.html and DIR/metrics.csv (each atomically), creating DIR
// if needed. Throws InputError naming DIR when it cannot.
void write_report(const std::string& dir, const HtmlReport& report, const std::string& metrics_csv);

// Creates DIR (and its parents) before a long run, so a bad --report path
// fails at once; throws InputError naming DIR.
void prepare_report_directory(const std::string& dir);

// A CSV number: %.9g, or an empty field when not finite (pandas reads it as NaN).
std::string csv_number(double value);

}  // namespace xg
