// report/html: escaping, one SVG per chart, one path per series, K*K
// heatmap cells, each in its (true row, predicted column) with that pair's count.
// (tests/report/check_report.py parses whole pages as XML.)
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "io/number_text.hpp"
#include "report/html.hpp"
#include "tests/support/text_compare.hpp"

using namespace xg;
using xg::testing::occurrences;

namespace {

// Every element of `text` that starts with `start`, up to its closing tag: "<text class=\"a\" x=\"1\">b</text>".
std::vector<std::string> elements(const std::string& text, const std::string& start) {
  const std::string close = "</" + start.substr(1, start.find(' ') - 1) + ">";
  std::vector<std::string> found;
  for (std::size_t at = text.find(start); at != std::string::npos; at = text.find(start, at + 1)) {
    const std::size_t end = text.find(close, at);
    REQUIRE(end != std::string::npos);
    found.push_back(text.substr(at, end + close.size() - at));
  }
  return found;
}

// The value of attribute `name` in the element's start tag ("" if it has none).
std::string attribute(const std::string& element, const std::string& name) {
  const std::string tag = element.substr(0, element.find('>'));
  const std::size_t at = tag.find(" " + name + "=\"");
  if (at == std::string::npos) return "";
  const std::size_t begin = at + name.size() + 3;
  return tag.substr(begin, tag.find('"', begin) - begin);
}

// The first text inside the element, past any opening tags: "<rect ...><title>T</title></rect>" gives T.
std::string text_of(const std::string& element) {
  std::size_t begin = element.find('>') + 1;
  while (begin < element.size() && element[begin] == '<' && element[begin + 1] != '/') begin = element.find('>', begin) + 1;
  return element.substr(begin, element.find('<', begin) - begin);
}
}  // namespace

