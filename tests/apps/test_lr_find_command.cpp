// `xgrad lr-find` (apps/lr_find_command): the chart and both suggestions on
// Fashion-MNIST, and the range replacing --lr. (The range test itself:
// tests/train/test_lr_finder.cpp.)
#include <doctest/doctest.h>

#include <string>

#include "tests/support/run_xgrad.hpp"

using namespace xg::testing;

TEST_CASE("lr-find command: prints the chart and both suggestions") {
  const RunResult r = run_xgrad("lr-find --train-limit 2000 --test-limit 100 --hidden 64 --end 100");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("steepest descent") != std::string::npos);
  CHECK(r.out.find("valley") != std::string::npos);
  CHECK(r.out.find("stopped early") != std::string::npos);
  CHECK(r.out.find("smoothed loss") != std::string::npos);
  CHECK(run_xgrad("lr-find --lr 0.1").status == 2);  // the range replaces --lr
}
