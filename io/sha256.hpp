#pragma once
// SHA-256 (FIPS 180-4): xgrad hashes a data set once per run (60k Fashion-MNIST
// images are 47 MB), to tell whether a model's training data has changed. Whole
// 64-byte blocks are compressed straight from the caller's bytes, with the CPU's
// SHA instructions where it has them (x86 SHA-NI), else in plain C++; both give
// the same digest, and the tests check each against FIPS 180-4's vectors.
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
  std::uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::uint8_t block_[64] = {};
  std::size_t used_ = 0;
  std::uint64_t bits_ = 0;
};

// SHA-256 of bytes, as 64 hex digits.
std::string sha256_hex(const std::uint8_t* data, std::size_t size);

// The compression function over `blocks` whole 64-byte blocks, updating the
// state h. Sha256 uses sha256_compress; the two implementations behind it are
// public so that the tests can check each one.
void sha256_compress(std::uint32_t h[8], const std::uint8_t* data, std::size_t blocks);
void sha256_compress_portable(std::uint32_t h[8], const std::uint8_t* data, std::size_t blocks);
// The SHA-NI version, and whether this CPU can run it (false off x86).
bool sha256_has_sha_instructions();
void sha256_compress_sha_instructions(std::uint32_t h[8], const std::uint8_t* data, std::size_t blocks);

}  // namespace xg
