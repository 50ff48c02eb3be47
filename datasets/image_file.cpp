#include "datasets/image_file.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "core/error.hpp"

namespace xg {
namespace {

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

// ---- Samples to pixels, for every format.

// One pixel's value in [0, 1] composited over white by its alpha, as a byte.
std::uint8_t over_white(double value, double alpha) {
  return std::uint8_t(std::lround(std::clamp(alpha * value + (1.0 - alpha), 0.0, 1.0) * 255.0));
}

// An Image of `channels` (1 or 3) from interleaved samples: `rows` rows `stride`
// bytes apart, each of `cols` pixels of `n` samples (1 grey, 2 grey + alpha,
// 3 RGB, 4 RGBA) of `depth` bits (8, or 16 big-endian). Grey from colour is
// BT.601's luma 0.299 R + 0.587 G + 0.114 B; RGB from grey repeats the level;
// alpha composites over white (image_file.hpp).
Image image_from_samples(const std::uint8_t* samples, std::size_t rows, std::size_t cols, std::size_t stride, int n,
                         int depth, std::size_t channels) {
  Image image;
  image.channels = channels;
  image.rows = rows;
  image.cols = cols;
  image.pixels.resize(channels * rows * cols);
  const std::size_t plane = rows * cols;
  const bool grey = n <= 2, has_alpha = n == 2 || n == 4;
  const std::size_t bytes_per_sample = depth == 16 ? 2 : 1;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* line = samples + r * stride;
    for (std::size_t c = 0; c < cols; ++c) {
      const std::uint8_t* px = line + c * std::size_t(n) * bytes_per_sample;
      double s[4] = {0, 0, 0, 1};  // each in [0, 1]
      for (int i = 0; i < n; ++i) {
        s[i] = depth == 16 ? (std::uint32_t(px[2 * i]) << 8 | px[2 * i + 1]) / 65535.0 : px[i] / 255.0;
      }
      const double alpha = has_alpha ? s[n - 1] : 1.0;
      const std::size_t at = r * cols + c;
      if (channels == 1) {
        image.pixels[at] = over_white(grey ? s[0] : 0.299 * s[0] + 0.587 * s[1] + 0.114 * s[2], alpha);
      } else {
        for (std::size_t k = 0; k < 3; ++k) image.pixels[k * plane + at] = over_white(grey ? s[0] : s[k], alpha);
      }
    }
  }
  return image;
}

// A grey image with its level repeated in `channels` planes.
Image with_channels(Image grey, std::size_t channels) {
  if (channels == 1) return grey;
  const std::size_t plane = grey.pixels.size();
  grey.pixels.resize(channels * plane);
  for (std::size_t k = 1; k < channels; ++k) std::copy_n(grey.pixels.begin(), plane, grey.pixels.begin() + std::ptrdiff_t(k * plane));
  grey.channels = channels;
  return grey;
}

// ---- PNG through libpng.
//
// libpng reports an error by calling our error function, which must not
// return: it copies the message and longjmps back to the setjmp of the step
// that called libpng. Each step (png_step_*) is a small function that holds
// no C++ object with a destructor, so the jump skips none; the buffers live in
// the caller, and PngReader's destructor frees libpng's structures whether or
// not a step failed.
struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const std::uint8_t* data = nullptr;  // the file's bytes, read from `pos` on by png_read_bytes
  std::size_t size = 0, pos = 0;
  char message[200] = "";

  PngReader(const std::string& bytes, const std::string& source);
  ~PngReader() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;
};

void png_on_error(png_structp png, png_const_charp what) {
  auto* reader = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(reader->message, sizeof reader->message, "%s", what);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}  // warnings (an unknown ancillary chunk, a bad one dropped) are not errors

void png_read_bytes(png_structp png, png_bytep out, png_size_t count) {
  auto* reader = static_cast<PngReader*>(png_get_io_ptr(png));
  if (count > reader->size - reader->pos) png_error(png, "truncated (the file ends inside the image)");
  std::memcpy(out, reader->data + reader->pos, count);
  reader->pos += count;
}

