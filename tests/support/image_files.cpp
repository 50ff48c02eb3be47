#include "tests/support/image_files.hpp"

#include <cstdlib>

#include <zlib.h>

namespace xg::testing {
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

// PNG's row filters, each row taking filter (row % 5) so that every one is
// exercised: `bytes` holds h rows of w * bpp bytes.
std::string filter_rows(std::uint32_t w, std::uint32_t h, std::size_t bpp, const std::vector<std::uint8_t>& bytes) {
  const std::size_t stride = std::size_t(w) * bpp;
  std::string raw;
  for (std::uint32_t r = 0; r < h; ++r) {
    const int filter = int(r % 5);
    raw.push_back(char(filter));
    const std::uint8_t* line = bytes.data() + r * stride;
    const std::uint8_t* above = r ? line - stride : nullptr;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? line[i - bpp] : 0, b = above ? above[i] : 0, c = above && i >= bpp ? above[i - bpp] : 0;
      int pred = 0;
      if (filter == 1) pred = a;
      if (filter == 2) pred = b;
      if (filter == 3) pred = (a + b) / 2;
      if (filter == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw.push_back(char(std::uint8_t(line[i] - pred)));
    }
  }
  return raw;
}

// The file: signature, IHDR, `chunks`, the zlib-compressed `raw` rows as IDAT, IEND.
std::string png_file(std::uint32_t w, std::uint32_t h, int colour, int depth, const std::string& raw,
                     const std::string& chunks) {
  std::string ihdr;
  put32(ihdr, w);
  put32(ihdr, h);
  ihdr += std::string{char(depth), char(colour), 0, 0, 0};
  std::string z(compressBound(uLong(raw.size())), '\0');
  uLongf n = uLongf(z.size());
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()));
  z.resize(n);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunks + chunk("IDAT", z) + chunk("IEND", "");
}

}  // namespace

std::string png(std::uint32_t w, std::uint32_t h, const std::vector<std::uint8_t>& pixels, int colour,
                std::int64_t cut_raw) {
  std::string raw = filter_rows(w, h, 1, pixels);
  raw.resize(std::size_t(std::int64_t(raw.size()) - cut_raw));
  return png_from_raw(w, h, colour, raw);
}

std::string png_from_raw(std::uint32_t w, std::uint32_t h, int colour, const std::string& raw, int depth) {
  return png_file(w, h, colour, depth, raw, "");
}

std::string png_chunk(const std::string& type, const std::string& body) { return chunk(type, body); }

std::string png_samples(std::uint32_t w, std::uint32_t h, int colour, int depth, const std::vector<std::uint8_t>& bytes,
                        const std::string& chunks) {
  const std::size_t channels = colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1;
  return png_file(w, h, colour, depth, filter_rows(w, h, channels * std::size_t(depth / 8), bytes), chunks);
}

}  // namespace xg::testing
