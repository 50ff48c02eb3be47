// PGM and PNG image files for `xgrad predict`, including hostile ones.
#include <doctest/doctest.h>

#include <fstream>

#include <zlib.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "datasets/image_file.hpp"
#include "test_support.hpp"

using namespace xg;

namespace {

void put32(std::string& s, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(char((v >> shift) & 0xff));
}

std::string chunk(const std::string& type, const std::string& body) {
  std::string out;
  put32(out, std::uint32_t(body.size()));
  out += type + body;
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(type.data()), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()));
  put32(out, std::uint32_t(crc));
  return out;
}

std::string png_from_raw(std::uint32_t w, std::uint32_t h, int colour, const std::string& raw);

// An 8-bit grey PNG; each row uses filter (row % 5) applied to `pixels`.
std::string png(std::uint32_t w, std::uint32_t h, const std::vector<std::uint8_t>& pixels, int colour = 0,
                std::int64_t cut_raw = 0) {
  std::string raw;
  for (std::uint32_t r = 0; r < h; ++r) {
    const int filter = int(r % 5);
    raw.push_back(char(filter));
    for (std::uint32_t c = 0; c < w; ++c) {
      const int x = pixels[r * w + c], a = c ? pixels[r * w + c - 1] : 0, b = r ? pixels[(r - 1) * w + c] : 0,
                cc = r && c ? pixels[(r - 1) * w + c - 1] : 0;
      int pred = 0;
      if (filter == 1) pred = a;
      if (filter == 2) pred = b;
      if (filter == 3) pred = (a + b) / 2;
      if (filter == 4) {
        const int p = a + b - cc, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - cc);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : cc;
      }
      raw.push_back(char(std::uint8_t(x - pred)));
    }
  }
  raw.resize(std::size_t(std::int64_t(raw.size()) - cut_raw));
  return png_from_raw(w, h, colour, raw);
}

std::string png_from_raw(std::uint32_t w, std::uint32_t h, int colour, const std::string& raw) {
  std::string ihdr;
  put32(ihdr, w);
  put32(ihdr, h);
  ihdr += std::string{char(8), char(colour), 0, 0, 0};
  std::string z(compressBound(uLong(raw.size())), '\0');
  uLongf n = uLongf(z.size());
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()));
  z.resize(n);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

std::vector<std::uint8_t> ramp(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::uint8_t((i * 37 + 11) % 256);
  return v;
}

