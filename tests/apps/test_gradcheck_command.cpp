// `xgrad gradcheck` (apps/gradcheck_command): every parameter of an MLP on
// real-format data passes (exit 0), so does every parameter of --arch cnn on
// Fashion-MNIST, a gradient scaled on purpose fails (exit 1), and bad flags
// exit 2 naming the flag.
// (The check itself: tests/train/test_parameter_gradcheck.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>
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

namespace {

// The table line of `parameter` ("0.weight     (16, 1, 3, 3)   27 of 144 ..."), or "".
std::string table_line(const std::string& out, const std::string& parameter) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(parameter + " ", 0) == 0) return line;
  return "";
}

}  // namespace

TEST_CASE("gradcheck command: --arch cnn passes on real images, and a scaled conv gradient fails") {
  REQUIRE(std::filesystem::exists(kFashionDir));
  const std::string cnn = std::string("gradcheck --arch cnn --data ") + kFashionDir + " --batch 2 --samples 30";
  const RunResult r = run_xgrad(cnn);
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("PASS: 8 of 8 parameters") != std::string::npos);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("kinks  a nudge that moves ReLU inputs across 0 or changes max-pool winners") != std::string::npos);
  // The first conv layer's elements are compared, not set aside: "0.weight (16, 1, 3, 3) N of 144".
  const std::string first = table_line(r.out, "0.weight");
  REQUIRE(first.find("of 144") != std::string::npos);
  std::istringstream fields(first.substr(first.find(')') + 1));
  std::size_t checked = 0;
  fields >> checked;
  CHECK(checked > 15);  // of the 30 sampled
  for (const char* name : {"0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias"})
    CHECK(table_line(r.out, name).find("PASS") != std::string::npos);

  // A conv weight gradient off by 50%: that parameter fails, exit 1.
  const RunResult wrong = run_xgrad(cnn + " --scale-gradient 0.weight=1.5");
  INFO(wrong.out << wrong.err);
  CHECK(wrong.status == 1);
  CHECK(wrong.out.find("0.weight's backprop gradient is multiplied by 1.5") != std::string::npos);
  CHECK(table_line(wrong.out, "0.weight").find("FAIL") != std::string::npos);
  CHECK(table_line(wrong.out, "3.weight").find("PASS") != std::string::npos);
  CHECK(wrong.out.find("FAIL: 7 of 8 parameters") != std::string::npos);

  for (const char* bad : {"0.weight", "=2", "0.weight=big", "11.weight=2"}) {
    INFO(bad);
    const RunResult b = run_xgrad(cnn + " --scale-gradient " + bad);
    CHECK(b.status == 2);
    CHECK(b.err.find("--scale-gradient") != std::string::npos);
    CHECK(b.out.empty());
  }
}
