#pragma once
// SHA-256 (FIPS 180-4), small and unoptimised: xgrad hashes a data set once
// per run, to tell whether a model's training data has changed.
#include <cstddef>
#include <cstdint>
#include <string>

namespace xg {

class Sha256 {
 public:
  void update(const std::uint8_t* data, std::size_t size);
  // The digest as 64 hex digits; call once, after the last update.
  std::string hex();

 private:
  void compress();
  std::uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::uint8_t block_[64] = {};
  std::size_t used_ = 0;
  std::uint64_t bits_ = 0;
};

// SHA-256 of bytes, as 64 hex digits.
std::string sha256_hex(const std::uint8_t* data, std::size_t size);

}  // namespace xg