PngReader::PngReader(const std::string& bytes, const std::string& source)
    : data(reinterpret_cast<const std::uint8_t*>(bytes.data())), size(bytes.size()) {
  png = png_create_read_struct(PNG_LIBPNG_VER_STRING, this, png_on_error, png_on_warning);
  if (png) info = png_create_info_struct(png);
  if (!png || !info) fail(source, "PNG: out of memory starting libpng");
  png_set_read_fn(png, this, png_read_bytes);
}

// The header (IHDR) and the chunks before the image data, no pixel decoded.
bool png_step_read_info(PngReader* r) {
  if (setjmp(png_jmpbuf(r->png))) return false;
  png_read_info(r->png, r->info);
  return true;
}

// Asks for 8- or 16-bit grey, grey + alpha, RGB or RGBA samples, the passes of
// an interlaced image combined; `rowbytes` and `samples` then describe a row.
bool png_step_set_transforms(PngReader* r, std::size_t* rowbytes, int* samples, int* depth) {
  if (setjmp(png_jmpbuf(r->png))) return false;
  png_set_expand(r->png);  // palette -> RGB, grey below 8 bits -> 8, tRNS -> alpha
  png_set_interlace_handling(r->png);
  png_read_update_info(r->png, r->info);
  *rowbytes = png_get_rowbytes(r->png, r->info);
  *samples = png_get_channels(r->png, r->info);
  *depth = png_get_bit_depth(r->png, r->info);
  return true;
}

// Every row into `rows`, then the chunks after the image data up to IEND.
bool png_step_read_image(PngReader* r, png_bytepp rows) {
  if (setjmp(png_jmpbuf(r->png))) return false;
  png_read_image(r->png, rows);
  png_read_end(r->png, nullptr);
  return true;
}

[[noreturn]] void png_failed(const PngReader& r, const std::string& source) { fail(source, std::string("PNG: ") + r.message); }

ImageSize png_header_size(PngReader& r, const std::string& source) {
  if (!png_step_read_info(&r)) png_failed(r, source);
  const std::size_t cols = png_get_image_width(r.png, r.info), rows = png_get_image_height(r.png, r.info);
  check_size(source, cols, rows);
  return {rows, cols};
}

Image decode_png(const std::string& bytes, const std::string& source, std::size_t channels) {
  PngReader r(bytes, source);
  const ImageSize size = png_header_size(r, source);
  // Deflate compresses at most ~1032:1; a file too short for the rows its
  // header promises is lying, and is refused before the rows are allocated.
  const std::uint64_t raw = std::uint64_t(size.rows) * (png_get_rowbytes(r.png, r.info) + 1);
  if (raw / 1032 > bytes.size() + 64) {
    fail(source, "PNG: the file (" + std::to_string(bytes.size()) + " bytes) is far too short for an image of " +
                     std::to_string(size.cols) + "x" + std::to_string(size.rows));
  }
  std::size_t rowbytes = 0;
  int samples = 0, depth = 0;
  if (!png_step_set_transforms(&r, &rowbytes, &samples, &depth)) png_failed(r, source);
  std::vector<std::uint8_t> buffer(size.rows * rowbytes);
  std::vector<png_bytep> rows(size.rows);
  for (std::size_t i = 0; i < size.rows; ++i) rows[i] = buffer.data() + i * rowbytes;
  if (!png_step_read_image(&r, rows.data())) png_failed(r, source);
  return image_from_samples(buffer.data(), size.rows, size.cols, rowbytes, samples, depth, channels);
}

// ---- JPEG through libjpeg-turbo, the same way: the error manager's
// error_exit longjmps back to the step (jpeg_step_*) that called libjpeg.
// A truncated file or a broken data segment, which libjpeg only warns about
// (and fills with grey), is an error here; other warnings (extraneous bytes
// before a marker, common in cameras' files) are not.
struct JpegErrors {
  jpeg_error_mgr base;  // first: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
};

