#include "report/html.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "io/atomic_file.hpp"
#include "io/number_text.hpp"
#include "core/error.hpp"

namespace xg {

namespace {

// Tableau 10: distinguishable, and readable on white.
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char* color_of(int index) { return kPalette[std::size_t(index < 0 ? 0 : index) % 10]; }

std::string px(double v) { return format_fixed(v, 1); }

// A tick label: short, without trailing zeros ("0.5", "1200", "1e-05").
std::string tick_label(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  return format_number(v, 4);
}

// Round steps of 1, 2 or 5 x 10^k giving about `count` ticks over [lo, hi].
std::vector<double> linear_ticks(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

struct Axis {
  double lo, hi;  // data range (log10 of it for a log axis)
  bool log;
  double a0, a1;  // pixel range
  double map(double v) const {
    const double t = log ? std::log10(v) : v;
    return a0 + (t - lo) / (hi - lo) * (a1 - a0);
  }
};

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string csv_number(double value) { return std::isfinite(value) ? format_number(value, 9) : ""; }

namespace {

// Where a line chart draws: the plot area, the legend to its right, and the
// axes that map data values onto them.
struct ChartGeometry {
  double left = 78, top = 44, plot_w = 600, plot_h = 330;
  double legend_w = 0, width = 0, height = 0;
  Axis xa{}, ya{};
};

const char* series_color(const ChartSeries& s, std::size_t index) { return color_of(s.color >= 0 ? s.color : int(index)); }
std::string mark_color(const ChartMark& m) { return m.color >= 0 ? color_of(m.color) : "#333333"; }

// Both axes over the finite (and, for a log axis, positive) points, the marks and the chart's fixed limits.
void fit_chart_axes(const LineChart& c, ChartGeometry& g) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : c.series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i]) || (c.log_y && s.y[i] <= 0)) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  for (const auto& m : c.marks) x0 = std::min(x0, m.x), x1 = std::max(x1, m.x);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (std::isfinite(c.x_min)) x0 = c.x_min;
  if (std::isfinite(c.x_max)) x1 = c.x_max;
  if (!std::isfinite(y0)) y0 = c.log_y ? 0.1 : 0, y1 = 1;
  if (std::isfinite(c.y_top) && y1 > c.y_top) y1 = std::max(c.y_top, y0 * 1.01 + 1e-12);
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + (c.log_y ? y0 : 1.0);
  g.xa = Axis{x0, x1, false, g.left, g.left + g.plot_w};
  g.ya = Axis{0, 0, c.log_y, g.top + g.plot_h, g.top};
  if (c.log_y) {
    g.ya.lo = std::log10(y0) - 0.04 * (std::log10(y1) - std::log10(y0));
    g.ya.hi = std::log10(y1) + 0.04 * (std::log10(y1) - std::log10(y0));
  } else {
    const double pad = 0.05 * (y1 - y0);
    g.ya.lo = (y0 >= 0 && y0 - pad < 0) ? 0 : y0 - pad;
    g.ya.hi = y1 + pad;
  }
}

ChartGeometry chart_geometry(const LineChart& c) {
  ChartGeometry g;
  // Legend to the right of the plot; its width fits the longest label.
  std::size_t longest = 0;
  for (const auto& s : c.series) longest = std::max(longest, s.label.size());
  for (const auto& m : c.marks) longest = std::max(longest, m.label.size());
  g.legend_w = std::min(320.0, 44.0 + 7.4 * double(longest));
  g.width = g.left + g.plot_w + 24 + g.legend_w, g.height = g.top + g.plot_h + 62;
  fit_chart_axes(c, g);
  return g;
}

