#include "datasets/idx.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>
#include <utility>

#include <sys/mman.h>
#include <zlib.h>

#include "core/error.hpp"

namespace xg {

// The bytes of a file, raw or gzip-decompressed. read() returns fewer bytes
// than asked only at the end of the data; any read error throws.
class IdxByteSource {
 public:
  virtual ~IdxByteSource() = default;
  virtual std::size_t read(std::uint8_t* dst, std::size_t n) = 0;
};

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunkBytes = std::size_t(1) << 20;  // gzip reads in 1 MiB steps
// deflate expands at most ~1032x; the slack covers headers of tiny files.
// The gzip data is read into a buffer that grows with it, from at most kFirstGzipReserve.
constexpr std::uint64_t kMaxGzipRatio = 1032;
constexpr std::uint64_t kGzipSlack = 1 << 16;
constexpr std::uint64_t kFirstGzipReserve = std::uint64_t(64) << 20;

// Asks the kernel to back a buffer about to be filled with 2 MiB pages where it
// can (Linux's transparent huge pages, "madvise" mode included). Filling 47 MB
// of Fashion-MNIST's training images then takes a few dozen page faults instead
// of 11,500, which saves about 0.1 s of start-up on a virtual machine. Only a
// hint: a kernel without it, or one that says no, leaves ordinary pages.
void advise_huge_pages(std::uint8_t* data, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHuge = std::uintptr_t(1) << 21;
  const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data, (void)bytes;
#endif
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

class RawSource : public IdxByteSource {
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

class GzipSource : public IdxByteSource {
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
std::uint8_t read_idx_magic(IdxByteSource& source, const std::string& path) {
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
IdxShape read_idx_shape(IdxByteSource& source, const std::string& path, std::uint8_t ndim) {
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

// A raw file must hold exactly the header and `shape.bytes` bytes of data.
void check_raw_size(const std::string& path, const IdxShape& shape, std::uint64_t header_bytes, std::uint64_t file_size) {
  const std::uint64_t promised = shape.bytes;
  const std::uint64_t holds = file_size > header_bytes ? file_size - header_bytes : 0;
  if (holds < promised) {
    fail(path, "truncated: header promises " + std::to_string(promised) + " bytes of data (shape " + shape.text +
                   "), file holds " + std::to_string(holds));
  }
  if (holds > promised) {
    fail(path, "trailing data: header promises " + std::to_string(promised) + " bytes of data (shape " + shape.text +
                   "), file holds " + std::to_string(holds) + " (" + std::to_string(holds - promised) + " extra)");
  }
}

// A gzip file must be able to expand to the header and `shape.bytes` bytes of
// data, and its trailer, which records the uncompressed size modulo 2^32, must
// agree. A file too short to have a trailer is left to zlib, which refuses it.
void check_gzip_size(const std::string& path, const IdxShape& shape, std::uint64_t header_bytes, std::uint64_t file_size) {
  const std::uint64_t promised = shape.bytes;
  if (promised > file_size * kMaxGzipRatio + kGzipSlack) {
    fail(path, "header promises " + std::to_string(promised) + " bytes of data (shape " + shape.text + "), more than a " +
                   std::to_string(file_size) + "-byte gzip file can hold; the header is corrupt");
  }
  constexpr std::uint64_t kGzipMinimum = 18;  // a 10-byte header and an 8-byte trailer
  if (file_size < kGzipMinimum) return;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail(path, "cannot open for reading");
  std::uint8_t trailer[4];
  if (std::fseek(file.get(), -4, SEEK_END) != 0 || std::fread(trailer, 1, 4, file.get()) != 4) fail(path, "read error");
  const std::uint32_t recorded = std::uint32_t(trailer[0]) | std::uint32_t(trailer[1]) << 8 |
                                 std::uint32_t(trailer[2]) << 16 | std::uint32_t(trailer[3]) << 24;
  if (recorded != std::uint32_t(header_bytes + promised)) {
    fail(path, "header promises " + std::to_string(promised) + " bytes of data (shape " + shape.text +
                   ") but the gzip trailer records " + std::to_string(recorded) + " bytes in all, header included; the .gz is "
                   "truncated or corrupt, or its header lies (a .gz of several gzip streams is not supported)");
  }
}

}  // namespace

IdxReader::IdxReader(const std::string& path) : path_(path) {
  file_size_ = idx_file_size(path);
  gzip_ = starts_like_gzip(path);
  if (gzip_) {
    source_ = std::make_unique<GzipSource>(path);
  } else {
    source_ = std::make_unique<RawSource>(path);
  }
  const std::uint8_t ndim = read_idx_magic(*source_, path);
  const IdxShape shape = read_idx_shape(*source_, path, ndim);
  const std::uint64_t header_bytes = 4 + 4 * std::uint64_t(ndim);
  if (gzip_) {
    check_gzip_size(path, shape, header_bytes, file_size_);
  } else {
    check_raw_size(path, shape, header_bytes, file_size_);
  }
  dims_ = shape.dims;
  data_bytes_ = shape.bytes;
}

IdxReader::~IdxReader() = default;
IdxReader::IdxReader(IdxReader&&) noexcept = default;
IdxReader& IdxReader::operator=(IdxReader&&) noexcept = default;

std::string IdxReader::shape_text() const {
  std::string text;
  for (std::size_t axis = 0; axis < dims_.size(); ++axis) text += (axis ? " x " : "") + std::to_string(dims_[axis]);
  return text;
}

std::vector<std::uint8_t> IdxReader::read_data() {
  if (!source_) fail(path_, "read_data called twice");
  const std::uint64_t promised = data_bytes_;
  std::vector<std::uint8_t> bytes;
  if (!gzip_) {
    // The file size was checked, so this is the data's exact size.
    bytes.reserve(promised);
    advise_huge_pages(bytes.data(), bytes.capacity());
    bytes.resize(promised);
    const std::size_t got = source_->read(bytes.data(), promised);
    if (got != promised) {
      fail(path_, "truncated: header promises " + std::to_string(promised) + " bytes of data, read only " +
                      std::to_string(got) + " (did the file change while reading?)");
    }
  } else {
    // The decompressed size is known only once read (the trailer could lie
    // too), so the buffer grows with the data.
    bytes.reserve(std::min(promised, kFirstGzipReserve));
    advise_huge_pages(bytes.data(), bytes.capacity());
    std::uint64_t have = 0;
    while (have < promised) {
      const std::size_t want = std::size_t(std::min<std::uint64_t>(kChunkBytes, promised - have));
      bytes.resize(have + want);
      const std::size_t got = source_->read(bytes.data() + have, want);
      have += got;
      if (got < want) {
        fail(path_, "truncated: header promises " + std::to_string(promised) + " bytes of data (shape " + shape_text() +
                        "), file holds " + std::to_string(have));
      }
    }
    // One more byte must not exist; the attempt also makes zlib check the CRC.
    std::uint8_t extra;
    if (source_->read(&extra, 1) != 0) {
      fail(path_, "trailing data: file holds more than the " + std::to_string(promised) +
                      " bytes of data its header promises (shape " + shape_text() + ")");
    }
  }
  source_.reset();  // closes the file
  return bytes;
}

IdxData read_idx(const std::string& path) {
  IdxReader reader(path);
  IdxData result;
  result.bytes = reader.read_data();
  result.dims = reader.dims();
  return result;
}

}  // namespace xg