void jpeg_on_error(j_common_ptr c) {
  auto* errors = reinterpret_cast<JpegErrors*>(c->err);
  (*c->err->format_message)(c, errors->message);
  std::longjmp(errors->jump, 1);
}

void jpeg_on_message(j_common_ptr c, int level) {
  if (level == -1 && (c->err->msg_code == JWRN_JPEG_EOF || c->err->msg_code == JWRN_HIT_MARKER)) jpeg_on_error(c);
}

struct JpegReader {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors;
  bool created = false;

  JpegReader() {
    cinfo.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = jpeg_on_error;
    errors.base.emit_message = jpeg_on_message;
  }
  ~JpegReader() {
    if (created) jpeg_destroy_decompress(&cinfo);  // frees everything libjpeg allocated, after an error too
  }
  JpegReader(const JpegReader&) = delete;
  JpegReader& operator=(const JpegReader&) = delete;
};

bool jpeg_step_read_header(JpegReader* r, const std::string* bytes) {
  if (setjmp(r->errors.jump)) return false;
  jpeg_create_decompress(&r->cinfo);
  r->created = true;
  r->cinfo.mem->max_memory_to_use = long(kMaxJpegWorkingBytes);
  jpeg_mem_src(&r->cinfo, reinterpret_cast<const unsigned char*>(bytes->data()), static_cast<unsigned long>(bytes->size()));
  jpeg_read_header(&r->cinfo, TRUE);
  return true;
}

bool jpeg_step_start(JpegReader* r) {
  if (setjmp(r->errors.jump)) return false;
  jpeg_start_decompress(&r->cinfo);
  return true;
}

// Every scanline into `out` (output_height rows of `stride` bytes).
bool jpeg_step_read_rows(JpegReader* r, std::uint8_t* out, std::size_t stride) {
  if (setjmp(r->errors.jump)) return false;
  while (r->cinfo.output_scanline < r->cinfo.output_height) {
    JSAMPROW row = out + std::size_t(r->cinfo.output_scanline) * stride;
    jpeg_read_scanlines(&r->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&r->cinfo);
  return true;
}

[[noreturn]] void jpeg_failed(const JpegReader& r, const std::string& source) {
  fail(source, std::string("JPEG: ") + r.errors.message);
}

ImageSize jpeg_header_size(JpegReader& r, const std::string& bytes, const std::string& source) {
  if (!jpeg_step_read_header(&r, &bytes)) jpeg_failed(r, source);
  check_size(source, r.cinfo.image_width, r.cinfo.image_height);
  return {r.cinfo.image_height, r.cinfo.image_width};
}

Image decode_jpeg(const std::string& bytes, const std::string& source, std::size_t channels) {
  JpegReader r;
  const ImageSize size = jpeg_header_size(r, bytes, source);
  const J_COLOR_SPACE space = r.cinfo.jpeg_color_space;
  if (space == JCS_CMYK || space == JCS_YCCK) fail(source, "JPEG: CMYK images are not supported; save it as RGB");
  // Grey files stay grey; colour comes out as RGB and becomes grey by our luma, as a PNG does.
  r.cinfo.out_color_space = r.cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  if (!jpeg_step_start(&r)) jpeg_failed(r, source);
  const int samples = r.cinfo.output_components;
  if (r.cinfo.output_width != size.cols || r.cinfo.output_height != size.rows || (samples != 1 && samples != 3)) {
    fail(source, "JPEG: unexpected output layout");
  }
  const std::size_t stride = size.cols * std::size_t(samples);
  std::vector<std::uint8_t> buffer(size.rows * stride);
  if (!jpeg_step_read_rows(&r, buffer.data(), stride)) jpeg_failed(r, source);
  return image_from_samples(buffer.data(), size.rows, size.cols, stride, samples, 8, channels);
}

bool is_png(const std::string& bytes) { return bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0; }
bool is_jpeg(const std::string& bytes) { return bytes.size() >= 3 && bytes.compare(0, 3, "\xff\xd8\xff") == 0; }
bool is_pgm(const std::string& bytes) { return bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2'); }
const char* const kNotAnImage = "not a PGM (P2/P5), PNG or JPEG image";

}  // namespace

ImageSize image_size(const std::string& bytes, const std::string& source) {
  if (is_png(bytes)) {
    PngReader r(bytes, source);
    return png_header_size(r, source);
  }
  if (is_jpeg(bytes)) {
    JpegReader r;
    return jpeg_header_size(r, bytes, source);
  }
  if (is_pgm(bytes)) {
    const PgmHeader pgm = read_pgm_header(bytes, source);
    return {std::size_t(pgm.rows), std::size_t(pgm.cols)};
  }
  fail(source, kNotAnImage);
}

Image decode_image(const std::string& bytes, const std::string& source, std::size_t channels) {
  if (channels != 1 && channels != 3) fail(source, "images are read with 1 or 3 channels, not " + std::to_string(channels));
  if (is_png(bytes)) return decode_png(bytes, source, channels);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, source, channels);
  if (is_pgm(bytes)) return with_channels(decode_pgm(bytes, source), channels);
  fail(source, kNotAnImage);
}

