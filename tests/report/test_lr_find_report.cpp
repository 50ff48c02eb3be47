// report/lr_find_report: the terminal chart of the range test (the curve, the
// S and V marks under their rates, the decade ticks) and the page and
// metrics.csv of `xgrad lr-find --report DIR`.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "report/lr_find_report.hpp"
#include "tests/support/files.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

// 41 rates from 1e-4 to 1 (ten per decade), a loss falling to a minimum near 1e-2, then rising.
LrFindResult curve() {
  LrFindResult r;
  for (int i = 0; i <= 40; ++i) {
    const double lr = std::pow(10.0, -4.0 + i / 10.0);
    const double loss = 2.0 - 1.5 * std::exp(-std::pow((std::log10(lr) + 2.0) / 0.8, 2.0));
    r.lrs.push_back(lr);
    r.losses.push_back(loss);
    r.smoothed.push_back(loss);
  }
  r.steps_taken = 41;
  r.steep = 12;   // 10^-2.8
  r.valley = 16;  // 10^-2.4
  r.minimum = 20;
  return r;
}

}  // namespace

TEST_CASE("lr-find report: the text chart plots the smoothed loss with S and V under their rates") {
  LrFindSettings settings;
  settings.start = 1e-4;
  settings.end = 1.0;
  const LrFindResult r = curve();
  const std::string chart = format_lr_chart(r, settings, 41, 12);
  const std::vector<std::string> lines = lines_of(chart);
  REQUIRE(lines.size() == 1 + 12 + 1 + 1 + 1 + 1);
  CHECK(lines[0] == "smoothed loss");
  // Each plotted column: "%9s |" then one character per column; the column of rate i is i (41 columns for 41 rates).
  const std::string& marks = lines[14];
  REQUIRE(marks.size() >= 11 + 17);
  CHECK(marks[11 + 12] == 'S');
  CHECK(marks[11 + 16] == 'V');
  std::size_t stars = 0;
  for (std::size_t row = 1; row <= 12; ++row) stars += std::size_t(std::count(lines[row].begin(), lines[row].end(), '*'));
  CHECK(stars == 41);  // one point per rate, each in its own column
  // The lowest loss sits on the bottom row, in the minimum's column.
  CHECK(lines[12].substr(11)[20] == '*');
  CHECK(lines[15].find("1e-4") != std::string::npos);
  CHECK(lines[15].find("1e0") != std::string::npos);
  CHECK(lines[16].find("S: steepest descent, V: valley") != std::string::npos);
}

TEST_CASE("lr-find report: write_lr_find_report writes the page with both suggestions and one CSV row per step") {
  TempDir dir;
  LrFindReport run;
  run.data_name = "toy";
  run.config = {{"model", "MLP"}};
  run.settings.start = 1e-4;
  run.settings.end = 1.0;
  run.result = curve();
  run.result.stopped_early = true;
  run.result.stop_reason = "the smoothed loss exceeded 4x its minimum";
  write_lr_find_report(dir.path(), run);
  const std::string html = read_file(dir.file("report.html"));
  char suggestion[128];
  std::snprintf(suggestion, sizeof suggestion, "Suggested learning rates: %.3g (steepest descent), %.3g (valley).",
                run.result.lrs[12], run.result.lrs[16]);
  CHECK(html.find(suggestion) != std::string::npos);
  CHECK(html.find("Stopped early: the smoothed loss exceeded 4x its minimum.") != std::string::npos);
  CHECK(html.find("Loss against learning rate") != std::string::npos);
  const std::vector<std::string> csv = lines_of(read_file(dir.file("metrics.csv")));
  REQUIRE(csv.size() == 42);
  CHECK(csv[0] == "step,lr,loss,smoothed_loss");
  CHECK(csv[1].rfind("1,0.0001,", 0) == 0);
}

TEST_CASE("lr-find report: a loss that leaves the chart's top is drawn as ^ and the clip is stated with the loss reached") {
  LrFindSettings settings;
  settings.start = 1e-4;
  settings.end = 1.0;
  LrFindResult r = curve();
  for (std::size_t i = 30; i <= 40; ++i) r.smoothed[i] = r.losses[i] = 2.0 + double(i - 30) * 1.4;  // up to 16
  const std::string chart = format_lr_chart(r, settings, 41, 12);
  const std::vector<std::string> lines = lines_of(chart);
  CAPTURE(chart);
  REQUIRE(lines.size() == 18);
  CHECK(lines[1].find('^') != std::string::npos);  // the top row
  CHECK(lines[17].find("^: clipped at 2.5; the smoothed loss rose to 16 (the loss of one step to 16)") != std::string::npos);
  TempDir dir;
  LrFindReport run;
  run.data_name = "toy";
  run.settings = settings;
  run.result = r;
  write_lr_find_report(dir.path(), run);
  CHECK(read_file(dir.file("report.html")).find("the loss of one step rose to 16.") != std::string::npos);
}
