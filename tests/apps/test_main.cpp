// apps/main.cpp: what every subcommand shares — a negative number for a count
// flag is refused naming the flag (CLI11 would wrap it to 2^64 - 1), and a
// count that is not a whole number is refused too; exit status 2, one line,
// nothing written.
#include <doctest/doctest.h>

#include <string>

#include "tests/support/run_xgrad.hpp"

using xg::testing::run_xgrad;

namespace {

// One line on stderr, naming `flag`.
void check_refused(const std::string& args, const std::string& flag) {
  CAPTURE(args);
  const xg::testing::RunResult r = run_xgrad(args);
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("xgrad: " + flag + ":", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}

}  // namespace

TEST_CASE("main: a negative count exits 2 naming the flag, for every subcommand") {
  check_refused("train --epochs -1", "--epochs");
  check_refused("train --batch -5", "--batch");
  check_refused("train --seed -1", "--seed");
  check_refused("train --train-limit -10", "--train-limit");
  check_refused("sweep --lr 0.1 --epochs -2", "--epochs");
  check_refused("lr-find --steps -50", "--steps");
  check_refused("gradcheck --samples -1", "--samples");
  check_refused("graph --batch -4", "--batch");
  check_refused("eval --model m.safetensors --top-k -3", "--top-k");
  check_refused("predict --model m.safetensors --index -1", "--index");
  check_refused("explain --model m.safetensors --index -3", "--index");
}

TEST_CASE("main: a count that is not a whole number exits 2 naming the flag") {
  const xg::testing::RunResult r = run_xgrad("train --epochs 2.5");
  CHECK(r.status == 2);
  CHECK(r.err.find("--epochs") != std::string::npos);
}
