// io/safetensors: a round trip keeps tensors, metadata and the byte layout;
// a header that lies (sizes, offsets, shapes, dtypes, metadata) is refused
// with one InputError line naming the file and the tensor, before anything is
// allocated. (The same files through `xgrad eval`: tests/apps/test_eval_command.cpp.)
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"
#include "tests/support/lying_safetensors.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

bool same_bits(const Array& a, const Array& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.size(), b.data(), [](float x, float y) {
           return std::memcmp(&x, &y, sizeof x) == 0;
         });
}

}  // namespace

TEST_CASE("safetensors: encode then decode gives the same tensors, metadata and byte layout") {
  Array w = {{1.0f, -2.5f, 3.0f}, {4.0f, 5.0f, 1e-30f}};
  Array b = {0.5f, -0.5f};
  Array scalar = 7.0f;
  const std::string bytes = encode_safetensors({{"0.weight", &w}, {"0.bias", &b}, {"s", &scalar}}, {{"k", "v"}});
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | std::uint8_t(bytes[std::size_t(i)]);
  CHECK(n % 8 == 0);
  CHECK(bytes[8] == '{');
  CHECK(bytes.size() == 8 + n + (6 + 2 + 1) * 4);
  const Safetensors file = decode_safetensors(bytes, "x");
  REQUIRE(file.tensors.size() == 3);
  CHECK(file.tensors[0].first == "0.weight");
  CHECK(same_bits(*file.find("0.weight"), w));
  CHECK(same_bits(*file.find("0.bias"), b));
  CHECK(file.find("s")->dimension() == 0);
  CHECK(file.metadata.at("k") == "v");
  CHECK(file.find("nope") == nullptr);
}

TEST_CASE("safetensors: write_safetensors then read_safetensors gives the same file back") {
  TempDir dir;
  Array w = {{1.0f, 2.0f}, {3.0f, 4.0f}};
  const std::string path = dir.file("m.safetensors");
  write_safetensors(path, {{"w", &w}}, {{"format", "pt"}});
  const Safetensors file = read_safetensors(path);
  REQUIRE(file.tensors.size() == 1);
  CHECK(same_bits(file.tensors[0].second, w));
  CHECK(file.metadata.at("format") == "pt");
  CHECK(read_file(path) == encode_safetensors({{"w", &w}}, {{"format", "pt"}}));
  CHECK_THROWS_WITH_AS(read_safetensors(dir.file("missing.safetensors")), doctest::Contains("missing.safetensors"), InputError);
  CHECK_THROWS_AS(encode_safetensors({{"w", &w}, {"w", &w}}, {}), std::invalid_argument);  // a duplicate name
}

TEST_CASE("safetensors: lying headers are refused with one line naming the file and the tensor") {
  TempDir dir;
  for (const LyingSafetensors& c : lying_safetensors_files()) {
    CAPTURE(c.what);
    for (const bool from_file : {false, true}) {
      CAPTURE(from_file);
      const std::string path = dir.file("bad.safetensors");
      std::ofstream(path, std::ios::binary) << c.bytes;
      try {
        from_file ? read_safetensors(path) : decode_safetensors(c.bytes, path);
        FAIL("expected an InputError");
      } catch (const InputError& e) {
        const std::string m = e.what();
        CHECK(m.find('\n') == std::string::npos);
        CHECK(m.find(path) != std::string::npos);
        CHECK(m.find(c.must_mention) != std::string::npos);
      }
    }
  }
}