// The <svg> element's opening, the title, the plot's clip path and its background.
std::string chart_frame(const LineChart& c, const ChartGeometry& g, int id) {
  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart line-chart\" viewBox=\"0 0 " + px(g.width) + " " +
       px(g.height) + "\" width=\"" + px(g.width) + "\" height=\"" + px(g.height) + "\" role=\"img\" aria-label=\"" +
       xml_escape(c.title) + "\">\n";
  o += "<title>" + xml_escape(c.title) + "</title>\n";
  o += "<text class=\"chart-title\" x=\"" + px(g.left) + "\" y=\"26\">" + xml_escape(c.title) + "</text>\n";
  o += "<defs><clipPath id=\"plot" + std::to_string(id) + "\"><rect x=\"" + px(g.left) + "\" y=\"" + px(g.top) +
       "\" width=\"" + px(g.plot_w) + "\" height=\"" + px(g.plot_h) + "\"/></clipPath></defs>\n";
  o += "<rect class=\"plot-area\" x=\"" + px(g.left) + "\" y=\"" + px(g.top) + "\" width=\"" + px(g.plot_w) +
       "\" height=\"" + px(g.plot_h) + "\"/>\n";
  return o;
}

// The y ticks as data values: 1, 2, 5 x 10^k on a log axis (linear steps over a narrow range).
std::vector<double> y_tick_values(const LineChart& c, const Axis& ya) {
  std::vector<double> yticks;
  if (c.log_y) {
    const int k0 = int(std::floor(ya.lo)), k1 = int(std::ceil(ya.hi));
    const bool sparse = k1 - k0 > 3;
    for (int k = k0; k <= k1; ++k)
      for (double m : sparse ? std::vector<double>{1} : std::vector<double>{1, 2, 5}) {
        const double v = m * std::pow(10.0, k);
        if (std::log10(v) >= ya.lo && std::log10(v) <= ya.hi) yticks.push_back(v);
      }
    if (yticks.size() < 2) {  // a narrow range: linear steps read better
      yticks.clear();
      for (double v : linear_ticks(std::pow(10.0, ya.lo), std::pow(10.0, ya.hi), 5))
        if (v > 0) yticks.push_back(v);
    }
  } else {
    yticks = linear_ticks(ya.lo, ya.hi, 6);
  }
  return yticks;
}

// The x ticks as data values: whole exponents for a log10 axis, whole numbers only for x_integer.
std::vector<double> x_tick_values(const LineChart& c, const Axis& xa) {
  std::vector<double> xticks;
  if (c.x_log10) {
    for (double k = std::ceil(xa.lo); k <= std::floor(xa.hi); k += 1) xticks.push_back(k);
  } else {
    xticks = linear_ticks(xa.lo, xa.hi, 8);
    if (c.x_integer) {
      std::vector<double> whole;
      for (double t : xticks)
        if (std::fabs(t - std::round(t)) < 1e-9) whole.push_back(std::round(t));
      xticks = whole;
    }
  }
  return xticks;
}

bool outside_plot_height(const ChartGeometry& g, double y) { return y < g.top - 0.5 || y > g.top + g.plot_h + 0.5; }

