// datasets/image_file: PGM, PNG and JPEG image files (the images `xgrad predict`
// takes), including hostile ones, and the bilinear resize.
#include <doctest/doctest.h>

#include <algorithm>
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

std::string image_file_error(const std::string& bytes) {
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
  CHECK(image_file_error("hello").find("not a PGM (P2/P5), PNG or JPEG image") != std::string::npos);
  CHECK(image_file_error("P5 100000 100000 255\n").find("exceeds") != std::string::npos);
  CHECK(image_file_error("P5 0 5 255\n").find("no pixels") != std::string::npos);
  CHECK(image_file_error("P5 4 4 255\n\x01\x02").find("truncated") != std::string::npos);
  CHECK(image_file_error("P2 2 1 10\n5 11\n").find("exceeds maxval") != std::string::npos);
  CHECK(image_file_error("P2 2 1 10\n5").find("end of the file") != std::string::npos);
  CHECK(image_file_error("P5 2 1 70000\n").find("maxval") != std::string::npos);
  const std::string good = png(4, 4, ramp(16));
  CHECK(image_file_error(good.substr(0, good.size() - 20)).find("PNG") != std::string::npos);  // truncated
  std::string bad_crc = good;
  bad_crc[40] = char(bad_crc[40] ^ 1);
  CHECK(image_file_error(bad_crc).find("CRC") != std::string::npos);
  // libpng's own messages, after "PNG: ".
  CHECK(image_file_error(png(4, 4, ramp(16), 5)) == "img: PNG: Invalid IHDR data");  // colour type 5
  CHECK(image_file_error(png(4, 4, ramp(16), 2)) == "img: PNG: Not enough image data");  // 1 byte a pixel, not 3
  CHECK(image_file_error(png(4, 4, ramp(16), 3)) == "img: PNG: IDAT: Missing PLTE before IDAT");
  CHECK(image_file_error(png_samples(2, 1, 3, 8, {1, 1}, png_chunk("PLTE", "ab"))) == "img: PNG: PLTE: invalid");
  CHECK(image_file_error(png(4, 4, ramp(16), 0, 3)) == "img: PNG: Not enough image data");
  std::string bad_data = good;
  bad_data[45] = char(bad_data[45] ^ 1);  // a byte of IDAT's zlib stream
  CHECK(image_file_error(bad_data).find("img: PNG: IDAT: ") == 0);
  // What libpng tolerates, as viewers built on it do: surplus image data is
  // ignored, and a palette index beyond the PLTE chunk reads as black.
  CHECK(decode_grey_image(png(4, 4, ramp(16), 0, -5), "img").pixels == ramp(16));
  const std::string two_entries = png_chunk("PLTE", std::string(6, '\x10'));
  CHECK(decode_grey_image(png_samples(2, 1, 3, 8, {1, 2}, two_entries), "img").pixels == std::vector<std::uint8_t>{16, 0});
  // A header promising 4096x4096 with a few bytes of data: refused before allocating.
  CHECK(image_file_error(png_from_raw(4096, 4096, 0, std::string(100, '\0'))).find("far too short") != std::string::npos);
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
  CHECK(image_file_error(huge) == limit);
  CHECK(image_file_error("P5 4097 4096 255\n") == "img: image of 4097x4096 has more than the limit of 16777216 pixels (4096x4096)");
  CHECK(image_file_error("P5 16385 1 255\n") == "img: image of 16385x1 exceeds the 16384x16384 limit");
  // Within the limits the size comes back without a pixel decoded (these have none worth decoding).
  const std::string big = png_from_raw(4096, 4096, 4, std::string(100, '\0'), 16);
  const ImageSize png_size = image_size(big, "img");
  CHECK(png_size.cols == 4096);
  CHECK(png_size.rows == 4096);
  CHECK(image_file_error(big).find("far too short") != std::string::npos);
  const ImageSize pgm_size = image_size("P5 # wide\n640 480 255\n", "img");
  CHECK(pgm_size.cols == 640);
  CHECK(pgm_size.rows == 480);
  CHECK(image_file_error("P5 640 480 255\n").find("truncated") != std::string::npos);
  // The header itself is checked.
  std::string bad_crc = png(4, 4, ramp(16));
  bad_crc[20] = char(bad_crc[20] ^ 1);
  CHECK_THROWS_WITH_AS(image_size(bad_crc, "img"), "img: PNG: IHDR: CRC error", InputError);
  CHECK_THROWS_WITH_AS(image_size(bad_crc.substr(0, 30), "img"), "img: PNG: truncated (the file ends inside the image)", InputError);
  CHECK_THROWS_WITH_AS(image_size("GIF89a", "img"), "img: not a PGM (P2/P5), PNG or JPEG image", InputError);
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
  GreyImage page{1, 4, 4, std::vector<std::uint8_t>(16, 250)};
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
  GreyImage middle{1, 5, 5, std::vector<std::uint8_t>(25, 255)};
  for (std::size_t i = 0; i < 25; ++i)
    if (i / 5 == 0 || i / 5 == 4 || i % 5 == 0 || i % 5 == 4) middle.pixels[i] = 10;
  CHECK(!image_polarity(middle, 0.13).light_background);
}

