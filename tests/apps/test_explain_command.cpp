// `xgrad explain` (apps/explain_command): one item of a saved model's test
// split through the loss, every step shown. (A table model and a sigmoid head:
// test_train_command_csv.cpp, test_eval_command.cpp.)
#include <doctest/doctest.h>

#include <string>

#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg::testing;

TEST_CASE("explain: walks one test item through softmax-cross-entropy step by step, an index out of range exits 2") {
  TempDir dir;
  write_toy_dataset(dir.path(), 200, 40, 3, 6, 5);
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --quiet --threads 1 --save " + model).status == 0);
  const auto explain = run_xgrad("explain --model " + model + " --index 0");
  REQUIRE(explain.status == 0);
  for (const char* step : {"logits", "subtract the maximum", "exponentials", "sum", "probabilities", "-log p_true", "p_c - onehot_c"}) {
    CHECK(explain.out.find(step) != std::string::npos);
  }
  const auto out_of_range = run_xgrad("explain --model " + model + " --index 40");
  CHECK(out_of_range.status == 2);
  CHECK(out_of_range.err.find("--index 40") != std::string::npos);
}