// Grid lines, tick labels and the two axis labels.
std::string chart_axes(const LineChart& c, const ChartGeometry& g) {
  const std::vector<double> yticks = y_tick_values(c, g.ya), xticks = x_tick_values(c, g.xa);
  std::string o = "<g class=\"grid\">";
  for (double v : yticks) {
    const double y = g.ya.map(v);
    if (outside_plot_height(g, y)) continue;
    o += "<line x1=\"" + px(g.left) + "\" y1=\"" + px(y) + "\" x2=\"" + px(g.left + g.plot_w) + "\" y2=\"" + px(y) + "\"/>";
  }
  for (double v : xticks) {
    const double x = g.xa.map(v);
    o += "<line x1=\"" + px(x) + "\" y1=\"" + px(g.top) + "\" x2=\"" + px(x) + "\" y2=\"" + px(g.top + g.plot_h) + "\"/>";
  }
  o += "</g>\n<g class=\"ticks\">";
  for (double v : yticks) {
    const double y = g.ya.map(v);
    if (outside_plot_height(g, y)) continue;
    o += "<text class=\"ytick\" x=\"" + px(g.left - 8) + "\" y=\"" + px(y + 4.5) + "\">" + tick_label(v) + "</text>";
  }
  for (double v : xticks) {
    const double x = g.xa.map(v);
    const std::string y = px(g.top + g.plot_h + 20);
    if (c.x_log10) {
      o += "<text class=\"xtick\" x=\"" + px(x) + "\" y=\"" + y + "\">10<tspan dy=\"-7\" font-size=\"11\">" +
           tick_label(v) + "</tspan></text>";
    } else {
      o += "<text class=\"xtick\" x=\"" + px(x) + "\" y=\"" + y + "\">" + tick_label(v) + "</text>";
    }
  }
  o += "</g>\n";
  o += "<text class=\"axis-label\" x=\"" + px(g.left + g.plot_w / 2) + "\" y=\"" + px(g.top + g.plot_h + 48) + "\">" +
       xml_escape(c.x_label) + "</text>\n";
  o += "<text class=\"axis-label\" transform=\"translate(20 " + px(g.top + g.plot_h / 2) + ") rotate(-90)\">" +
       xml_escape(c.y_label) + "</text>\n";
  return o;
}

// A value's pixel row; values beyond the top (or below a log axis) are drawn at the edge.
double curve_y_pixel(const ChartGeometry& g, double v) {
  double y = g.ya.map(g.ya.log ? std::max(v, std::pow(10.0, g.ya.lo)) : v);
  return std::clamp(y, g.top - 2.0, g.top + g.plot_h + 2.0);
}

// The curves, clipped to the plot, then their dots unclipped.
std::string chart_curves(const LineChart& c, const ChartGeometry& g, int id) {
  std::string o = "<g clip-path=\"url(#plot" + std::to_string(id) + ")\">\n";
  std::string all_dots;
  for (std::size_t si = 0; si < c.series.size(); ++si) {
    const ChartSeries& s = c.series[si];
    const char* color = series_color(s, si);
    std::string d;
    std::string dots;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || (c.log_y && s.y[i] <= 0)) continue;
      const double x = g.xa.map(s.x[i]), y = curve_y_pixel(g, s.y[i]);
      d += (d.empty() ? "M" : " L") + px(x) + " " + px(y);
      if (s.dots) dots += "<circle cx=\"" + px(x) + "\" cy=\"" + px(y) + "\" r=\"3.5\" fill=\"" + color + "\"/>";
    }
    if (d.empty()) d = "M" + px(g.left) + " " + px(g.top);  // no finite point: an empty path keeps the count right
    o += "<path class=\"curve" + (s.css_class.empty() ? "" : " " + xml_escape(s.css_class)) + "\" d=\"" + d +
         "\" stroke=\"" + color + "\"" + (s.dashed ? " stroke-dasharray=\"7 4\"" : "") + "><title>" +
         xml_escape(s.label) + "</title></path>\n";
    all_dots += dots;
  }
  o += "</g>\n" + all_dots + "\n";  // dots unclipped: a point on the plot's edge stays whole
  return o;
}

// Each mark: a cross at its point, or a vertical line across the plot when its y is NaN.
std::string chart_marks(const LineChart& c, const ChartGeometry& g) {
  std::string o;
  for (const ChartMark& m : c.marks) {
    const std::string color = mark_color(m);
    const double x = g.xa.map(m.x);
    if (std::isnan(m.y)) {
      o += "<line class=\"mark-line\" x1=\"" + px(x) + "\" y1=\"" + px(g.top) + "\" x2=\"" + px(x) + "\" y2=\"" +
           px(g.top + g.plot_h) + "\" stroke=\"" + color + "\"/>";
    } else {
      const double y = std::clamp(curve_y_pixel(g, m.y), g.top + 7, g.top + g.plot_h - 7);
      o += "<path class=\"mark-cross\" d=\"M" + px(x - 7) + " " + px(y - 7) + " L" + px(x + 7) + " " + px(y + 7) +
           " M" + px(x - 7) + " " + px(y + 7) + " L" + px(x + 7) + " " + px(y - 7) + "\" stroke=\"" + color +
           "\"><title>" + xml_escape(m.label) + "</title></path>";
    }
    o += "\n";
  }
  return o;
}

