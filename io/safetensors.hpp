#pragma once
// The safetensors format (https://github.com/huggingface/safetensors), float32,
// and int64 for counters (PyTorch's BatchNorm num_batches_tracked):
//
//   bytes 0-7   N, the header length, unsigned 64-bit little-endian
//   bytes 8..   the header: N bytes of UTF-8 JSON, an object with
//                 "__metadata__": {"key": "string value", ...}       (optional)
//                 "<name>": {"dtype": "F32", "shape": [d0, d1, ...],
//                            "data_offsets": [begin, end]}           (one per tensor)
//                 (dtype "I64": 8-byte integers, read into float values)
//               padded with spaces to a multiple of 8 bytes
//   then        the data buffer: each tensor's elements, row-major, little-endian
//               float32, at [begin, end) relative to the buffer's start. The
//               tensors cover the buffer exactly, without gaps or overlaps.
//
// The reader treats the file as hostile: it reads the 8-byte length, checks it
// against the file size and a 64 MiB limit, reads and checks the header (JSON
// nesting limited, io/json_input.hpp; every tensor's dtype, shape and offsets
// against each other and against the real size of the data buffer), and only
// then reads the tensors, each at its offset. A caller can look at the header
// first (read_safetensors_header) and refuse a file before any tensor is read.
// Every error is an InputError naming the file and, where there is one, the tensor.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace xg {

// One tensor as the header describes it.
struct SafetensorsEntry {
  std::string name;
  Shape shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets in the data buffer
  bool int64 = false;                 // dtype I64 (else F32)
};

// The checked header of a file.
struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;  // in the order of their data offsets
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // where the data buffer starts in the file: 8 + the header length
  std::uint64_t data_size = 0;   // its length: the rest of the file

  // The entry named `name`, or nullptr.
  const SafetensorsEntry* find(const std::string& name) const;
};

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
// The tensors named in `int64` are written as I64 (their values must be whole
// numbers), the others as F32. Throws std::invalid_argument for duplicate or
// empty names, or a value of an I64 tensor that is not a whole number (programming errors).
std::string encode_safetensors(const std::vector<std::pair<std::string, const Array*>>& tensors,
                               const std::map<std::string, std::string>& metadata,
                               const std::set<std::string>& int64 = {});

// Parses and checks `bytes`, a whole file in memory; `source` (usually the path)
// starts every error message.
Safetensors decode_safetensors(const std::string& bytes, const std::string& source);

// Reads and checks the header of `path` only: its 8-byte length, then that many
// bytes (at most 64 MiB), whatever the file's size. Throws InputError.
SafetensorsHeader read_safetensors_header(const std::string& path);
// Reads the tensors `header` (read_safetensors_header(path)) describes, each at
// its offset. Throws InputError, also when the file's size has changed since.
Safetensors read_safetensors(const std::string& path, const SafetensorsHeader& header);
// Both: the header, then the tensors.
Safetensors read_safetensors(const std::string& path);

// Encodes and writes atomically (temporary file, flush, rename). Throws InputError.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, const Array*>>& tensors,
                       const std::map<std::string, std::string>& metadata, const std::set<std::string>& int64 = {});

}  // namespace xg