TEST_CASE("images: bilinear resize keeps a constant image and maps corners") {
  GreyImage flat{1, 4, 4, std::vector<std::uint8_t>(16, 77)};
  CHECK(resize_image(flat, 2, 3).pixels == std::vector<std::uint8_t>(6, 77));
  GreyImage two{1, 1, 2, {0, 200}};
  const GreyImage wide = resize_image(two, 1, 4);
  CHECK(wide.pixels == std::vector<std::uint8_t>{0, 50, 150, 200});
}

TEST_CASE("images: libpng reads palette, interlaced, 16-bit, grey + alpha and low-bit PNGs") {
  const std::vector<std::uint8_t> grey = ramp(9 * 7);
  // Interlaced (Adam7) grey, 8 and 16 bits: the same pixels as not interlaced.
  CHECK(decode_grey_image(png_written(9, 7, 0, 8, grey, true), "i.png").pixels == grey);
  std::vector<std::uint8_t> wide(2 * grey.size());
  for (std::size_t i = 0; i < grey.size(); ++i) wide[2 * i] = wide[2 * i + 1] = grey[i];  // v * 257: exactly v/255
  CHECK(decode_grey_image(png_written(9, 7, 0, 16, wide, true), "i16.png").pixels == grey);
  // 1-bit grey: 0 and 1 become black and white.
  const GreyImage bits = decode_grey_image(png_written(3, 1, 0, 1, {1, 0, 1}, false), "b.png");
  CHECK(bits.pixels == std::vector<std::uint8_t>{255, 0, 255});
  // A 4-bit palette image, interlaced: red, green, blue, white.
  const std::vector<std::uint8_t> palette = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
  const Image pal = decode_image(png_written(4, 1, 3, 4, {0, 1, 2, 3}, true, palette), "p.png", 3);
  CHECK(pal.channels == 3);
  CHECK(pal.pixels == std::vector<std::uint8_t>{255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255});  // R plane, G plane, B plane
  CHECK(decode_grey_image(png_written(4, 1, 3, 4, {0, 1, 2, 3}, true, palette), "p.png").pixels ==
        std::vector<std::uint8_t>{76, 150, 29, 255});
  // Grey + alpha, 16 bits: opaque 40, transparent (white page).
  const GreyImage ga = decode_grey_image(png_written(2, 1, 4, 16, {40, 40, 255, 255, 40, 40, 0, 0}, false), "ga16.png");
  CHECK(ga.pixels == std::vector<std::uint8_t>{40, 255});
}

TEST_CASE("images: RGB is kept as three planes (CHW) with --channels 3, grey repeats in each") {
  // RGBA: red opaque, transparent black (white), half-transparent blue.
  const Image rgba = decode_image(png_samples(3, 1, 6, 8, {255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128}), "rgba.png", 3);
  CHECK(rgba.rows == 1);
  CHECK(rgba.cols == 3);
  CHECK(rgba.pixels == std::vector<std::uint8_t>{255, 255, 127, 0, 255, 127, 0, 255, 255});
  const Image pgm = decode_image(std::string("P5 2 1 255\n\x10\x20", 13), "g.pgm", 3);
  CHECK(pgm.pixels == std::vector<std::uint8_t>{0x10, 0x20, 0x10, 0x20, 0x10, 0x20});
  CHECK_THROWS_WITH_AS(decode_image(std::string("P5 2 1 255\n\x10\x20", 13), "g.pgm", 2),
                       "g.pgm: images are read with 1 or 3 channels, not 2", InputError);
  // Resize works plane by plane.
  const Image two{3, 1, 2, {0, 200, 10, 10, 200, 0}};
  CHECK(resize_image(two, 1, 4).pixels == std::vector<std::uint8_t>{0, 50, 150, 200, 10, 10, 10, 10, 200, 150, 50, 0});
}