TEST_CASE("report: xml_escape handles the five XML specials") {
  CHECK(xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
  CHECK(xml_escape("plain") == "plain");
}

TEST_CASE("report: a line chart has one curve per series, marks, and escaped labels") {
  LineChart chart("Loss <per> epoch", "epoch", "loss & more");
  for (int i = 0; i < 3; ++i) {
    ChartSeries s("lr " + std::to_string(i), i);
    s.css_class = "lr-curve";
    s.x = {1, 2, 3};
    s.y = {2.0 - i * 0.1, 1.0, i == 2 ? NAN : 0.5};  // a non-finite point is skipped
    chart.series.push_back(s);
  }
  chart.marks.push_back({2.5, 1e9, "diverged", 2});  // beyond the top: drawn at the edge
  chart.marks.push_back({1.5, NAN, "suggestion", 1});
  const std::string svg = render_line_chart(chart);
  CHECK(occurrences(svg, "<svg") == 1);
  CHECK(occurrences(svg, "class=\"curve lr-curve\"") == 3);
  CHECK(occurrences(svg, "class=\"mark-cross\"") == 2);  // on the plot and in the legend
  CHECK(occurrences(svg, "class=\"mark-line\"") == 2);
  CHECK(svg.find("Loss &lt;per&gt; epoch") != std::string::npos);
  CHECK(svg.find("loss &amp; more") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
}

TEST_CASE("report: the heatmap has K*K cells with their counts, and the page holds it once") {
  // An asymmetric matrix (count(t, p) != count(p, t) for most pairs), so a transposed heatmap shows.
  ConfusionMatrix m(10);
  for (std::size_t t = 0; t < 10; ++t)
    for (std::size_t p = 0; p < 10; ++p)
      for (std::size_t n = 0; n < (t == p ? 20 + t : (2 * t + p) % 5); ++n) m.add(t, p);
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back("class <" + std::to_string(i) + ">");
  const std::string svg = render_confusion_heatmap(m, names);
  CHECK(occurrences(svg, "<rect class=\"cell\"") == 100);
  CHECK(occurrences(svg, "class=\"count") == 100);
  CHECK(svg.find("class &lt;3&gt;") != std::string::npos);

  // Where the rows and columns are: each row label's baseline y, each (slanted) column label's x.
  const std::vector<std::string> rows = elements(svg, "<text class=\"row-label\""),
                                  columns = elements(svg, "<text class=\"col-label\"");
  REQUIRE(rows.size() == 10);
  REQUIRE(columns.size() == 10);
  std::vector<double> row_y, column_x;
  for (std::size_t i = 0; i < 10; ++i) {
    CHECK(text_of(rows[i]) == xml_escape(names[i]));
    CHECK(text_of(columns[i]) == xml_escape(names[i]));
    row_y.push_back(std::stod(attribute(rows[i], "y")));
    const std::string translate = attribute(columns[i], "transform");  // "translate(x y) rotate(-40)"
    REQUIRE(translate.rfind("translate(", 0) == 0);
    column_x.push_back(std::stod(translate.substr(10)));
  }
  // Every cell sits in the row of its true class and the column of its predicted class, and
  // shows that pair's count: in its tooltip and as the number drawn inside it.
  std::vector<std::vector<int>> seen(10, std::vector<int>(10, 0));
  for (std::size_t at = svg.find("<rect class=\"cell\""); at != std::string::npos;
       at = svg.find("<rect class=\"cell\"", at + 1)) {
    const std::string rect = svg.substr(at, svg.find("</rect>", at) + 7 - at);
    const double x = std::stod(attribute(rect, "x")), y = std::stod(attribute(rect, "y"));
    const double w = std::stod(attribute(rect, "width")), h = std::stod(attribute(rect, "height"));
    std::size_t t = 10, p = 10;
    for (std::size_t i = 0; i < 10; ++i) {
      if (row_y[i] > y && row_y[i] < y + h) t = i;
      if (column_x[i] > x && column_x[i] < x + w) p = i;
    }
    INFO("cell at x " << x << ", y " << y);
    REQUIRE(t < 10);
    REQUIRE(p < 10);
    ++seen[t][p];
    const std::string n = std::to_string(m.count(t, p));
    std::size_t row_total = 0;
    for (std::size_t c = 0; c < 10; ++c) row_total += m.count(t, c);
    char share[32];
    std::snprintf(share, sizeof share, " (%.1f%% of the row)", 100.0 * double(m.count(t, p)) / double(row_total));
    CHECK(text_of(rect) == "true " + xml_escape(names[t]) + ", predicted " + xml_escape(names[p]) + ": " + n + share);
    const std::size_t after = at + rect.size();  // the count's <text> follows its cell
    const std::string count = svg.substr(after, svg.find("</text>", after) + 7 - after);
    REQUIRE(count.rfind("<text class=\"count", 0) == 0);
    CHECK(text_of(count) == n);
    const double count_x = std::stod(attribute(count, "x")), count_y = std::stod(attribute(count, "y"));
    CHECK((count_x > x && count_x < x + w && count_y > y && count_y < y + h));
  }
  for (std::size_t t = 0; t < 10; ++t)
    for (std::size_t p = 0; p < 10; ++p) CHECK(seen[t][p] == 1);

  HtmlReport report("test & report");
  report.add_confusion_matrix(m, names);
  const std::string html = report.html();
  CHECK(occurrences(html, "<svg") == 1);
  CHECK(html.find("<title>test &amp; report</title>") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("macro average") != std::string::npos);
  CHECK(html.find("<td>weighted average</td><td class=\"num\">" + format_fixed(m.weighted_precision(), 4) + "</td>") !=
        std::string::npos);
  // The colour scale under the matrix: 10 steps for the correct cells (white to blue), 10 for the errors.
  CHECK(occurrences(svg, "<rect class=\"scale-step\"") == 20);
  CHECK(svg.find(">correct: share of the true class's items</text>") != std::string::npos);
  CHECK(svg.find(">errors: share of the true class's items</text>") != std::string::npos);
  CHECK(svg.find(">20% or more</text>") != std::string::npos);
  CHECK(svg.find(">100%</text>") != std::string::npos);
}

TEST_CASE("report: csv_number leaves non-finite values empty for pandas") {
  CHECK(csv_number(0.5) == "0.5");
  CHECK(csv_number(NAN).empty());
  CHECK(csv_number(INFINITY).empty());
}
