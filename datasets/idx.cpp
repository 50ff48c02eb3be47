#include "datasets/idx.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>
#include <utility>

#include <zlib.h>

#include "core/error.hpp"

namespace xg {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunkBytes = std::size_t(1) << 20;  // gzip reads in 1 MiB steps
// deflate expands at most ~1032x; the slack covers headers of tiny files.
constexpr std::uint64_t kMaxGzipRatio = 1032;
constexpr std::uint64_t kGzipSlack = 1 << 16;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

std::string hex(std::uint32_t value, int digits) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%0*X", digits, unsigned(value));
  return text;
}

const char* element_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return nullptr;
  }
}

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

// The bytes of a file, raw or gzip-decompressed. read() returns fewer bytes
// than asked only at the end of the data; any read error throws.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::size_t read(std::uint8_t* dst, std::size_t n) = 0;
};

class RawSource : public ByteSource {
 public:
  explicit RawSource(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (!file_) fail(path_, "cannot open for reading");
  }
  ~RawSource() override { std::fclose(file_); }
  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    const std::size_t got = std::fread(dst, 1, n, file_);
    if (got < n && std::ferror(file_)) fail(path_, "read error");
    return got;
  }

 private:
  std::string path_;
  std::FILE* file_;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (!file_) fail(path_, "cannot open for reading");
    gzbuffer(file_, 1 << 17);  // bigger than the 8 KiB default: fewer read() calls
  }
  ~GzipSource() override { gzclose_r(file_); }
  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    std::size_t total = 0;
    while (total < n) {
      const unsigned want = unsigned(std::min<std::size_t>(n - total, kChunkBytes));
      const int got = gzread(file_, dst + total, want);
      if (got < 0) throw_zlib_error();
      if (got == 0) {
        // End of data, or a stream that stops early (a truncated .gz reports
        // Z_BUF_ERROR here rather than a negative count).
        throw_zlib_error();
        break;
      }
      total += std::size_t(got);
    }
    return total;
  }

 private:
  // Throws if zlib recorded an error; returns on a clean end of stream.
  void throw_zlib_error() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_OK) return;
    if (code == Z_BUF_ERROR) fail(path_, "corrupt gzip data: unexpected end of file (the .gz is truncated)");
    std::string text = message ? message : "unknown zlib error";
    if (text.rfind(path_ + ": ", 0) == 0) text.erase(0, path_.size() + 2);  // zlib prefixes the path
    fail(path_, "corrupt gzip data: " + text);
  }

  std::string path_;
  gzFile file_;
};

bool starts_like_gzip(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail(path, "cannot open for reading");
  std::uint8_t magic[2] = {0, 0};
  const std::size_t got = std::fread(magic, 1, 2, file.get());
  if (got < 2 && std::ferror(file.get())) fail(path, "read error");
  return got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// The size of `path`, after checking that it is a regular file.
std::uint64_t idx_file_size(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) fail(path, "file does not exist");
  if (fs::is_directory(status)) fail(path, "is a directory, expected an IDX file");
  if (!fs::is_regular_file(status)) fail(path, "not a regular file");
  const std::uint64_t file_size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read the file size: " + ec.message());
  return file_size;
}

const char* const kIdxHint = "; hint: pass an MNIST-style IDX file such as train-images-idx3-ubyte(.gz)";

// Header: 00 00 type ndim. Returns ndim once the type is unsigned byte and ndim is 1 to 4.
std::uint8_t read_idx_magic(ByteSource& source, const std::string& path) {
  std::uint8_t magic[4];
  const std::size_t magic_got = source.read(magic, 4);
  if (magic_got < 4) fail(path, "not an IDX file (too short: " + std::to_string(magic_got) + " of the 4 header bytes)" + kIdxHint);
  if (magic[0] != 0 || magic[1] != 0) {
    fail(path, "not an IDX file (magic " + hex(big_endian_u32(magic), 8) + ", expected 0x000008NN with NN the number of dimensions)" + kIdxHint);
  }
  const std::uint8_t type = magic[2];
  const std::uint8_t ndim = magic[3];
  if (type != 0x08) {
    const char* name = element_type_name(type);
    if (name) fail(path, "element type " + hex(type, 2) + " (" + name + ") is not supported, expected unsigned byte 0x08");
    fail(path, "not an IDX file (unknown element type " + hex(type, 2) + ", magic " + hex(big_endian_u32(magic), 8) + ")" + kIdxHint);
  }
  if (ndim < 1 || ndim > 4) fail(path, "IDX header has " + std::to_string(ndim) + " dimensions, expected 1 to 4");
  return ndim;
}