std::string error_of(const std::string& bytes) {
  try {
    decode_grey_image(bytes, "img");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("images: PGM P5, P2 (with comments, maxval scaling) and 16-bit") {
  GreyImage a = decode_grey_image(std::string("P5\n# a comment\n3 2\n255\n") + std::string("\x00\x10\x20\x30\x40\xff", 6), "a");
  CHECK(a.cols == 3);
  CHECK(a.rows == 2);
  CHECK(a.pixels == std::vector<std::uint8_t>{0, 0x10, 0x20, 0x30, 0x40, 0xff});
  GreyImage b = decode_grey_image("P2 2 2 15\n0 15\n# x\n5 10\n", "b");
  CHECK(b.pixels == std::vector<std::uint8_t>{0, 255, 85, 170});
  GreyImage c = decode_grey_image(std::string("P5 1 1 65535\n\xff\xff", 15), "c");
  CHECK(c.pixels == std::vector<std::uint8_t>{255});
}

TEST_CASE("images: grey PNG with every filter type decodes exactly") {
  const std::vector<std::uint8_t> pixels = ramp(7 * 6);
  const GreyImage image = decode_grey_image(png(7, 6, pixels), "p.png");
  CHECK(image.cols == 7);
  CHECK(image.rows == 6);
  CHECK(image.pixels == pixels);
}

TEST_CASE("images: hostile files are refused with one message naming the file") {
  CHECK(error_of("hello").find("not a grey-scale PGM") != std::string::npos);
  CHECK(error_of("P5 100000 100000 255\n").find("exceeds") != std::string::npos);
  CHECK(error_of("P5 0 5 255\n").find("no pixels") != std::string::npos);
  CHECK(error_of("P5 4 4 255\n\x01\x02").find("truncated") != std::string::npos);
  CHECK(error_of("P2 2 1 10\n5 11\n").find("exceeds maxval") != std::string::npos);
  CHECK(error_of("P2 2 1 10\n5").find("end of the file") != std::string::npos);
  CHECK(error_of("P5 2 1 70000\n").find("maxval") != std::string::npos);
  const std::string good = png(4, 4, ramp(16));
  CHECK(error_of(good.substr(0, good.size() - 20)).find("PNG") != std::string::npos);  // truncated
  std::string bad_crc = good;
  bad_crc[40] = char(bad_crc[40] ^ 1);
  CHECK(error_of(bad_crc).find("CRC") != std::string::npos);
  CHECK(error_of(png(4, 4, ramp(16), 2)).find("colour type 2 is not grey-scale") != std::string::npos);
  CHECK(error_of(png(4, 4, ramp(16), 0, 3)).find("corrupt or truncated image data") != std::string::npos);
  CHECK(error_of(png(4, 4, ramp(16), 0, -5)).find("corrupt or truncated image data") != std::string::npos);
  // A header promising 16384x16384 with a few bytes of data: refused before allocating.
  CHECK(error_of(png_from_raw(16384, 16384, 0, std::string(100, '\0'))).find("far too short") != std::string::npos);
}

TEST_CASE("images: bilinear resize keeps a constant image and maps corners") {
  GreyImage flat{4, 4, std::vector<std::uint8_t>(16, 77)};
  CHECK(resize_image(flat, 2, 3).pixels == std::vector<std::uint8_t>(6, 77));
  GreyImage two{1, 2, {0, 200}};
  const GreyImage wide = resize_image(two, 1, 4);
  CHECK(wide.pixels == std::vector<std::uint8_t>{0, 50, 150, 200});
}

TEST_CASE("images: xgrad predict takes PGM/PNG files of the model's size, or --resize, and --json") {
  xg::testing::TempDir dir;
  xg::testing::write_toy_dataset(dir.path(), 200, 20, 3, 6, 5);
  const std::string model = dir.file("m.safetensors");
  REQUIRE(xg::testing::run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --quiet --threads 1 --save " + model).status == 0);
  // Class 1 has a bright band in row 1: draw one as a 5x6 PGM (width 5, height 6).
  std::string pgm = "P5 5 6 255\n";
  for (int r = 0; r < 6; ++r) pgm += std::string(5, r == 1 ? '\xF0' : '\x10');
  std::ofstream(dir.file("one.pgm"), std::ios::binary) << pgm;
  std::ofstream(dir.file("big.png"), std::ios::binary) << png(10, 12, std::vector<std::uint8_t>(120, 30));

  const auto ok = xg::testing::run_xgrad("predict --model " + model + " " + dir.file("one.pgm") + " --top-k 2");
  INFO(ok.err);
  REQUIRE(ok.status == 0);
  CHECK(ok.out.find("1. 1 ") != std::string::npos);  // the top class is "1"
  const auto wrong = xg::testing::run_xgrad("predict --model " + model + " " + dir.file("big.png"));
  CHECK(wrong.status == 2);
  CHECK(xg::testing::lines_of(wrong.err).size() == 1);
  CHECK(wrong.err.find("10x12") != std::string::npos);
  CHECK(wrong.err.find("5x6") != std::string::npos);
  CHECK(wrong.err.find("--resize") != std::string::npos);
  const auto resized = xg::testing::run_xgrad("predict --model " + model + " " + dir.file("big.png") + " --resize --json --index 3");
  REQUIRE(resized.status == 0);
  CHECK(resized.out.find("\"probabilities\"") != std::string::npos);
  CHECK(resized.out.find("test[3]") != std::string::npos);
  const auto garbage = xg::testing::run_xgrad("predict --model " + model + " " + model);
  CHECK(garbage.status == 2);
  CHECK(garbage.err.find("not a grey-scale PGM") != std::string::npos);
}

TEST_CASE("images: xgrad eval --json and explain on a saved model") {
  xg::testing::TempDir dir;
  xg::testing::write_toy_dataset(dir.path(), 200, 40, 3, 6, 5);
  const std::string model = dir.file("m.safetensors");
  REQUIRE(xg::testing::run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --quiet --threads 1 --save " + model).status == 0);
  const auto eval = xg::testing::run_xgrad("eval --model " + model + " --json --top-k 2");
  REQUIRE(eval.status == 0);
  const auto j = nlohmann::json::parse(eval.out);
  CHECK(j["items"] == 40);
  CHECK(j["top_k"] == 2);
  CHECK(j["top_k_accuracy"].get<double>() >= j["accuracy"].get<double>());
  CHECK(j["confusion_matrix"].size() == 3);
  CHECK(j["calibration"]["bins"].size() == 10);
  std::size_t binned = 0;
  for (const auto& b : j["calibration"]["bins"]) binned += b["count"].get<std::size_t>();
  CHECK(binned == 40);
  const auto text = xg::testing::run_xgrad("eval --model " + model);
  CHECK(text.status == 0);
  CHECK(text.out.find("calibration") != std::string::npos);
  CHECK(text.out.find("macro avg") != std::string::npos);
  const auto explain = xg::testing::run_xgrad("explain --model " + model + " --index 0");
  REQUIRE(explain.status == 0);
  for (const char* step : {"logits", "subtract the maximum", "exponentials", "sum", "probabilities", "-log p_true", "p_c - onehot_c"}) {
    CHECK(explain.out.find(step) != std::string::npos);
  }
  const auto out_of_range = xg::testing::run_xgrad("explain --model " + model + " --index 40");
  CHECK(out_of_range.status == 2);
  CHECK(out_of_range.err.find("--index 40") != std::string::npos);
}
