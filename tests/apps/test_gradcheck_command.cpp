// `xgrad gradcheck` (apps/gradcheck_command): every parameter of an MLP on
// real-format data passes (exit 0), and bad flags exit 2 naming the flag.
// (The check itself: tests/train/test_parameter_gradcheck.cpp.)
#include <doctest/doctest.h>

#include <string>

#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg::testing;

TEST_CASE("gradcheck command: checks an MLP on real-format data and rejects bad flags") {
  TempDir dir;
  write_toy_dataset(dir.path(), 64, 16, 3, 6, 5);
  const RunResult r = run_xgrad("gradcheck --data " + dir.path() + " --hidden 8 --batch 4 --samples 0");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  for (const char* name : {"0.weight", "0.bias", "2.weight", "2.bias"}) CHECK(r.out.find(name) != std::string::npos);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("PASS: 4 of 4 parameters") != std::string::npos);

  const RunResult bad = run_xgrad("gradcheck --data " + dir.path() + " --batch 0");
  CHECK(bad.status == 2);
  CHECK(bad.err.find("--batch") != std::string::npos);
  CHECK(run_xgrad("gradcheck --data " + dir.path() + " --step -1").status == 2);
}
