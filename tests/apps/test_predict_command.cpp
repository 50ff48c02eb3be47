// `xgrad predict` (apps/predict_command): image files of the model's size or
// --resize, test items by --index, --json, and one-line errors for files that
// do not fit. (Rows of a CSV file: test_train_command_csv.cpp.)
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
#include "tests/support/files.hpp"
#include "tests/support/hostile_checkpoints.hpp"
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
  CHECK(garbage.err.find("not a PGM (P2/P5), PNG or JPEG image") != std::string::npos);
}

TEST_CASE("predict: colour PNGs are read as grey, a black-on-white drawing is inverted (said once), --invert yes|no|auto") {
  TempDir dir;
  write_toy_dataset(dir.path(), 300, 30, 3, 6, 5);  // white bands on black: class c has a band in row c
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 3 --quiet --threads 1 --save " + model).status == 0);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir.file(name), std::ios::binary) << bytes;
    return dir.file(name);
  };
  // RGB: an orange band in row 1 on a near-black background (luma 205 on 12).
  std::vector<std::uint8_t> rgb;
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 5; ++c) {
      const std::vector<std::uint8_t> px = r == 1 ? std::vector<std::uint8_t>{255, 200, 100} : std::vector<std::uint8_t>{20, 10, 0};
      rgb.insert(rgb.end(), px.begin(), px.end());
    }
  const std::string colour = write("colour.png", png_samples(5, 6, 2, 8, rgb));
  // RGBA: a black band in row 2 on a transparent background (white once composited).
  std::vector<std::uint8_t> rgba;
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 5; ++c) {
      const std::vector<std::uint8_t> px = r == 2 ? std::vector<std::uint8_t>{0, 0, 0, 255} : std::vector<std::uint8_t>{0, 0, 0, 0};
      rgba.insert(rgba.end(), px.begin(), px.end());
    }
  const std::string transparent = write("transparent.png", png_samples(5, 6, 6, 8, rgba));
  // Grey: a black band in row 0 on white.
  std::vector<std::uint8_t> grey(30, 250);
  for (int c = 0; c < 5; ++c) grey[c] = 0;
  const std::string paper = write("paper.png", png_samples(5, 6, 0, 8, grey));

  const auto colour_run = run_xgrad("predict --model " + model + " " + colour + " --top-k 1");
  INFO(colour_run.err);
  REQUIRE(colour_run.status == 0);
  CHECK(colour_run.out.find("1. 1 ") != std::string::npos);
  CHECK(colour_run.out.find("inverted") == std::string::npos);  // already light on dark

  const auto drawings = run_xgrad("predict --model " + model + " " + transparent + " " + paper + " --top-k 1");
  INFO(drawings.err);
  REQUIRE(drawings.status == 0);
  const auto lines = lines_of(drawings.out);
  REQUIRE(lines.size() == 6);  // per file: its name, the inversion note, its top class
  INFO(drawings.out);
  // The outer ring of 18 pixels: 16 white (transparent) and the band's 2 ends: 16·255/18 = 227.
  CHECK(lines[1].find("inverted: its background is light (border mean 227/255), the training images' is dark") != std::string::npos);
  CHECK(lines[1].find("--invert no") != std::string::npos);
  CHECK(lines[2].find("1. 2 ") != std::string::npos);
  CHECK(lines[4].find("border mean 181/255") != std::string::npos);  // 13·250/18: the top row is the band
  CHECK(lines[5].find("1. 0 ") != std::string::npos);

  const auto kept = run_xgrad("predict --model " + model + " " + paper + " --invert no --json");
  REQUIRE(kept.status == 0);
  CHECK(kept.out.find("inverted") == std::string::npos);
  const auto forced = run_xgrad("predict --model " + model + " " + colour + " --invert yes --json");
  REQUIRE(forced.status == 0);
  CHECK(forced.out.find("\"note\": \"inverted (--invert yes)\"") != std::string::npos);
  // A --no-normalize model knows no training mean: dark backgrounds are assumed, and said to be.
  const std::string raw = dir.file("raw.safetensors");
  REQUIRE(run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 1 --quiet --threads 1 --no-normalize --save " + raw).status == 0);
  const auto assumed = run_xgrad("predict --model " + raw + " " + paper);
  REQUIRE(assumed.status == 0);
  CHECK(assumed.out.find("the training images' is dark (assumed, as MNIST's: the model has no normalisation mean)") != std::string::npos);
  const auto bad = run_xgrad("predict --model " + model + " " + paper + " --invert maybe");
  CHECK(bad.status == 2);
  CHECK(bad.err.find("--invert must be auto, yes or no, got 'maybe'") != std::string::npos);
}

TEST_CASE("predict: an image's size is checked from its header, before any pixel is decoded") {
  TempDir dir;
  write_toy_dataset(dir.path(), 60, 20, 3, 6, 5);
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + dir.path() + " --hidden 4 --epochs 1 --quiet --threads 1 --save " + model).status == 0);
  // 1 MB of PNG declaring 16384x16384 16-bit grey: 512 MiB of samples if it were decoded.
  std::string noise(1 << 20, '\0');
  std::uint32_t state = 1;
  for (char& byte : noise) byte = char((state = state * 1664525u + 1013904223u) >> 24);
  const std::string huge = dir.file("huge.png");
  std::ofstream(huge, std::ios::binary) << png_from_raw(16384, 16384, 0, noise, 16);
  for (const char* resize : {"", " --resize"}) {
    CAPTURE(resize);
    const RunResult r = run_xgrad_capped("predict --model " + model + " " + huge + resize);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find(huge + ": image of 16384x16384 has more than the limit of 16777216 pixels") != std::string::npos);
    CHECK(r.out.empty());
  }
  // Within the limits but not the model's size: the header says so, though the pixels are garbage.
  const std::string big = dir.file("big.png");
  std::ofstream(big, std::ios::binary) << png_from_raw(4096, 4096, 0, noise.substr(0, 1000), 16);
  const RunResult r = run_xgrad_capped("predict --model " + model + " " + big);
  CHECK(r.status == 2);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find(big + ": image is 4096x4096 (width x height) but the model takes 5x6; pass --resize") != std::string::npos);
}

TEST_CASE("predict: hostile model files (deep, mistyped, lying or nonsensical metadata, sparse 6 GB) exit 2 with one line, reading no more than the header") {
  TempDir dir;
  write_toy_dataset(dir.path(), 200, 20, 3, 6, 5);
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 1 --quiet --threads 1 --save " + model).status == 0);
  const std::string good = read_file(model);
  for (const HostileCheckpoint& c : hostile_model_files()) {
    CAPTURE(c.what);
    xg::write_file_atomically(model, good);
    c.corrupt(model);
    check_refused("predict --model " + model + " --index 0", model, c.must_mention, dir.path());
  }
}
