// datasets/image_file: PGM and PNG image files (the images `xgrad predict`
// takes), including hostile ones, and the bilinear resize.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "datasets/image_file.hpp"
#include "tests/support/image_files.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

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
