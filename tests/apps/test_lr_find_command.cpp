// `xgrad lr-find` (apps/lr_find_command): the chart and both suggestions on
// Fashion-MNIST, and the range replacing --lr. (The range test itself:
// tests/train/test_lr_finder.cpp.)
#include <doctest/doctest.h>

#include <string>

#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg::testing;

TEST_CASE("lr-find command: prints the chart and both suggestions") {
  const RunResult r = run_xgrad("lr-find --train-limit 2000 --hidden 64 --end 100");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("steepest descent") != std::string::npos);
  CHECK(r.out.find("valley") != std::string::npos);
  CHECK(r.out.find("stopped early") != std::string::npos);
  CHECK(r.out.find("smoothed loss") != std::string::npos);
  CHECK(run_xgrad("lr-find --lr 0.1").status == 2);  // the range replaces --lr
}

TEST_CASE("lr-find command: training flags without meaning here are refused, naming lr-find, and the valley is described as in the docs") {
  TempDir dir;
  write_toy_dataset(dir.path(), 600, 60, 3, 6, 5);
  const std::string common = "lr-find --data " + dir.path() + " --hidden 8 --batch 16 --steps 30 --threads 1";
  for (const char* flag : {"--early-stop 2", "--warmup-epochs 1", "--val-split 0.1", "--min-lr 0.1", "--gamma 0.5",
                           "--step-size 2", "--milestones 2", "--plateau-patience 1", "--test-limit 10"}) {
    CAPTURE(flag);
    const RunResult r = run_xgrad(common + " " + flag);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    const std::string name = std::string(flag).substr(0, std::string(flag).find(' '));
    CHECK(r.err == "xgrad: " + name + " does not apply to lr-find: it runs --steps mini-batches at rates from --start to "
                   "--end, with no epochs, schedule or evaluation\n");
  }
  const RunResult r = run_xgrad(common + " --report " + dir.file("report"));
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("valley            ") != std::string::npos);
  CHECK(r.out.find("(fast.ai's rule: the middle of the longest fall; more cautious)") != std::string::npos);
  CHECK(r.out.find("report written to " + dir.file("report") + "/report.html\n") != std::string::npos);
  CHECK(r.out.find('\r') == std::string::npos);  // no progress line when piped
  // The loss is the run's objective: a sigmoid head's binary cross-entropy works too.
  const RunResult sigmoid = run_xgrad(common + " --head sigmoid --classes-subset 0,1");
  INFO(sigmoid.err);
  CHECK(sigmoid.status == 0);
}
