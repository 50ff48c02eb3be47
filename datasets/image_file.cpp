#include "datasets/image_file.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <zlib.h>

#include "core/error.hpp"

namespace xg {
namespace {

[[noreturn]] void fail(const std::string& source, const std::string& what) { throw InputError(source + ": " + what); }

void check_size(const std::string& source, std::uint64_t cols, std::uint64_t rows) {
  const std::string size = std::to_string(cols) + "x" + std::to_string(rows);
  if (cols == 0 || rows == 0) fail(source, "image has no pixels (" + size + ")");
  if (cols > kMaxImageSide || rows > kMaxImageSide) {
    fail(source, "image of " + size + " exceeds the " + std::to_string(kMaxImageSide) + "x" + std::to_string(kMaxImageSide) + " limit");
  }
  if (cols * rows > kMaxImagePixels) {
    fail(source, "image of " + size + " has more than the limit of " + std::to_string(kMaxImagePixels) + " pixels (4096x4096)");
  }
}

// ---- PGM: "P5" or "P2", whitespace, width, height, maxval (comments from # to line end), then pixels.
class PgmTokens {
 public:
  PgmTokens(const std::string& bytes, const std::string& source) : b_(bytes), source_(source) {}
  std::uint64_t number(const char* what) {
    skip_space();
    if (pos_ >= b_.size() || b_[pos_] < '0' || b_[pos_] > '9') fail(source_, std::string("PGM: expected the ") + what + ", found " + (pos_ >= b_.size() ? "the end of the file" : "something else"));
    std::uint64_t v = 0;
    while (pos_ < b_.size() && b_[pos_] >= '0' && b_[pos_] <= '9') {
      v = v * 10 + std::uint64_t(b_[pos_++] - '0');
      if (v > 100000000) fail(source_, std::string("PGM: the ") + what + " is too large");
    }
    return v;
  }
  void skip_space() {
    while (pos_ < b_.size()) {
      if (b_[pos_] == '#') {
        while (pos_ < b_.size() && b_[pos_] != '\n') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(b_[pos_]))) {
        ++pos_;
      } else {
        break;
      }
    }
  }
  std::size_t pos_ = 2;

 private:
  const std::string& b_;
  const std::string& source_;
};

struct PgmHeader {
  std::uint64_t cols = 0, rows = 0, maxval = 0;
  std::size_t end = 0;  // the offset just after maxval
};

PgmHeader read_pgm_header(const std::string& bytes, const std::string& source) {
  PgmTokens t(bytes, source);
  PgmHeader h;
  h.cols = t.number("width");
  h.rows = t.number("height");
  check_size(source, h.cols, h.rows);
  h.maxval = t.number("maxval");
  if (h.maxval == 0 || h.maxval > 65535) fail(source, "PGM: maxval " + std::to_string(h.maxval) + " is not in 1..65535");
  h.end = t.pos_;
  return h;
}

GreyImage decode_pgm(const std::string& bytes, const std::string& source) {
  const bool binary = bytes[1] == '5';
  const PgmHeader header = read_pgm_header(bytes, source);
  const std::uint64_t cols = header.cols, rows = header.rows, maxval = header.maxval;
  PgmTokens t(bytes, source);
  t.pos_ = header.end;
  GreyImage image;
  image.rows = rows;
  image.cols = cols;
  const std::uint64_t count = rows * cols;
  auto scale = [&](std::uint64_t v) -> std::uint8_t {
    if (v > maxval) fail(source, "PGM: pixel value " + std::to_string(v) + " exceeds maxval " + std::to_string(maxval));
    return std::uint8_t((v * 255 + maxval / 2) / maxval);
  };
  if (binary) {
    // Exactly one whitespace byte separates maxval from the pixels.
    std::size_t pos = t.pos_;
    if (pos >= bytes.size() || !std::isspace(static_cast<unsigned char>(bytes[pos]))) fail(source, "PGM: no whitespace after maxval");
    ++pos;
    const std::uint64_t width = maxval > 255 ? 2 : 1;
    const std::uint64_t need = count * width;
    if (bytes.size() - pos < need) {
      fail(source, "PGM: truncated: " + std::to_string(cols) + "x" + std::to_string(rows) + " needs " + std::to_string(need) +
                       " bytes of pixels, the file holds " + std::to_string(bytes.size() - pos));
    }
    image.pixels.resize(count);
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data() + pos);
    for (std::uint64_t i = 0; i < count; ++i) {
      image.pixels[i] = scale(width == 2 ? std::uint64_t(p[2 * i]) << 8 | p[2 * i + 1] : p[i]);
    }
    return image;
  }
  // P2: each pixel takes at least two bytes of text, so a short file cannot promise many.
  if (count > bytes.size()) fail(source, "PGM: truncated: " + std::to_string(count) + " pixels promised, the file is too short");
  image.pixels.resize(count);
  for (std::uint64_t i = 0; i < count; ++i) image.pixels[i] = scale(t.number("pixel value"));
  return image;
}