// Legend: one row per series, then one per mark.
std::string chart_legend(const LineChart& c, const ChartGeometry& g) {
  const double lx = g.left + g.plot_w + 24;
  double ly = g.top + 8;
  std::string o = "<g class=\"legend\">";
  for (std::size_t si = 0; si < c.series.size(); ++si) {
    const ChartSeries& s = c.series[si];
    const char* color = series_color(s, si);
    o += "<line x1=\"" + px(lx) + "\" y1=\"" + px(ly) + "\" x2=\"" + px(lx + 26) + "\" y2=\"" + px(ly) +
         "\" stroke=\"" + color + "\"" + (s.dashed ? " stroke-dasharray=\"7 4\"" : "") + "/>";
    o += "<text x=\"" + px(lx + 34) + "\" y=\"" + px(ly + 4.5) + "\">" + xml_escape(s.label) + "</text>";
    ly += 22;
  }
  for (const ChartMark& m : c.marks) {
    const std::string color = mark_color(m);
    if (std::isnan(m.y)) {
      o += "<line class=\"mark-line\" x1=\"" + px(lx + 13) + "\" y1=\"" + px(ly - 8) + "\" x2=\"" + px(lx + 13) +
           "\" y2=\"" + px(ly + 8) + "\" stroke=\"" + color + "\"/>";
    } else {
      o += "<path class=\"mark-cross\" d=\"M" + px(lx + 7) + " " + px(ly - 6) + " L" + px(lx + 19) + " " +
           px(ly + 6) + " M" + px(lx + 7) + " " + px(ly + 6) + " L" + px(lx + 19) + " " + px(ly - 6) + "\" stroke=\"" +
           color + "\"/>";
    }
    o += "<text x=\"" + px(lx + 34) + "\" y=\"" + px(ly + 4.5) + "\">" + xml_escape(m.label) + "</text>";
    ly += 22;
  }
  o += "</g>\n";
  return o;
}

}  // namespace

std::string render_line_chart(const LineChart& c) {
  static int chart_id = 0;  // unique clip-path ids within a page
  const int id = ++chart_id;
  const ChartGeometry g = chart_geometry(c);
  return chart_frame(c, g, id) + chart_axes(c, g) + chart_curves(c, g, id) + chart_marks(c, g) + chart_legend(c, g) +
         "</svg>";
}

