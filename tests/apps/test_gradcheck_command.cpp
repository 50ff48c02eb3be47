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
  // The banner says what runs in which precision: the model in float32, only the quotient in double.
  CHECK(r.out.find("double precision") == std::string::npos);
  CHECK(r.out.find("the model, the loss and backprop run in float32") != std::string::npos);
  CHECK(r.out.find("only the difference and the quotient are in double") != std::string::npos);
  CHECK(r.out.find("1 ulp = ") != std::string::npos);

  // The architecture flags of train (a kink at 0 for leaky_relu too, kept out of the comparison).
  for (const char* flags : {"--activation tanh", "--activation sigmoid --init xavier_normal",
                            "--activation leaky_relu --init kaiming_uniform --init-mode fan_out"}) {
    INFO(flags);
    const RunResult other = run_xgrad("gradcheck --data " + dir.path() + " --hidden 8 --batch 4 --samples 50 " + flags);
    INFO(other.out << other.err);
    CHECK(other.status == 0);
    CHECK(other.out.find("PASS: 4 of 4 parameters") != std::string::npos);
  }
  const RunResult swish = run_xgrad("gradcheck --data " + dir.path() + " --activation swish");
  CHECK(swish.status == 2);
  CHECK(swish.err.find("--activation") != std::string::npos);
  CHECK(run_xgrad("gradcheck --data " + dir.path() + " --init-mode fan_out").status == 2);  // only with a kaiming init

  const RunResult bad = run_xgrad("gradcheck --data " + dir.path() + " --batch 0");
  CHECK(bad.status == 2);
  CHECK(bad.err.find("--batch") != std::string::npos);
  CHECK(run_xgrad("gradcheck --data " + dir.path() + " --step -1").status == 2);
  const RunResult huge = run_xgrad("gradcheck --data " + dir.path() + " --batch 18446744073709551615");
  CHECK(huge.status == 2);
  CHECK(huge.err.find("--batch must be at most") != std::string::npos);
}
