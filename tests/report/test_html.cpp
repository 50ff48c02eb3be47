// The report writer: escaping, one SVG per chart, one path per series, K*K
// heatmap cells. (tests/report/check_report.py parses whole pages as XML.)
#include <doctest/doctest.h>

#include "report/html.hpp"

using namespace xg;

namespace {
std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
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
  ConfusionMatrix m(10);
  for (std::size_t t = 0; t < 10; ++t)
    for (std::size_t p = 0; p < 10; ++p)
      for (std::size_t n = 0; n < (t == p ? 20 : (t + p) % 3); ++n) m.add(t, p);
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back("class <" + std::to_string(i) + ">");
  const std::string svg = render_confusion_heatmap(m, names);
  CHECK(occurrences(svg, "<rect class=\"cell\"") == 100);
  CHECK(occurrences(svg, "class=\"count") == 100);
  CHECK(svg.find("class &lt;3&gt;") != std::string::npos);

  HtmlReport report("test & report");
  report.add_confusion_matrix(m, names);
  const std::string html = report.html();
  CHECK(occurrences(html, "<svg") == 1);
  CHECK(html.find("<title>test &amp; report</title>") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("macro average") != std::string::npos);
}

TEST_CASE("report: csv_number leaves non-finite values empty for pandas") {
  CHECK(csv_number(0.5) == "0.5");
  CHECK(csv_number(NAN).empty());
  CHECK(csv_number(INFINITY).empty());
}
