// io/sha256: FIPS 180-4's test vectors, one shot and fed in pieces.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

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
