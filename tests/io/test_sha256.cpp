// io/sha256: FIPS 180-4's test vectors, one shot and fed in pieces, and the two
// compression functions (portable and SHA-NI) against each other.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "io/sha256.hpp"

using namespace xg;

namespace {
const std::uint8_t* bytes(const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }
}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 test vectors") {
  CHECK(sha256_hex(bytes("abc"), 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex(nullptr, 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(bytes(two_blocks), two_blocks.size()) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("Sha256 fed in pieces of any size gives the one-shot digest (a million 'a's)") {
  const std::string million(1000000, 'a');
  const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  CHECK(sha256_hex(bytes(million), million.size()) == expected);
  for (const std::size_t piece : {std::size_t(1), std::size_t(63), std::size_t(64), std::size_t(65), std::size_t(1000)}) {
    CAPTURE(piece);
    Sha256 s;
    for (std::size_t at = 0; at < million.size(); at += piece) s.update(bytes(million) + at, std::min(piece, million.size() - at));
    CHECK(s.hex() == expected);
  }
}

namespace {
// "abc" as FIPS 180-4 pads it: one block, the bytes, 0x80, zeros, the bit length 24.
std::vector<std::uint8_t> padded_abc() {
  std::vector<std::uint8_t> block(64, 0);
  block[0] = 'a', block[1] = 'b', block[2] = 'c', block[3] = 0x80, block[63] = 24;
  return block;
}
const std::uint32_t kInitial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
const std::uint32_t kAbcDigest[8] = {0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad};
}  // namespace

TEST_CASE("the portable compression function gives FIPS 180-4's digest of 'abc'") {
  std::uint32_t h[8];
  std::copy(kInitial, kInitial + 8, h);
  sha256_compress_portable(h, padded_abc().data(), 1);
  CHECK(std::equal(h, h + 8, kAbcDigest));
}

TEST_CASE("the SHA-instruction compression function agrees with the portable one, block for block") {
  if (!sha256_has_sha_instructions()) {
    MESSAGE("this CPU has no SHA instructions: Sha256 runs the portable compression function only");
    return;
  }
  std::uint32_t h[8];
  std::copy(kInitial, kInitial + 8, h);
  sha256_compress_sha_instructions(h, padded_abc().data(), 1);
  CHECK(std::equal(h, h + 8, kAbcDigest));

  std::mt19937 rng(12);
  std::vector<std::uint8_t> data(64 * 257);
  for (auto& byte : data) byte = std::uint8_t(rng());
  for (const std::size_t blocks : {std::size_t(1), std::size_t(2), std::size_t(257)}) {
    CAPTURE(blocks);
    std::uint32_t portable[8], sha[8];
    for (int i = 0; i < 8; ++i) portable[i] = sha[i] = std::uint32_t(rng());
    sha256_compress_portable(portable, data.data(), blocks);
    sha256_compress_sha_instructions(sha, data.data(), blocks);
    CHECK(std::equal(portable, portable + 8, sha));
  }
}