namespace {

// A heatmap cell's colour: the diagonal goes white -> blue with its share of
// the row (the recall); an error cell white -> red, full already at 20% of the
// row. `strength` (0..1) is how far along.
struct CellColour {
  std::string fill;
  double strength = 0.0;
};
CellColour cell_colour(bool diagonal, double share) {
  CellColour c;
  c.strength = diagonal ? share : std::min(1.0, share * 5.0);
  const double s = c.strength;
  const int r = diagonal ? int(255 - s * (255 - 31)) : int(255 - s * (255 - 214));
  const int g = diagonal ? int(255 - s * (255 - 119)) : int(255 - s * (255 - 39));
  const int b = diagonal ? int(255 - s * (255 - 180)) : int(255 - s * (255 - 40));
  char fill[8];
  std::snprintf(fill, sizeof fill, "#%02x%02x%02x", r, g, b);
  c.fill = fill;
  return c;
}

// The two colour scales of the heatmap, one below the other from (x, y), each
// 10 steps over `width`: correct (the diagonal) 0..100% of the row, errors 0..20%+.
std::string heatmap_scales(double x, double y, double width) {
  std::string o = "<g class=\"colour-scale\">\n";
  const double step = width / 10.0;
  for (int bar = 0; bar < 2; ++bar) {
    const bool diagonal = bar == 0;
    const double top = y + 50.0 * bar;
    o += "<text class=\"scale-label\" x=\"" + px(x) + "\" y=\"" + px(top) + "\">" +
         (diagonal ? "correct: share of the true class's items" : "errors: share of the true class's items") + "</text>\n";
    for (int i = 0; i < 10; ++i) {
      const double share = diagonal ? (i + 0.5) / 10.0 : (i + 0.5) / 50.0;
      o += "<rect class=\"scale-step\" x=\"" + px(x + step * i) + "\" y=\"" + px(top + 6) + "\" width=\"" + px(step) +
           "\" height=\"12\" fill=\"" + cell_colour(diagonal, share).fill + "\"/>";
    }
    o += "<rect class=\"scale-frame\" x=\"" + px(x) + "\" y=\"" + px(top + 6) + "\" width=\"" + px(width) + "\" height=\"12\"/>\n";
    o += "<text class=\"scale-tick\" x=\"" + px(x) + "\" y=\"" + px(top + 32) + "\">0%</text>";
    o += "<text class=\"scale-tick\" x=\"" + px(x + width / 2) + "\" y=\"" + px(top + 32) + "\">" + (diagonal ? "50%" : "10%") + "</text>";
    o += "<text class=\"scale-tick\" x=\"" + px(x + width) + "\" y=\"" + px(top + 32) + "\">" + (diagonal ? "100%" : "20% or more") + "</text>\n";
  }
  return o + "</g>\n";
}

}  // namespace

std::string render_confusion_heatmap(const ConfusionMatrix& m, const std::vector<std::string>& names) {
  const std::size_t k = m.num_classes();
  const double cell = k <= 10 ? 46 : std::max(18.0, 460.0 / double(k));
  std::size_t longest = 0;
  for (const auto& n : names) longest = std::max(longest, n.size());
  const double label_w = 16 + 7.6 * double(std::min<std::size_t>(longest, 24));
  const double left = label_w + 30, top = 40 + 0.62 * label_w;  // room for the slanted column names
  // The last column's slanted name reaches about 0.77 of its length to the right.
  const double scale_width = std::max(cell * double(k), 200.0), scale_top = top + cell * double(k) + 62;
  const double width = std::max(left + cell * double(k) + 0.77 * label_w, left + scale_width + 50),
               height = scale_top + 50 + 40;
  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart heatmap\" viewBox=\"0 0 " + px(width) + " " +
       px(height) + "\" width=\"" + px(width) + "\" height=\"" + px(height) +
       "\" role=\"img\" aria-label=\"confusion matrix\">\n<title>Confusion matrix</title>\n";
  for (std::size_t c = 0; c < k; ++c) {  // predicted class names, slanted above the columns
    const double x = left + cell * (double(c) + 0.5), y = top - 8;
    o += "<text class=\"col-label\" transform=\"translate(" + px(x) + " " + px(y) + ") rotate(-40)\">" +
         xml_escape(names[c]) + "</text>\n";
  }
  o += "<text class=\"axis-label\" x=\"" + px(left + cell * double(k) / 2) + "\" y=\"" +
       px(top + cell * double(k) + 28) + "\">predicted class</text>\n";
  o += "<text class=\"axis-label\" transform=\"translate(16 " + px(top + cell * double(k) / 2) +
       ") rotate(-90)\">true class</text>\n";
  for (std::size_t t = 0; t < k; ++t) {
    std::size_t row = 0;
    for (std::size_t p = 0; p < k; ++p) row += m.count(t, p);
    const double y = top + cell * double(t);
    o += "<text class=\"row-label\" x=\"" + px(left - 8) + "\" y=\"" + px(y + cell / 2 + 4.5) + "\">" +
         xml_escape(names[t]) + "</text>\n";
    for (std::size_t p = 0; p < k; ++p) {
      const std::size_t n = m.count(t, p);
      const double share = row ? double(n) / double(row) : 0.0;
      const CellColour colour = cell_colour(t == p, share);
      const std::string& fill = colour.fill;
      const double s = colour.strength;
      const double x = left + cell * double(p);
      o += "<rect class=\"cell\" x=\"" + px(x) + "\" y=\"" + px(y) + "\" width=\"" + px(cell) + "\" height=\"" +
           px(cell) + "\" fill=\"" + fill + "\"><title>true " + xml_escape(names[t]) + ", predicted " +
           xml_escape(names[p]) + ": " + std::to_string(n) + " (" + format_fixed(100 * share, 1) + "% of the row)" +
           "</title></rect>";
      if (cell >= 26) {
        o += "<text class=\"count" + std::string(s > 0.55 ? " on-dark" : "") + "\" x=\"" + px(x + cell / 2) +
             "\" y=\"" + px(y + cell / 2 + 4.5) + "\">" + std::to_string(n) + "</text>";
      }
      o += "\n";
    }
  }
  o += heatmap_scales(left, scale_top, scale_width);
  o += "</svg>";
  return o;
}