struct IdxShape {
  std::vector<std::uint32_t> dims;
  std::string text;         // "60000 x 28 x 28", for messages
  std::uint64_t bytes = 1;  // product of dims: the data size the header promises
};

// Dimensions: ndim big-endian uint32, each > 0, product at most kMaxIdxBytes.
IdxShape read_idx_shape(ByteSource& source, const std::string& path, std::uint8_t ndim) {
  std::uint8_t dim_bytes[16];
  if (source.read(dim_bytes, 4 * std::size_t(ndim)) < 4 * std::size_t(ndim)) {
    fail(path, "truncated: the header declares " + std::to_string(ndim) + " dimensions but the file ends inside them");
  }
  IdxShape shape;
  for (std::size_t axis = 0; axis < ndim; ++axis) {
    shape.dims.push_back(big_endian_u32(dim_bytes + 4 * axis));
    shape.text += (axis ? " x " : "") + std::to_string(shape.dims.back());
  }
  for (std::size_t axis = 0; axis < ndim; ++axis) {
    const std::uint32_t size = shape.dims[axis];
    if (size == 0) fail(path, "IDX dimension " + std::to_string(axis) + " is 0 (shape " + shape.text + "); every dimension must be positive");
    if (shape.bytes > kMaxIdxBytes / size) {
      fail(path, "IDX header shape " + shape.text + " promises more than the 4 GiB limit; the header is corrupt");
    }
    shape.bytes *= size;
  }
  return shape;
}

// Raw data: exactly `shape.bytes` bytes, checked against the file size before allocating.
std::vector<std::uint8_t> read_raw_idx_data(ByteSource& source, const std::string& path, const IdxShape& shape,
                                            std::uint64_t file_size, std::uint64_t header_size) {
  const std::uint64_t promised = shape.bytes;
  const std::uint64_t holds = file_size > header_size ? file_size - header_size : 0;
  if (holds < promised) {
    fail(path, "truncated: header promises " + std::to_string(promised) + " bytes of data (shape " + shape.text +
                   "), file holds " + std::to_string(holds));
  }
  if (holds > promised) {
    fail(path, "trailing data: header promises " + std::to_string(promised) + " bytes of data (shape " + shape.text +
                   "), file holds " + std::to_string(holds) + " (" + std::to_string(holds - promised) + " extra)");
  }
  std::vector<std::uint8_t> bytes(promised);
  const std::size_t got = source.read(bytes.data(), promised);
  if (got != promised) {
    fail(path, "truncated: header promises " + std::to_string(promised) + " bytes of data, read only " +
                   std::to_string(got) + " (did the file change while reading?)");
  }
  return bytes;
}

// gzip data: the decompressed size is unknown until read, so grow with the data
// and reserve no more than the compressed file could possibly expand to.
std::vector<std::uint8_t> read_gzip_idx_data(ByteSource& source, const std::string& path, const IdxShape& shape,
                                             std::uint64_t file_size) {
  const std::uint64_t promised = shape.bytes;
  std::vector<std::uint8_t> bytes;
  bytes.reserve(std::min(promised, file_size * kMaxGzipRatio + kGzipSlack));
  std::uint64_t have = 0;
  while (have < promised) {
    const std::size_t want = std::size_t(std::min<std::uint64_t>(kChunkBytes, promised - have));
    bytes.resize(have + want);
    const std::size_t got = source.read(bytes.data() + have, want);
    have += got;
    if (got < want) {
      fail(path, "truncated: header promises " + std::to_string(promised) + " bytes of data (shape " + shape.text +
                     "), file holds " + std::to_string(have));
    }
  }
  // One more byte must not exist; the attempt also makes zlib check the CRC.
  std::uint8_t extra;
  if (source.read(&extra, 1) != 0) {
    fail(path, "trailing data: file holds more than the " + std::to_string(promised) +
                   " bytes of data its header promises (shape " + shape.text + ")");
  }
  return bytes;
}

}  // namespace

IdxData read_idx(const std::string& path) {
  const std::uint64_t file_size = idx_file_size(path);
  const bool gzip = starts_like_gzip(path);
  std::unique_ptr<ByteSource> source;
  if (gzip) {
    source = std::make_unique<GzipSource>(path);
  } else {
    source = std::make_unique<RawSource>(path);
  }
  const std::uint8_t ndim = read_idx_magic(*source, path);
  IdxShape shape = read_idx_shape(*source, path, ndim);
  IdxData result;
  result.bytes = gzip ? read_gzip_idx_data(*source, path, shape, file_size)
                      : read_raw_idx_data(*source, path, shape, file_size, 4 + 4 * std::uint64_t(ndim));
  result.dims = std::move(shape.dims);
  return result;
}

}  // namespace xg
