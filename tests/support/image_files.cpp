#include "tests/support/image_files.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <jpeglib.h>
#include <png.h>
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

namespace {

void append_bytes(png_structp png, png_bytep data, png_size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), n);
}

// libpng's part of png_written: no C++ object with a destructor lives in this
// frame, so libpng's longjmp on an error skips none.
bool write_png_rows(png_structp png, png_infop info, std::uint32_t w, std::uint32_t h, int colour, int depth,
                    bool interlaced, const std::vector<std::uint8_t>* palette, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, w, h, depth, colour, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (colour == PNG_COLOR_TYPE_PALETTE) {
    png_color entries[256];
    const std::size_t n = palette->size() / 3;
    for (std::size_t i = 0; i < n && i < 256; ++i) entries[i] = {(*palette)[3 * i], (*palette)[3 * i + 1], (*palette)[3 * i + 2]};
    png_set_PLTE(png, info, entries, int(n));
  }
  png_write_info(png, info);
  if (depth < 8) png_set_packing(png);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

struct JpegFailure {
  jpeg_error_mgr base;
  std::jmp_buf jump;
};

void jpeg_failed(j_common_ptr c) { std::longjmp(reinterpret_cast<JpegFailure*>(c->err)->jump, 1); }

bool write_jpeg_rows(jpeg_compress_struct* c, std::uint32_t w, std::uint32_t h, int channels, int quality, bool progressive,
                     const std::uint8_t* pixels, unsigned char** out, unsigned long* size) {
  if (setjmp(reinterpret_cast<JpegFailure*>(c->err)->jump)) return false;
  jpeg_create_compress(c);
  jpeg_mem_dest(c, out, size);
  c->image_width = w;
  c->image_height = h;
  c->input_components = channels;
  c->in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(c);
  jpeg_set_quality(c, quality, TRUE);
  if (progressive) jpeg_simple_progression(c);
  jpeg_start_compress(c, TRUE);
  while (c->next_scanline < h) {
    JSAMPROW row = const_cast<std::uint8_t*>(pixels) + std::size_t(c->next_scanline) * w * std::size_t(channels);
    jpeg_write_scanlines(c, &row, 1);
  }
  jpeg_finish_compress(c);
  return true;
}

}  // namespace

std::string png_written(std::uint32_t w, std::uint32_t h, int colour, int depth, const std::vector<std::uint8_t>& bytes,
                        bool interlaced, const std::vector<std::uint8_t>& palette) {
  const std::size_t samples = colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1;
  const std::size_t stride = std::size_t(w) * samples * (depth == 16 ? 2 : 1);
  if (bytes.size() != stride * h) throw std::invalid_argument("png_written: wrong number of bytes");
  std::vector<std::uint8_t> copy(bytes);
  std::vector<png_bytep> rows(h);
  for (std::uint32_t r = 0; r < h; ++r) rows[r] = copy.data() + r * stride;
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, append_bytes, nullptr);
  const bool ok = write_png_rows(png, info, w, h, colour, depth, interlaced, &palette, rows.data());
  png_destroy_write_struct(&png, &info);
  if (!ok) throw std::runtime_error("png_written: libpng failed");
  return out;
}

std::string jpeg(std::uint32_t w, std::uint32_t h, int channels, const std::vector<std::uint8_t>& pixels, int quality,
                 bool progressive) {
  if (pixels.size() != std::size_t(w) * h * std::size_t(channels)) throw std::invalid_argument("jpeg: wrong number of pixels");
  jpeg_compress_struct c{};
  JpegFailure failure;
  c.err = jpeg_std_error(&failure.base);
  failure.base.error_exit = jpeg_failed;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const bool ok = write_jpeg_rows(&c, w, h, channels, quality, progressive, pixels.data(), &buffer, &size);
  jpeg_destroy_compress(&c);
  std::string out = ok ? std::string(reinterpret_cast<const char*>(buffer), size) : "";
  std::free(buffer);
  if (!ok) throw std::runtime_error("jpeg: libjpeg failed");
  return out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_image_folder(const std::string& root, std::size_t classes, std::size_t per_class, std::uint32_t w,
                        std::uint32_t h, const std::string& prefix) {
  for (std::size_t k = 0; k < classes; ++k) {
    const std::size_t bar = k * h / classes;
    for (std::size_t i = 0; i < per_class; ++i) {
      std::vector<std::uint8_t> pixels(std::size_t(w) * h);
      for (std::size_t p = 0; p < pixels.size(); ++p) pixels[p] = std::uint8_t((p * 7 + i * 13 + k) % 30);
      for (std::uint32_t c = 0; c < w; ++c) pixels[bar * w + c] = 255;
      write_bytes(root + "/c" + std::to_string(k) + "/" + prefix + std::to_string(i) + ".png", png(w, h, pixels));
    }
  }
}

void write_rgb_image_folder(const std::string& root, std::size_t classes, std::size_t per_class, std::uint32_t w,
                            std::uint32_t h) {
  for (std::size_t k = 0; k < classes; ++k) {
    const std::size_t bar = k * h / classes;
    for (std::size_t i = 0; i < per_class; ++i) {
      std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);  // interleaved, as PNG stores it
      for (std::size_t p = 0; p < std::size_t(w) * h; ++p) {
        rgb[3 * p] = 255;                          // red
        rgb[3 * p + 1] = p / w == bar ? 255 : 0;   // green: the class's bar
        rgb[3 * p + 2] = i % 2 == 0 ? 255 : 0;     // blue: every other image
      }
      write_bytes(root + "/c" + std::to_string(k) + "/" + std::to_string(i) + ".png", png_samples(w, h, 2, 8, rgb));
    }
  }
}

}  // namespace xg::testing