TEST_CASE("images: JPEG photos through libjpeg-turbo, baseline and progressive, grey and colour") {
  // A smooth colour gradient: JPEG is lossy, so the decoded pixels are compared within a few levels.
  const std::uint32_t w = 16, h = 12;
  std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);
  for (std::size_t p = 0; p < std::size_t(w) * h; ++p) {
    rgb[3 * p] = std::uint8_t(100 + (p % w) * 8), rgb[3 * p + 1] = std::uint8_t(60 + (p / w) * 6), rgb[3 * p + 2] = 128;
  }
  for (const bool progressive : {false, true}) {
    CAPTURE(progressive);
    const std::string file = jpeg(w, h, 3, rgb, 100, progressive);
    const ImageSize size = image_size(file, "photo.jpg");
    CHECK(size.cols == w);
    CHECK(size.rows == h);
    const Image colour = decode_image(file, "photo.jpg", 3);
    const GreyImage grey = decode_grey_image(file, "photo.jpg");
    REQUIRE(colour.pixels.size() == rgb.size());
    int worst = 0, worst_luma = 0;
    for (std::size_t p = 0; p < std::size_t(w) * h; ++p) {
      for (std::size_t k = 0; k < 3; ++k) worst = std::max(worst, std::abs(int(colour.pixels[k * w * h + p]) - int(rgb[3 * p + k])));
      const double luma = 0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2];
      worst_luma = std::max(worst_luma, std::abs(int(grey.pixels[p]) - int(std::lround(luma))));
    }
    CHECK(worst <= 6);
    CHECK(worst_luma <= 4);
  }
  // A grey JPEG stays grey, and read as RGB repeats it.
  std::vector<std::uint8_t> level(std::size_t(w) * h);
  for (std::size_t p = 0; p < level.size(); ++p) level[p] = std::uint8_t(p * 255 / level.size());
  const Image g3 = decode_image(jpeg(w, h, 1, level, 100), "g.jpg", 3);
  CHECK(std::equal(g3.pixels.begin(), g3.pixels.begin() + std::ptrdiff_t(level.size()), g3.pixels.begin() + std::ptrdiff_t(level.size())));
}

TEST_CASE("images: hostile JPEGs are refused with one message naming the file") {
  const std::vector<std::uint8_t> level(64 * 64, 90);
  std::vector<std::uint8_t> noisy(64 * 64);
  for (std::size_t i = 0; i < noisy.size(); ++i) noisy[i] = std::uint8_t((i * 7919) % 251);
  const std::string good = jpeg(64, 64, 1, noisy, 90);
  // Truncated in the middle of the image data: libjpeg would fill the rest with grey; we refuse.
  CHECK(image_file_error(good.substr(0, good.size() / 2)).rfind("img: JPEG: ", 0) == 0);
  CHECK(image_file_error(good.substr(0, 3)).rfind("img: JPEG: ", 0) == 0);
  CHECK_THROWS_AS(image_size(good.substr(0, 40), "img"), InputError);
  // A header declaring 65000x65000 (over the side limit) is refused from the header.
  std::string huge = jpeg(8, 8, 1, std::vector<std::uint8_t>(64, 1));
  const std::size_t sof = huge.find("\xff\xc0");
  REQUIRE(sof != std::string::npos);
  huge[sof + 5] = huge[sof + 7] = char(0xfd), huge[sof + 6] = huge[sof + 8] = char(0xe8);  // height, width = 65000
  CHECK_THROWS_WITH_AS(image_size(huge, "img"), "img: image of 65000x65000 exceeds the 16384x16384 limit", InputError);
  CHECK(image_file_error(huge) == "img: image of 65000x65000 exceeds the 16384x16384 limit");
  CHECK(decode_grey_image(jpeg(64, 64, 1, level), "ok").pixels == level);
}