TEST_CASE("safetensors: the header is read first and alone, then the tensors by offset") {
  TempDir dir;
  Array w = {{1.0f, 2.0f}, {3.0f, 4.0f}}, b = {5.0f, 6.0f};
  const std::string path = dir.file("m.safetensors");
  write_safetensors(path, {{"w", &w}, {"b", &b}}, {{"format", "pt"}});
  const SafetensorsHeader header = read_safetensors_header(path);
  REQUIRE(header.tensors.size() == 2);
  CHECK(header.tensors[0].name == "w");
  CHECK(header.tensors[0].shape == Shape{2, 2});
  CHECK(header.find("b")->begin == 16);
  CHECK(header.find("c") == nullptr);
  CHECK(header.metadata.at("format") == "pt");
  CHECK(header.data_start + header.data_size == std::filesystem::file_size(path));
  const Safetensors file = read_safetensors(path, header);
  CHECK(same_bits(*file.find("w"), w));
  CHECK(same_bits(*file.find("b"), b));

  SUBCASE("a sparse 6 GB file is refused from its header alone") {
    std::filesystem::resize_file(path, std::uintmax_t(6) << 30);
    CHECK_THROWS_WITH_AS(read_safetensors_header(path), doctest::Contains("data buffer holds"), InputError);
    CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("data buffer holds"), InputError);
  }
  SUBCASE("a file that changed size after its header was read") {
    std::ofstream(path, std::ios::binary | std::ios::app) << "xx";
    CHECK_THROWS_WITH_AS(read_safetensors(path, header), doctest::Contains("changed"), InputError);
  }
  SUBCASE("a header nested deeper than 64 levels") {
    const std::string deep = std::string(100, '[') + std::string(100, ']');
    std::ofstream(path, std::ios::binary) << with_header(R"({"__metadata__":{"x":"y"},"w":)" + deep + "}", 0);
    CHECK_THROWS_WITH_AS(read_safetensors_header(path), doctest::Contains("deeper than 64"), InputError);
  }
  SUBCASE("not a regular file") {
    CHECK_THROWS_WITH_AS(read_safetensors_header("/dev/null"), doctest::Contains("not a regular file"), InputError);
  }
}

TEST_CASE("safetensors: tensors named as int64 are written as I64 and read back as their values") {
  Array w = {1.5f, -2.0f};
  Array count = 12345.0f;  // rank 0, as torch's num_batches_tracked
  const std::string bytes = encode_safetensors({{"0.weight", &w}, {"0.num_batches_tracked", &count}}, {}, {"0.num_batches_tracked"});
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | std::uint8_t(bytes[std::size_t(i)]);
  const std::string header = bytes.substr(8, std::size_t(n));
  CHECK(header.find(R"("0.num_batches_tracked":{"data_offsets":[8,16],"dtype":"I64","shape":[]})") != std::string::npos);
  CHECK(bytes.size() == 8 + n + 2 * 4 + 8);
  std::int64_t stored = 0;
  std::memcpy(&stored, bytes.data() + 8 + n + 8, 8);
  CHECK(stored == 12345);
  const Safetensors file = decode_safetensors(bytes, "x");
  CHECK(same_bits(*file.find("0.weight"), w));
  CHECK(file.find("0.num_batches_tracked")->dimension() == 0);
  CHECK(file.find("0.num_batches_tracked")->data()[0] == 12345.0f);
  // through a file too (read_safetensors reads each tensor at its offset)
  TempDir dir;
  const std::string path = dir.file("i64.safetensors");
  write_safetensors(path, {{"0.weight", &w}, {"0.num_batches_tracked", &count}}, {}, {"0.num_batches_tracked"});
  CHECK(read_safetensors(path).find("0.num_batches_tracked")->data()[0] == 12345.0f);
  // a value that is no whole number cannot be written as one
  Array half = 0.5f;
  CHECK_THROWS_AS(encode_safetensors({{"c", &half}}, {}, {"c"}), std::invalid_argument);
  // an I64 tensor's data_offsets must hold 8 bytes per element
  CHECK_THROWS_WITH_AS(decode_safetensors(with_header(R"({"c":{"dtype":"I64","shape":[2],"data_offsets":[0,8]}})", 8), "f"),
                       doctest::Contains("needs 16 bytes of int64"), InputError);
}
