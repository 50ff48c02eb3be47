#pragma once
// Reader for the IDX format of MNIST and Fashion-MNIST.
//
// An IDX file is, all integers big-endian:
//   bytes 0-1   0x00 0x00
//   byte  2     element type: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
//               0x0C int32, 0x0D float32, 0x0E float64
//   byte  3     number of dimensions, ndim
//   then        ndim uint32 sizes, e.g. (60000, 28, 28) for the training images
//   then        the elements, last dimension fastest (row-major), nothing after.
// The file may be gzip-compressed as a whole; read_idx looks at the content
// (gzip starts with 1f 8b), not at the name.
//
// The file is untrusted. IdxReader reads and checks the header first, and
// checks that the data size it promises is plausible before any of the data
// is read: a raw file must hold exactly that many bytes; a gzip file's trailer
// (its uncompressed size, modulo 4 GiB) must agree, and the compressed size
// must be able to expand to it. So a caller can compare headers (images with
// labels) before it reads a byte of data, and a lying header gives an
// InputError, never a crash or a giant allocation.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace xg {

struct IdxData {
  std::vector<std::uint32_t> dims;   // ndim sizes, each > 0
  std::vector<std::uint8_t> bytes;   // product(dims) elements, row-major
};

// Largest data block an IDX file may hold (4 GiB); larger headers are rejected.
constexpr std::uint64_t kMaxIdxBytes = std::uint64_t(1) << 32;

class IdxByteSource;  // the file's bytes, raw or decompressed (idx.cpp)

// An unsigned-byte IDX file, raw or gzip-compressed, whose header has been
// read and checked. Every error is an InputError, one line naming the file.
class IdxReader {
 public:
  explicit IdxReader(const std::string& path);  // opens the file and reads the header
  ~IdxReader();
  IdxReader(IdxReader&&) noexcept;
  IdxReader& operator=(IdxReader&&) noexcept;

  const std::string& path() const { return path_; }
  const std::vector<std::uint32_t>& dims() const { return dims_; }
  std::string shape_text() const;  // "60000 x 28 x 28"
  std::uint64_t data_bytes() const { return data_bytes_; }  // the product of dims

  // Reads the data, exactly data_bytes() bytes; once.
  std::vector<std::uint8_t> read_data();

 private:
  std::string path_;
  bool gzip_ = false;
  std::uint64_t file_size_ = 0;
  std::vector<std::uint32_t> dims_;
  std::uint64_t data_bytes_ = 1;
  std::unique_ptr<IdxByteSource> source_;
};

// The whole file: IdxReader(path), then its data.
IdxData read_idx(const std::string& path);

}  // namespace xg
