// fuzz/: inputs that once crashed or hung a fuzz target (fuzz/regressions/<target>/),
// replayed through the same entry point as the target (fuzz/fuzz_<target>.cpp):
// each must be refused with an InputError or accepted, never crash.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "datasets/csv.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_file.hpp"
#include "io/checkpoint_metadata.hpp"
#include "io/json_input.hpp"
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("fuzz regressions: every input that once crashed or hung a fuzz target is refused or accepted, never a crash") {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(XGRAD_SOURCE_DIR) / "fuzz" / "regressions";
  std::size_t replayed = 0;
  for (const char* target : {"idx", "csv", "safetensors", "image", "model_json"}) {
    if (!fs::exists(root / target)) continue;
    for (const auto& entry : fs::directory_iterator(root / target)) {
      const std::string bytes = read_file(entry.path().string());
      CAPTURE(entry.path().string());
      try {
        if (std::string(target) == "idx") {
          read_idx(entry.path().string());
        } else if (std::string(target) == "csv") {
          const std::size_t cut = bytes.find('\xFF');
          CsvOptions options;
          options.seed = bytes.size();
          if (cut == std::string::npos) csv_dataset_from_text(bytes, "train.csv", "", "", options);
          else csv_dataset_from_text(bytes.substr(0, cut), "train.csv", bytes.substr(cut + 1), "test.csv", options);
        } else if (std::string(target) == "safetensors") {
          decode_safetensors(bytes, "regression.safetensors");
        } else if (std::string(target) == "model_json") {  // the first byte chooses, as in fuzz/fuzz_model_json.cpp
          const std::string text = bytes.empty() ? "" : bytes.substr(1);
          if (!bytes.empty() && std::uint8_t(bytes[0]) % 2 == 1) training_state_from_text(text, "regression.state");
          else model_info_from_json(parse_json(text, "regression: xgrad metadata"), "regression.safetensors");
        } else {
          resize_image(decode_grey_image(bytes, "regression.png"), 7, 5);
        }
      } catch (const InputError&) {
      }
      ++replayed;
    }
  }
  MESSAGE(replayed << " fuzz regression inputs replayed");
}

TEST_CASE("fuzz regressions: the seed corpus of fuzz_model_json is accepted, and 300,000 nested brackets anywhere are refused") {
  namespace fs = std::filesystem;
  std::size_t seeds = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(XGRAD_SOURCE_DIR) / "fuzz" / "corpus" / "model_json")) {
    const std::string bytes = read_file(entry.path().string());
    CAPTURE(entry.path().string());
    REQUIRE(bytes.size() > 1);
    if (std::uint8_t(bytes[0]) % 2 == 1) CHECK_NOTHROW(training_state_from_text(bytes.substr(1), "seed.state"));
    else CHECK_NOTHROW(model_info_from_json(parse_json(bytes.substr(1), "seed: xgrad metadata"), "seed.safetensors"));
    ++seeds;
  }
  CHECK(seeds >= 4);
  // The inputs that crashed xgrad before the nesting limit (a stack overflow copying the document).
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  CHECK_THROWS_AS(parse_json(deep, "deep"), InputError);
  CHECK_THROWS_AS(parse_json(R"({"layers":[30,8,3],"config":{"x":)" + deep + "}}", "deep config"), InputError);
  CHECK_THROWS_AS(training_state_from_text(R"({"epoch":1,"metrics":")" + deep + R"(
"})", "deep.state"), InputError);
  CHECK_THROWS_AS(training_state_from_text(R"({"epoch":1,"best_test_loss":)" + deep + "}", "deep.state"), InputError);
}
