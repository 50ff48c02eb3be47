// `xgrad sweep` (apps/sweep_command): one run per learning rate from the same
// start, divergence marking, results equal to separate `train` runs and
// independent of --jobs, --lr and --lr-range parsing, and exit statuses.
#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/sweep_command.hpp"
#include "core/error.hpp"
#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

// Each JSON line of a metrics file.
std::vector<nlohmann::json> json_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  for (const std::string& line : lines_of(read_file(path)))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("sweep: 0.01, 0.1 and 50 — 50 diverges at a reported step, the others equal separate train runs") {
  TempDir dir;
  write_toy_dataset(dir.path(), 600, 200, 10, 10, 10);
  const std::string common = "--data " + dir.path() + " --hidden 32 --epochs 3 --batch 32 --seed 3";
  const RunResult sweep = run_xgrad("sweep " + common + " --lr 0.01,0.1,50 --jobs 2 --metrics " + dir.file("s.jsonl"));
  INFO("stdout:\n" << sweep.out << "\nstderr:\n" << sweep.err);
  REQUIRE(sweep.status == 0);
  CHECK(sweep.out.find("DIVERGED") != std::string::npos);
  CHECK(sweep.out.find("best lr 0.1") != std::string::npos);

  std::map<double, std::vector<nlohmann::json>> by_lr;
  for (const auto& j : json_lines(dir.file("s.jsonl"))) by_lr[j["base_lr"].get<double>()].push_back(j);
  // The diverged run: one line with the epoch and step, nothing after it.
  REQUIRE(by_lr[50.0].size() == 1);
  const nlohmann::json& diverged = by_lr[50.0][0];
  CHECK(diverged["diverged"] == true);
  const std::size_t step = diverged["step"].get<std::size_t>();
  CHECK(step >= 1);
  CHECK(sweep.out.find("lr 50: training diverged at epoch " + std::to_string(diverged["epoch"].get<int>()) +
                       ", step " + std::to_string(step)) != std::string::npos);

  for (double lr : {0.01, 0.1}) {
    CAPTURE(lr);
    REQUIRE(by_lr[lr].size() == 3);
    const std::string metrics = dir.file("t" + std::to_string(int(lr * 100)) + ".jsonl");
    char lr_text[32];
    std::snprintf(lr_text, sizeof lr_text, "%g", lr);
    const RunResult train = run_xgrad("train " + common + " --lr " + lr_text + " --quiet --metrics " + metrics);
    REQUIRE(train.status == 0);
    const auto separate = json_lines(metrics);
    REQUIRE(separate.size() == 3);
    for (std::size_t e = 0; e < 3; ++e) {
      // Bit-identical: the JSON numbers round-trip doubles exactly.
      CHECK(by_lr[lr][e]["train_loss"].get<double>() == separate[e]["train_loss"].get<double>());
      CHECK(by_lr[lr][e]["test_loss"].get<double>() == separate[e]["test_loss"].get<double>());
      CHECK(by_lr[lr][e]["test_acc"].get<double>() == separate[e]["test_acc"].get<double>());
    }
  }
}

TEST_CASE("sweep: the results do not depend on how many runs train at once") {
  TempDir dir;
  write_toy_dataset(dir.path(), 400, 100, 4, 6, 6);
  const std::string common = "sweep --data " + dir.path() + " --hidden 16 --epochs 2 --batch 16 --lr-range 0.01:1:3";
  REQUIRE(run_xgrad(common + " --jobs 1 --metrics " + dir.file("one.jsonl")).status == 0);
  REQUIRE(run_xgrad(common + " --jobs 3 --metrics " + dir.file("three.jsonl")).status == 0);
  auto without_seconds = [](std::vector<nlohmann::json> lines) {
    for (auto& j : lines) j.erase("seconds");
    return lines;
  };
  const auto one = without_seconds(json_lines(dir.file("one.jsonl")));
  CHECK(one.size() == 6);
  CHECK(one == without_seconds(json_lines(dir.file("three.jsonl"))));
}

TEST_CASE("sweep: every rate diverging exits 3 with the message on stderr, as the README's exit-status table says") {
  TempDir dir;
  write_toy_dataset(dir.path(), 200, 50, 3, 4, 4);
  const RunResult r = run_xgrad("sweep --data " + dir.path() + " --hidden 16 --epochs 2 --lr 1e5,1e4 --report " + dir.file("report"));
  INFO(r.out << r.err);
  CHECK(r.status == 3);
  CHECK(r.out.find("every learning rate diverged") == std::string::npos);
  const auto err = lines_of(r.err);
  REQUIRE(err.size() == 2);
  CHECK(err[0].rfind("xgrad: every learning rate diverged; the smallest rate: training diverged at epoch ", 0) == 0);
  CHECK(err[0].find(" at lr 10000") != std::string::npos);
  CHECK(err[1] == "hint: try smaller rates, or run `xgrad lr-find` with the same flags to pick a rate");
  CHECK(r.out.find("DIVERGED") != std::string::npos);  // the table and summary stay on stdout
  CHECK(r.out.find("report written to " + dir.file("report") + "/report.html\n") != std::string::npos);
  CHECK(r.out.find('\r') == std::string::npos);  // no progress line when piped
}

TEST_CASE("sweep: --lr and --lr-range parsing") {
  SweepOptions o;
  o.lrs = "0.001,0.01,0.1,1";
  CHECK(sweep_learning_rates(o) == std::vector<double>{0.001, 0.01, 0.1, 1});
  o.lrs.clear();
  o.lr_range = "1e-4:1:5";
  const std::vector<double> rates = sweep_learning_rates(o);
  REQUIRE(rates.size() == 5);
  CHECK(rates[0] == doctest::Approx(1e-4));
  CHECK(rates[1] == doctest::Approx(1e-3));
  CHECK(rates[2] == doctest::Approx(1e-2));
  CHECK(rates[4] == 1.0);
  for (const char* bad : {"1:0.1:3", "1e-4:1", "1e-4:1:1", "1e-4:1:x", "a:1:3", "0:1:3"}) {
    o.lr_range = bad;
    CHECK_THROWS_AS(sweep_learning_rates(o), InputError);
  }
  o.lr_range.clear();
  for (const char* bad : {"0.1,,1", "0.1,-1", "abc", "0.1,", "0"}) {
    o.lrs = bad;
    CHECK_THROWS_AS(sweep_learning_rates(o), InputError);
  }
  o.lrs = "0.1";
  o.lr_range = "1e-4:1:5";
  CHECK_THROWS_AS(sweep_learning_rates(o), InputError);  // both given
}

TEST_CASE("sweep: bad flags exit 2 with one line naming the flag") {
  for (const auto& [args, flag] : std::vector<std::pair<std::string, std::string>>{
           {"sweep --lr 0.1,abc", "--lr"}, {"sweep", "--lr"}, {"sweep --lr-range 1:2", "--lr-range"},
           {"sweep --lr 0.1 --batch 0", "--batch"}, {"sweep --lr 0.1 --jobs -1", "--jobs"}}) {
    const RunResult r = run_xgrad(args);
    INFO(args << "\n" << r.err);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find(flag) != std::string::npos);
  }
}
