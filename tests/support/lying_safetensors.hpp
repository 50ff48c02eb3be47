#pragma once
// Safetensors files whose header lies (sizes, offsets, shapes, dtypes,
// metadata), for the reader's tests (tests/io/test_safetensors.cpp) and the
// commands' (tests/apps/test_eval_command.cpp): each must be refused with one
// line that names the file and `must_mention`.
#include <cstdint>
#include <string>
#include <vector>

namespace xg::testing {

// An 8-byte little-endian header length (the header's own, or `declared`),
// the header, then `data_bytes` zero bytes.
inline std::string with_header(const std::string& header, std::size_t data_bytes, std::uint64_t declared = UINT64_MAX) {
  const std::uint64_t n = declared == UINT64_MAX ? header.size() : declared;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

struct LyingSafetensors {
  const char* what;
  std::string bytes;
  const char* must_mention;  // the tensor (or the problem) the message must name
};

inline std::vector<LyingSafetensors> lying_safetensors_files() {
  const std::string good = R"({"0.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                           R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})";
  return {
      {"header length larger than the file", with_header(good, 24, 1u << 30), "larger than"},
      {"header length near 2^64", with_header(good, 24, ~std::uint64_t(0) - 3), "larger than"},
      {"offsets past the end", with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "'a'"},
      {"end before begin", with_header(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), "'a'"},
      {"overlapping tensors",
       with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       "'b'"},
      {"shape does not match the data length", with_header(R"({"w":{"dtype":"F32","shape":[3,3],"data_offsets":[0,16]}})", 16), "'w'"},
      {"huge shape", with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", 16), "'w'"},
      {"negative dimension", with_header(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", 16), "'w'"},
      {"non-float32 dtype", with_header(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4), "'w'"},
      {"no dtype", with_header(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), "'w'"},
      {"bytes not covered by any tensor", with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12), "'w'"},
      {"a gap between tensors",
       with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
       "'b'"},
      {"metadata that is not strings", with_header(R"({"__metadata__":{"xgrad":3}})", 0), "__metadata__"},
      {"not JSON", with_header("{\"w\": [1, 2", 0), "JSON"},
      {"a JSON array", with_header("[1,2,3]", 0), "JSON object"},
      {"too short", std::string("\x10\0\0", 3), "too short"},
      {"empty file", std::string(), "too short"},
  };
}

}  // namespace xg::testing
