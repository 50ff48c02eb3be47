// `xgrad predict` (apps/predict_command): image files of the model's size or
// --resize, test items by --index, --json, and one-line errors for files that
// do not fit. (Rows of a CSV file: test_train_command_csv.cpp.)
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/files.hpp"
#include "tests/support/image_files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg::testing;

TEST_CASE("predict: takes PGM/PNG files of the model's size, or --resize, and --json") {
  TempDir dir;
  write_toy_dataset(dir.path(), 200, 20, 3, 6, 5);
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --quiet --threads 1 --save " + model).status == 0);
  // Class 1 has a bright band in row 1: draw one as a 5x6 PGM (width 5, height 6).
  std::string pgm = "P5 5 6 255\n";
  for (int r = 0; r < 6; ++r) pgm += std::string(5, r == 1 ? '\xF0' : '\x10');
  std::ofstream(dir.file("one.pgm"), std::ios::binary) << pgm;
  std::ofstream(dir.file("big.png"), std::ios::binary) << png(10, 12, std::vector<std::uint8_t>(120, 30));

  const auto ok = run_xgrad("predict --model " + model + " " + dir.file("one.pgm") + " --top-k 2");
  INFO(ok.err);
  REQUIRE(ok.status == 0);
  CHECK(ok.out.find("1. 1 ") != std::string::npos);  // the top class is "1"
  const auto wrong = run_xgrad("predict --model " + model + " " + dir.file("big.png"));
  CHECK(wrong.status == 2);
  CHECK(lines_of(wrong.err).size() == 1);
  CHECK(wrong.err.find("10x12") != std::string::npos);
  CHECK(wrong.err.find("5x6") != std::string::npos);
  CHECK(wrong.err.find("--resize") != std::string::npos);
  const auto resized = run_xgrad("predict --model " + model + " " + dir.file("big.png") + " --resize --json --index 3");
  REQUIRE(resized.status == 0);
  CHECK(resized.out.find("\"probabilities\"") != std::string::npos);
  CHECK(resized.out.find("test[3]") != std::string::npos);
  const auto garbage = run_xgrad("predict --model " + model + " " + model);
  CHECK(garbage.status == 2);
  CHECK(garbage.err.find("not a grey-scale PGM") != std::string::npos);
}