GreyImage decode_grey_image(const std::string& bytes, const std::string& source) { return decode_image(bytes, source, 1); }

std::string read_image_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) fail(path, "file does not exist");
  if (!fs::is_regular_file(status)) fail(path, "not a regular file, expected a PGM, PNG or JPEG image");
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
  for (std::size_t k = 0; k < image.channels; ++k) {
    const std::uint8_t* plane = image.pixels.data() + k * image.rows * image.cols;
    for (std::size_t r = 0; r < image.rows; ++r) {
      const bool edge_row = r == 0 || r + 1 == image.rows;
      for (std::size_t c = 0; c < image.cols; ++c) {
        if (!edge_row && c != 0 && c + 1 != image.cols) continue;
        sum += plane[r * image.cols + c];
        ++count;
      }
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

Image read_image(const std::string& path, std::size_t channels) { return decode_image(read_image_file(path), path, channels); }
GreyImage read_grey_image(const std::string& path) { return read_image(path, 1); }

Image resize_image(const Image& in, std::size_t rows, std::size_t cols) {
  Image out;
  out.channels = in.channels;
  out.rows = rows;
  out.cols = cols;
  out.pixels.resize(in.channels * rows * cols);
  // Pixel centres aligned (align_corners = false, as PIL and torch do).
  const double sy = double(in.rows) / double(rows), sx = double(in.cols) / double(cols);
  for (std::size_t k = 0; k < in.channels; ++k) {
    const std::uint8_t* src = in.pixels.data() + k * in.rows * in.cols;
    std::uint8_t* dst = out.pixels.data() + k * rows * cols;
    auto at = [&](std::size_t yy, std::size_t xx) { return double(src[yy * in.cols + xx]); };
    for (std::size_t r = 0; r < rows; ++r) {
      const double y = std::clamp((double(r) + 0.5) * sy - 0.5, 0.0, double(in.rows - 1));
      const std::size_t y0 = std::size_t(y), y1 = std::min(y0 + 1, in.rows - 1);
      const double fy = y - double(y0);
      for (std::size_t c = 0; c < cols; ++c) {
        const double x = std::clamp((double(c) + 0.5) * sx - 0.5, 0.0, double(in.cols - 1));
        const std::size_t x0 = std::size_t(x), x1 = std::min(x0 + 1, in.cols - 1);
        const double fx = x - double(x0);
        const double v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        dst[r * cols + c] = std::uint8_t(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
  return out;
}

}  // namespace xg
