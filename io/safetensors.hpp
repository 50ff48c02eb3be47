#pragma once
// The safetensors format (https://github.com/huggingface/safetensors), float32 only:
//
//   bytes 0-7   N, the header length, unsigned 64-bit little-endian
//   bytes 8..   the header: N bytes of UTF-8 JSON, an object with
//                 "__metadata__": {"key": "string value", ...}       (optional)
//                 "<name>": {"dtype": "F32", "shape": [d0, d1, ...],
//                            "data_offsets": [begin, end]}           (one per tensor)
//               padded with spaces to a multiple of 8 bytes
//   then        the data buffer: each tensor's elements, row-major, little-endian
//               float32, at [begin, end) relative to the buffer's start. The
//               tensors cover the buffer exactly, without gaps or overlaps.
//
// The reader treats the file as hostile: the header length is checked against
// the file size before anything is allocated, every tensor's dtype, shape and
// offsets are checked against each other and against the buffer before any
// data is copied, and every error is an InputError naming the file and, where
// there is one, the tensor.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace xg {

struct Safetensors {
  // In the order of their data offsets (the order they were written in).
  std::vector<std::pair<std::string, Array>> tensors;
  std::map<std::string, std::string> metadata;

  // The tensor named `name`, or nullptr.
  const Array* find(const std::string& name) const;
};

// Largest header and file the reader accepts (header 64 MiB, file 16 GiB).
constexpr std::uint64_t kMaxSafetensorsHeader = std::uint64_t(64) << 20;
constexpr std::uint64_t kMaxSafetensorsFile = std::uint64_t(16) << 30;

// The file's bytes: header length, header padded to 8 bytes, data in the given order.
// Throws std::invalid_argument for duplicate or empty names (a programming error).
std::string encode_safetensors(const std::vector<std::pair<std::string, const Array*>>& tensors,
                               const std::map<std::string, std::string>& metadata);

// Parses and checks `bytes`; `source` (usually the path) starts every error message.
Safetensors decode_safetensors(const std::string& bytes, const std::string& source);

// Reads `path` (its size checked first) and decodes it. Throws InputError.
Safetensors read_safetensors(const std::string& path);

// Encodes and writes atomically (temporary file, flush, rename). Throws InputError.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, const Array*>>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace xg
