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
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("fuzz regressions: every input that once crashed or hung a fuzz target is refused or accepted, never a crash") {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(XGRAD_SOURCE_DIR) / "fuzz" / "regressions";
  std::size_t replayed = 0;
  for (const char* target : {"idx", "csv", "safetensors", "image"}) {
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