// ---- PNG
std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// What the chunks of a PNG hold: the IHDR fields and the IDAT data joined.
struct PngChunks {
  std::uint32_t cols = 0, rows = 0;
  int depth = 0, colour = -1;
  std::string compressed;
  std::vector<std::uint8_t> palette;  // PLTE: 3 bytes (R, G, B) per entry
  std::vector<std::uint8_t> palette_alpha;  // tRNS of a palette image: one alpha per entry (the rest are opaque)
};

// Samples per pixel of each PNG colour type: 0 grey, 2 RGB, 3 palette index, 4 grey + alpha, 6 RGBA.
std::size_t png_channels(int colour) { return colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1; }

// IHDR: a size within the limits, 8 or 16 bits per sample (palette: 8), no interlacing.
void read_png_header(const std::uint8_t* body, const std::string& source, PngChunks& png) {
  png.cols = be32(body);
  png.rows = be32(body + 4);
  png.depth = body[8];
  png.colour = body[9];
  check_size(source, png.cols, png.rows);
  if (body[10] != 0 || body[11] != 0) fail(source, "PNG: unknown compression or filter method");
  if (body[12] != 0) fail(source, "PNG: interlaced images are not supported; save it without interlacing");
  if (png.colour != 0 && png.colour != 2 && png.colour != 3 && png.colour != 4 && png.colour != 6) {
    fail(source, "PNG: unknown colour type " + std::to_string(png.colour));
  }
  if (png.colour == 3 && png.depth != 8) {
    fail(source, "PNG: palette images of bit depth " + std::to_string(png.depth) + " are not supported (8 bits)");
  }
  if (png.depth != 8 && png.depth != 16) fail(source, "PNG: bit depth " + std::to_string(png.depth) + " is not supported (8 or 16)");
}

// The first chunk, which must be a well-formed IHDR.
PngChunks read_png_ihdr(const std::string& bytes, const std::string& source) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  constexpr std::size_t kIhdrEnd = 8 + 12 + 13;  // signature, then the chunk: length, type, 13 bytes, CRC
  if (bytes.size() < kIhdrEnd) fail(source, "PNG: truncated (the file ends inside the IHDR chunk)");
  if (bytes.compare(12, 4, "IHDR") != 0) fail(source, "PNG: the first chunk is " + bytes.substr(12, 4) + ", expected IHDR");
  if (be32(data + 8) != 13) fail(source, "PNG: malformed IHDR chunk");
  if (crc32(crc32(0, data + 12, 4), data + 16, 13) != be32(data + 29)) fail(source, "PNG: chunk IHDR fails its CRC check");
  PngChunks png;
  read_png_header(data + 16, source, png);
  return png;
}

// Walks the chunks after the signature up to IEND, checking each one's length and CRC.
PngChunks read_png_chunks(const std::string& bytes, const std::string& source) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const std::size_t size = bytes.size();
  std::size_t pos = 8;
  PngChunks png;
  bool seen_header = false, seen_end = false;
  while (!seen_end) {
    if (size - pos < 12) fail(source, "PNG: truncated (a chunk header runs past the end of the file)");
    const std::uint32_t length = be32(data + pos);
    const std::string type(bytes, pos + 4, 4);
    if (length > size - pos - 12) fail(source, "PNG: chunk " + type + " of " + std::to_string(length) + " bytes runs past the end of the file");
    const std::uint8_t* body = data + pos + 8;
    if (crc32(crc32(0, data + pos + 4, 4), body, length) != be32(body + length)) fail(source, "PNG: chunk " + type + " fails its CRC check");
    if (!seen_header && type != "IHDR") fail(source, "PNG: the first chunk is " + type + ", expected IHDR");
    if (type == "IHDR") {
      if (seen_header || length != 13) fail(source, "PNG: malformed IHDR chunk");
      seen_header = true;
      read_png_header(body, source, png);
    } else if (type == "IDAT") {
      if (png.compressed.size() + length > (std::size_t(64) << 20)) fail(source, "PNG: more than 64 MiB of image data");
      png.compressed.append(reinterpret_cast<const char*>(body), length);
    } else if (type == "PLTE") {
      if (length % 3 != 0 || length == 0 || length > 3 * 256) fail(source, "PNG: malformed PLTE chunk");
      png.palette.assign(body, body + length);
    } else if (type == "tRNS" && png.colour == 3) {
      png.palette_alpha.assign(body, body + std::min<std::size_t>(length, 256));
    } else if (type == "IEND") {
      seen_end = true;
    } else if (!(type[0] & 0x20)) {
      fail(source, "PNG: unknown critical chunk " + type);
    }
    pos += 12 + std::size_t(length);
  }
  if (png.colour == 3 && png.palette.empty()) fail(source, "PNG: a palette image without a PLTE chunk");
  return png;
}