HtmlReport::HtmlReport(std::string title) : title_(std::move(title)) {}

void HtmlReport::add_heading(const std::string& text) { body_ += "<h2>" + xml_escape(text) + "</h2>\n"; }

void HtmlReport::add_paragraph(const std::string& text, const std::string& css_class) {
  body_ += (css_class.empty() ? "<p>" : "<p class=\"" + xml_escape(css_class) + "\">") + xml_escape(text) + "</p>\n";
}

void HtmlReport::add_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                           const std::string& css_class) {
  auto cell = [](const char* tag, const std::string& text) {
    if (!text.empty() && text[0] == '\x01')
      return std::string("<") + tag + " class=\"num\">" + xml_escape(text.substr(1)) + "</" + tag + ">";
    return std::string("<") + tag + ">" + xml_escape(text) + "</" + tag + ">";
  };
  body_ += "<table" + (css_class.empty() ? std::string() : " class=\"" + xml_escape(css_class) + "\"") + ">\n<thead><tr>";
  for (const auto& h : header) body_ += cell("th", h);
  body_ += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (const auto& c : row) body_ += cell("td", c);
    body_ += "</tr>\n";
  }
  body_ += "</tbody>\n</table>\n";
}

void HtmlReport::add_config(const std::vector<std::pair<std::string, std::string>>& items) {
  body_ += "<dl class=\"config\">\n";
  for (const auto& [key, value] : items)
    body_ += "<dt>" + xml_escape(key) + "</dt><dd>" + xml_escape(value) + "</dd>\n";
  body_ += "</dl>\n";
}

void HtmlReport::add_confusion_matrix(const ConfusionMatrix& m, const std::vector<std::string>& names) {
  body_ += "<div class=\"side-by-side\"><figure>" + render_confusion_heatmap(m, names) + "</figure>\n<div>";
  std::vector<std::vector<std::string>> rows;
  for (std::size_t c = 0; c < m.num_classes(); ++c) {
    std::size_t support = 0;
    for (std::size_t p = 0; p < m.num_classes(); ++p) support += m.count(c, p);
    rows.push_back({names[c], "\x01" + format_fixed(m.precision(c), 4), "\x01" + format_fixed(m.recall(c), 4),
                    "\x01" + format_fixed(m.f1(c), 4), "\x01" + std::to_string(support)});
  }
  // The rows of sklearn's classification_report, in its order.
  rows.push_back({"accuracy", "", "", "\x01" + format_fixed(m.accuracy(), 4), "\x01" + std::to_string(m.total())});
  rows.push_back({"macro average", "\x01" + format_fixed(m.macro_precision(), 4), "\x01" + format_fixed(m.macro_recall(), 4),
                  "\x01" + format_fixed(m.macro_f1(), 4), "\x01" + std::to_string(m.total())});
  rows.push_back({"weighted average", "\x01" + format_fixed(m.weighted_precision(), 4),
                  "\x01" + format_fixed(m.weighted_recall(), 4), "\x01" + format_fixed(m.weighted_f1(), 4),
                  "\x01" + std::to_string(m.total())});
  add_table({"class", "precision", "recall", "F1", "support"}, rows, "per-class");
  body_ += "</div></div>\n";
}

