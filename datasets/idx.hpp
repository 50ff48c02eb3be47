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
// The file is untrusted: every field is checked, and the data size the header
// promises is checked against what the file holds BEFORE it is allocated, so a
// lying header gives an InputError, never a crash or a giant allocation.
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

struct IdxData {
  std::vector<std::uint32_t> dims;   // ndim sizes, each > 0
  std::vector<std::uint8_t> bytes;   // product(dims) elements, row-major
};

// Largest data block read_idx accepts (4 GiB); larger headers are rejected.
constexpr std::uint64_t kMaxIdxBytes = std::uint64_t(1) << 32;

// Reads an unsigned-byte IDX file, raw or gzip-compressed. Throws InputError
// (one line naming the file) for anything malformed, truncated or unreadable.
IdxData read_idx(const std::string& path);

}  // namespace xg
