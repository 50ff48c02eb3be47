// datasets/image_file: PGM and PNG image files (the images `xgrad predict`
// takes), including hostile ones, and the bilinear resize.
#include <doctest/doctest.h>

#include <cmath>
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
  CHECK(error_of("hello").find("not a PGM (P2/P5) or PNG image") != std::string::npos);
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
  CHECK(error_of(png(4, 4, ramp(16), 5)).find("unknown colour type 5") != std::string::npos);
  CHECK(error_of(png(4, 4, ramp(16), 2)).find("corrupt or truncated image data") != std::string::npos);  // 1 byte a pixel, not 3
  CHECK(error_of(png(4, 4, ramp(16), 3)).find("palette image without a PLTE chunk") != std::string::npos);
  const std::string two_entries = png_chunk("PLTE", std::string(6, '\x10'));
  CHECK(error_of(png_samples(2, 1, 3, 8, {1, 2}, two_entries)).find("palette entry 2, beyond the PLTE chunk") != std::string::npos);
  CHECK(error_of(png_samples(2, 1, 3, 8, {1, 1}, png_chunk("PLTE", "ab"))).find("malformed PLTE") != std::string::npos);
  CHECK(error_of(png(4, 4, ramp(16), 0, 3)).find("corrupt or truncated image data") != std::string::npos);
  CHECK(error_of(png(4, 4, ramp(16), 0, -5)).find("corrupt or truncated image data") != std::string::npos);
  // A header promising 4096x4096 with a few bytes of data: refused before allocating.
  CHECK(error_of(png_from_raw(4096, 4096, 0, std::string(100, '\0'))).find("far too short") != std::string::npos);
}

TEST_CASE("images: image_size reads the header alone, within the limits") {
  // A 1 MB PNG declaring 16384x16384 16-bit grey (512 MiB of samples): refused from its header.
  std::string noise(1 << 20, '\0');
  std::uint32_t state = 1;
  for (char& byte : noise) byte = char((state = state * 1664525u + 1013904223u) >> 24);  // barely compresses
  const std::string huge = png_from_raw(16384, 16384, 0, noise, 16);
  CHECK(huge.size() > 1000000);
  const std::string limit = "img: image of 16384x16384 has more than the limit of 16777216 pixels (4096x4096)";
  CHECK_THROWS_WITH_AS(image_size(huge, "img"), limit.c_str(), InputError);
  CHECK(error_of(huge) == limit);
  CHECK(error_of("P5 4097 4096 255\n") == "img: image of 4097x4096 has more than the limit of 16777216 pixels (4096x4096)");
  CHECK(error_of("P5 16385 1 255\n") == "img: image of 16385x1 exceeds the 16384x16384 limit");
  // Within the limits the size comes back without a pixel decoded (these have none worth decoding).
  const std::string big = png_from_raw(4096, 4096, 4, std::string(100, '\0'), 16);
  const ImageSize png_size = image_size(big, "img");
  CHECK(png_size.cols == 4096);
  CHECK(png_size.rows == 4096);
  CHECK(error_of(big).find("far too short") != std::string::npos);
  const ImageSize pgm_size = image_size("P5 # wide\n640 480 255\n", "img");
  CHECK(pgm_size.cols == 640);
  CHECK(pgm_size.rows == 480);
  CHECK(error_of("P5 640 480 255\n").find("truncated") != std::string::npos);
  // The header itself is checked.
  std::string bad_crc = png(4, 4, ramp(16));
  bad_crc[20] = char(bad_crc[20] ^ 1);
  CHECK_THROWS_WITH_AS(image_size(bad_crc, "img"), "img: PNG: chunk IHDR fails its CRC check", InputError);
  CHECK_THROWS_WITH_AS(image_size(bad_crc.substr(0, 30), "img"), "img: PNG: truncated (the file ends inside the IHDR chunk)", InputError);
  CHECK_THROWS_WITH_AS(image_size("GIF89a", "img"), "img: not a PGM (P2/P5) or PNG image", InputError);
}