std::string HtmlReport::html() const {
  // No '<' or '&' in the CSS, so the page stays well-formed XML.
  static const char* const kStyle = R"(
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #222; margin: 24px 32px; max-width: 1240px; }
h1 { font-size: 24px; margin: 0 0 4px 0; }
h2 { font-size: 19px; margin: 28px 0 8px 0; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
p { font-size: 14px; line-height: 1.45; }
p.warning { color: #a40000; font-weight: bold; }
p.note { color: #555; }
figure { margin: 8px 0; }
dl.config { display: grid; grid-template-columns: max-content auto; gap: 3px 18px; font-size: 14px; }
dl.config dt { font-weight: bold; }
dl.config dd { margin: 0; font-family: "DejaVu Sans Mono", monospace; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f2f2f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; font-family: "DejaVu Sans Mono", monospace; }
tr.best td { background: #e8f4e8; font-weight: bold; }
.side-by-side { display: grid; grid-template-columns: max-content max-content; gap: 24px; align-items: start; }
.side-by-side > * { margin: 0; }
svg.chart { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; max-width: 100%; height: auto; }
svg .chart-title { font-size: 17px; font-weight: bold; fill: #222; }
svg .plot-area { fill: #ffffff; stroke: #444; stroke-width: 1; }
svg .grid line { stroke: #e2e2e2; stroke-width: 1; }
svg .ytick { font-size: 13px; text-anchor: end; fill: #333; }
svg .xtick { font-size: 13px; text-anchor: middle; fill: #333; }
svg .axis-label { font-size: 15px; text-anchor: middle; fill: #222; }
svg .curve { fill: none; stroke-width: 2.2; stroke-linejoin: round; }
svg .mark-line { stroke-width: 2; stroke-dasharray: 5 4; }
svg .mark-cross { fill: none; stroke-width: 3; }
svg .legend text { font-size: 13px; fill: #222; }
svg .legend line { stroke-width: 3; }
svg .cell { stroke: #ffffff; stroke-width: 1; }
svg .count { font-size: 13px; text-anchor: middle; fill: #222; }
svg .count.on-dark { fill: #ffffff; }
svg .row-label { font-size: 13px; text-anchor: end; fill: #222; }
svg .col-label { font-size: 13px; text-anchor: start; fill: #222; }
svg .scale-label { font-size: 12px; fill: #222; }
svg .scale-tick { font-size: 11px; text-anchor: middle; fill: #333; }
svg .scale-frame { fill: none; stroke: #999; stroke-width: 1; }
)";
  return "<!DOCTYPE html>\n"
         "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
         "<meta name=\"generator\" content=\"xgrad\"/>\n<title>" +
         xml_escape(title_) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" + xml_escape(title_) +
         "</h1>\n" + body_ + "</body>\n</html>\n";
}

void prepare_report_directory(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error || !std::filesystem::is_directory(dir))
    throw InputError("--report " + dir + ": cannot create the directory" +
                     (error ? " (" + error.message() + ")" : std::string(" (a file has that name)")));
  check_writable(dir + "/report.html");
}

void write_report(const std::string& dir, const HtmlReport& report, const std::string& metrics_csv) {
  prepare_report_directory(dir);
  write_file_atomically(dir + "/report.html", report.html());
  write_file_atomically(dir + "/metrics.csv", metrics_csv);
}

}  // namespace xg