// Inflates the IDAT data into exactly `expected` bytes: each row a filter byte, then the row.
std::vector<std::uint8_t> inflate_png_data(PngChunks& png, std::size_t expected, const std::string& source) {
  // Deflate compresses at most ~1032:1; a header promising more than that is lying.
  if (expected / 1032 > png.compressed.size() + 64) fail(source, "PNG: the image data is far too short for " + std::to_string(png.cols) + "x" + std::to_string(png.rows));
  std::vector<std::uint8_t> raw(expected);
  z_stream z{};
  if (inflateInit(&z) != Z_OK) fail(source, "PNG: cannot start zlib");
  z.next_in = reinterpret_cast<Bytef*>(png.compressed.data());
  z.avail_in = uInt(png.compressed.size());
  z.next_out = raw.data();
  z.avail_out = uInt(raw.size());
  const int status = inflate(&z, Z_FINISH);
  const std::size_t produced = raw.size() - z.avail_out;
  inflateEnd(&z);
  if (status != Z_STREAM_END || produced != expected) {
    fail(source, "PNG: corrupt or truncated image data (inflated " + std::to_string(produced) + " of " + std::to_string(expected) +
                     " bytes" + (status == Z_BUF_ERROR && produced == expected ? ", with more left over)" : ")"));
  }
  return raw;
}

// One pixel's grey level, 0..255: the luma of ITU-R BT.601, 0.299 R + 0.587 G + 0.114 B,
// of a colour pixel (a palette entry's colour), then composited over a white
// background by its alpha, the way a viewer shows a transparent image on a
// white page: grey = alpha * luma + (1 - alpha) * 255.
std::uint8_t png_pixel_grey(const std::uint8_t* px, const PngChunks& png, const std::string& source) {
  const std::size_t channels = png_channels(png.colour);
  double sample[4] = {0, 0, 0, 1};  // each in [0, 1]
  if (png.colour == 3) {
    const std::size_t entry = px[0];
    if (3 * entry + 2 >= png.palette.size()) fail(source, "PNG: a pixel uses palette entry " + std::to_string(entry) + ", beyond the PLTE chunk");
    for (std::size_t i = 0; i < 3; ++i) sample[i] = png.palette[3 * entry + i] / 255.0;
    if (entry < png.palette_alpha.size()) sample[3] = png.palette_alpha[entry] / 255.0;
  } else {
    for (std::size_t i = 0; i < channels; ++i) {
      sample[i] = png.depth == 16 ? (std::uint32_t(px[2 * i]) << 8 | px[2 * i + 1]) / 65535.0 : px[i] / 255.0;
    }
  }
  double luma = 0.0, alpha = 1.0;
  if (png.colour == 0 || png.colour == 4) {
    luma = sample[0];
    alpha = png.colour == 4 ? sample[1] : 1.0;
  } else {
    luma = 0.299 * sample[0] + 0.587 * sample[1] + 0.114 * sample[2];
    alpha = png.colour == 6 || png.colour == 3 ? sample[3] : 1.0;
  }
  return std::uint8_t(std::lround(std::clamp(alpha * luma + (1.0 - alpha), 0.0, 1.0) * 255.0));
}

// Undoes the per-row filters of `raw` in place and turns each pixel into its grey level (png_pixel_grey).
GreyImage unfilter_png_rows(std::vector<std::uint8_t>& raw, const PngChunks& png, std::size_t bytes_per_pixel,
                            const std::string& source) {
  const std::uint32_t cols = png.cols, rows = png.rows;
  const std::size_t stride = std::size_t(cols) * bytes_per_pixel;
  std::vector<std::uint8_t> previous(stride, 0);
  GreyImage image;
  image.rows = rows;
  image.cols = cols;
  image.pixels.resize(std::size_t(rows) * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    std::uint8_t* line = raw.data() + r * (stride + 1);
    const int filter = line[0];
    std::uint8_t* x = line + 1;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bytes_per_pixel ? x[i - bytes_per_pixel] : 0, b = previous[i],
                c = i >= bytes_per_pixel ? previous[i - bytes_per_pixel] : 0;
      switch (filter) {
        case 0: break;
        case 1: x[i] = std::uint8_t(x[i] + a); break;
        case 2: x[i] = std::uint8_t(x[i] + b); break;
        case 3: x[i] = std::uint8_t(x[i] + (a + b) / 2); break;
        case 4: x[i] = std::uint8_t(x[i] + paeth(a, b, c)); break;
        default: fail(source, "PNG: row " + std::to_string(r) + " has unknown filter type " + std::to_string(filter));
      }
    }
    std::memcpy(previous.data(), x, stride);
    for (std::size_t c = 0; c < cols; ++c) image.pixels[r * cols + c] = png_pixel_grey(x + c * bytes_per_pixel, png, source);
  }
  return image;
}