TEST_CASE("images: colour PNGs become grey by BT.601 luma, transparency is composited over white") {
  // RGB, 8 bits: pure red, green, blue, white, and a mixed colour.
  const GreyImage rgb = decode_grey_image(
      png_samples(5, 1, 2, 8, {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 255, 200, 100}), "rgb.png");
  // 0.299·255 = 76.2, 0.587·255 = 149.7, 0.114·255 = 29.1, 255, 76.2 + 117.4 + 11.4 = 205.0
  CHECK(rgb.pixels == std::vector<std::uint8_t>{76, 150, 29, 255, 205});
  // RGB, 16 bits (big-endian samples): the same red at full precision, and mid grey.
  const GreyImage rgb16 = decode_grey_image(png_samples(2, 1, 2, 16, {255, 255, 0, 0, 0, 0, 128, 0, 128, 0, 128, 0}), "rgb16.png");
  CHECK(rgb16.pixels == std::vector<std::uint8_t>{76, 128});
  // RGBA: opaque black, transparent black (white page), half-transparent black.
  const GreyImage rgba =
      decode_grey_image(png_samples(3, 1, 6, 8, {0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128}), "rgba.png");
  CHECK(rgba.pixels == std::vector<std::uint8_t>{0, 255, 127});  // 255 · (1 − 128/255) = 127
  // Grey + alpha: the grey level, composited the same way.
  const GreyImage grey_alpha = decode_grey_image(png_samples(2, 1, 4, 8, {40, 255, 40, 0}), "ga.png");
  CHECK(grey_alpha.pixels == std::vector<std::uint8_t>{40, 255});
  // Palette with tRNS: entry 0 opaque red, entry 1 transparent, entry 2 (no alpha given) opaque grey 90.
  const std::string chunks = png_chunk("PLTE", std::string("\xff\x00\x00\x00\x00\x00\x5a\x5a\x5a", 9)) +
                             png_chunk("tRNS", std::string("\xff\x00", 2));
  const GreyImage palette = decode_grey_image(png_samples(4, 2, 3, 8, {0, 1, 2, 0, 2, 2, 1, 0}, chunks), "pal.png");
  CHECK(palette.pixels == std::vector<std::uint8_t>{76, 255, 90, 76, 90, 90, 255, 76});
  // Every filter type with 3 bytes a pixel (rows 0..4 use filters 0..4).
  std::vector<std::uint8_t> bytes(4 * 5 * 3);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::uint8_t((i * 53 + 7) % 256);
  const GreyImage filtered = decode_grey_image(png_samples(4, 5, 2, 8, bytes), "f.png");
  for (std::size_t p = 0; p < 20; ++p) {
    const double luma = 0.299 * bytes[3 * p] + 0.587 * bytes[3 * p + 1] + 0.114 * bytes[3 * p + 2];
    CHECK(int(filtered.pixels[p]) == int(std::lround(luma)));
  }
}

TEST_CASE("images: polarity compares the border's brightness with the training images' mean") {
  // A dark stroke on a light page, and the same inverted.
  GreyImage page{4, 4, std::vector<std::uint8_t>(16, 250)};
  page.pixels[5] = page.pixels[6] = 0;
  const Polarity light = image_polarity(page, 0.286);  // Fashion-MNIST's mean
  CHECK(light.light_background);
  CHECK(!light.training_light_background);
  CHECK(light.inverted());
  CHECK(light.border_mean == doctest::Approx(250));
  CHECK(!image_polarity(page, 0.8).inverted());  // training images that are light too
  invert_image(page);
  CHECK(page.pixels[0] == 5);
  CHECK(page.pixels[5] == 255);
  CHECK(!image_polarity(page, 0.286).inverted());
  // Only the outer ring counts: a bright middle on a dark border is dark.
  GreyImage middle{5, 5, std::vector<std::uint8_t>(25, 255)};
  for (std::size_t i = 0; i < 25; ++i)
    if (i / 5 == 0 || i / 5 == 4 || i % 5 == 0 || i % 5 == 4) middle.pixels[i] = 10;
  CHECK(!image_polarity(middle, 0.13).light_background);
}

TEST_CASE("images: bilinear resize keeps a constant image and maps corners") {
  GreyImage flat{4, 4, std::vector<std::uint8_t>(16, 77)};
  CHECK(resize_image(flat, 2, 3).pixels == std::vector<std::uint8_t>(6, 77));
  GreyImage two{1, 2, {0, 200}};
  const GreyImage wide = resize_image(two, 1, 4);
  CHECK(wide.pixels == std::vector<std::uint8_t>{0, 50, 150, 200});
}