GreyImage decode_png(const std::string& bytes, const std::string& source) {
  PngChunks png = read_png_chunks(bytes, source);
  const std::size_t bytes_per_pixel = png_channels(png.colour) * std::size_t(png.depth / 8);
  const std::size_t stride = std::size_t(png.cols) * bytes_per_pixel;
  std::vector<std::uint8_t> raw = inflate_png_data(png, std::size_t(png.rows) * (stride + 1), source);
  return unfilter_png_rows(raw, png, bytes_per_pixel, source);
}

bool is_png(const std::string& bytes) { return bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0; }
bool is_pgm(const std::string& bytes) { return bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2'); }
const char* const kNotAnImage = "not a PGM (P2/P5) or PNG image";

}  // namespace

ImageSize image_size(const std::string& bytes, const std::string& source) {
  if (is_png(bytes)) {
    const PngChunks png = read_png_ihdr(bytes, source);
    return {png.rows, png.cols};
  }
  if (is_pgm(bytes)) {
    const PgmHeader pgm = read_pgm_header(bytes, source);
    return {std::size_t(pgm.rows), std::size_t(pgm.cols)};
  }
  fail(source, kNotAnImage);
}

GreyImage decode_grey_image(const std::string& bytes, const std::string& source) {
  if (is_png(bytes)) return decode_png(bytes, source);
  if (is_pgm(bytes)) return decode_pgm(bytes, source);
  fail(source, kNotAnImage);
}

std::string read_image_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) fail(path, "file does not exist");
  if (!fs::is_regular_file(status)) fail(path, "not a regular file, expected a PGM or PNG image");
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read the file size: " + ec.message());
  if (size > kMaxImageFileBytes) fail(path, "larger than the " + std::to_string(kMaxImageFileBytes >> 20) + " MiB image limit");
  std::ifstream in(path, std::ios::binary);
  std::string bytes(std::size_t(size), '\0');
  in.read(bytes.data(), std::streamsize(size));
  if (!in || std::uint64_t(in.gcount()) != size) fail(path, "read error");
  return bytes;
}

Polarity image_polarity(const GreyImage& image, double training_mean) {
  double sum = 0.0;
  std::size_t count = 0;
  for (std::size_t r = 0; r < image.rows; ++r) {
    const bool edge_row = r == 0 || r + 1 == image.rows;
    for (std::size_t c = 0; c < image.cols; ++c) {
      if (!edge_row && c != 0 && c + 1 != image.cols) continue;
      sum += image.pixels[r * image.cols + c];
      ++count;
    }
  }
  Polarity p;
  p.border_mean = count ? sum / double(count) : 0.0;
  p.light_background = p.border_mean > 127.5;
  p.training_light_background = training_mean >= 0.5;
  return p;
}

void invert_image(GreyImage& image) {
  for (std::uint8_t& v : image.pixels) v = std::uint8_t(255 - v);
}

GreyImage read_grey_image(const std::string& path) { return decode_grey_image(read_image_file(path), path); }

GreyImage resize_image(const GreyImage& in, std::size_t rows, std::size_t cols) {
  GreyImage out;
  out.rows = rows;
  out.cols = cols;
  out.pixels.resize(rows * cols);
  // Pixel centres aligned (align_corners = false, as PIL and torch do).
  const double sy = double(in.rows) / double(rows), sx = double(in.cols) / double(cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const double y = std::clamp((double(r) + 0.5) * sy - 0.5, 0.0, double(in.rows - 1));
    const std::size_t y0 = std::size_t(y), y1 = std::min(y0 + 1, in.rows - 1);
    const double fy = y - double(y0);
    for (std::size_t c = 0; c < cols; ++c) {
      const double x = std::clamp((double(c) + 0.5) * sx - 0.5, 0.0, double(in.cols - 1));
      const std::size_t x0 = std::size_t(x), x1 = std::min(x0 + 1, in.cols - 1);
      const double fx = x - double(x0);
      auto at = [&](std::size_t yy, std::size_t xx) { return double(in.pixels[yy * in.cols + xx]); };
      const double v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
      out.pixels[r * cols + c] = std::uint8_t(std::lround(std::clamp(v, 0.0, 255.0)));
    }
  }
  return out;
}

}  // namespace xg
