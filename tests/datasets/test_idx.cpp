// datasets/idx: the IDX reader on good files (raw and gzip, chosen by content)
// and hostile ones (bad headers, lying sizes, truncated or corrupt gzip), which
// must all give a one-line InputError naming the file.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <vector>

#include "core/error.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_dataset.hpp"
#include "tests/support/files.hpp"
#include "tests/support/idx_files.hpp"

namespace fs = std::filesystem;
using namespace xg::testing;

namespace {
// The most memory this process has held resident so far, in KiB.
long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}
}  // namespace

TEST_CASE("read_idx reads raw and gzip files, chosen by content") {
  TempDir dir;
  const Bytes data = pattern(3 * 5 * 7);
  const Bytes file = idx_file(8, {3, 5, 7}, data);
  std::string path;
  SUBCASE("raw") { write_raw(path = dir.file("a-idx3-ubyte"), file); }
  SUBCASE("gzip") { write_gz(path = dir.file("a-idx3-ubyte.gz"), file); }
  SUBCASE("gzip without .gz in the name") { write_gz(path = dir.file("a-idx3-ubyte"), file); }
  SUBCASE("raw named .gz") { write_raw(path = dir.file("a-idx3-ubyte.gz"), file); }
  const xg::IdxData idx = xg::read_idx(path);
  CHECK(idx.dims == std::vector<std::uint32_t>{3, 5, 7});
  CHECK(idx.bytes == data);
}

TEST_CASE("read_idx rejects bad headers with a message naming the file") {
  TempDir dir;
  const std::string path = dir.file("bad-idx1-ubyte");

  SUBCASE("wrong magic") {
    write_raw(path, {'P', 'K', 3, 4, 0, 0, 0, 1, 7});
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "not an IDX file"));
    CHECK(contains(msg, "0x504B0304"));
    CHECK(contains(msg, "hint"));
  }
  SUBCASE("doubly gzipped file shows the gzip magic") {
    write_gz(dir.file("inner.gz"), idx_file(8, {1}, {7}));
    write_gz(path, read_all(dir.file("inner.gz")));
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "not an IDX file (magic 0x1F8B08"));
  }
  SUBCASE("float element type") {
    write_raw(path, idx_file(0x0D, {1}, {0, 0, 0, 0}));
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "element type 0x0D (float) is not supported, expected unsigned byte 0x08"));
  }
  SUBCASE("unknown element type") {
    write_raw(path, idx_file(0x42, {1}, {0}));
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "unknown element type 0x42"));
  }
  SUBCASE("ndim 0") {
    write_raw(path, idx_file(8, {}, {1, 2, 3}));
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "0 dimensions"));
  }
  SUBCASE("ndim 5") {
    write_raw(path, idx_file(8, {1, 1, 1, 1, 1}, {1}));
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "5 dimensions"));
  }
  SUBCASE("zero dimension") {
    write_raw(path, idx_file(8, {3, 0, 4}, {}));
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "dimension 1 is 0"));
  }
  SUBCASE("dimension product overflows 64 bits") {
    write_raw(path, idx_file(8, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, pattern(64)));
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "4 GiB limit"));
  }
  SUBCASE("empty file") {
    write_raw(path, {});
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "too short"));
  }
  SUBCASE("file ends inside the dimensions") {
    write_raw(path, {0, 0, 8, 3, 0, 0, 0, 2, 0});
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "ends inside them"));
  }
  SUBCASE("missing file") {
    const std::string msg = input_error([&] { xg::read_idx(dir.file("nope")); });
    CHECK(contains(msg, dir.file("nope")));
    CHECK(contains(msg, "does not exist"));
  }
  SUBCASE("a directory") {
    CHECK(contains(input_error([&] { xg::read_idx(dir.path()); }), "is a directory"));
  }
}

TEST_CASE("read_idx rejects a lying header before allocating what it promises") {
  TempDir dir;
  const std::string raw = dir.file("lie-idx3-ubyte"), gz = dir.file("lie-idx3-ubyte.gz");
  const long peak_before_kb = peak_rss_kb();

  SUBCASE("2^31 images of 28x28 in 1 KB: over the size limit") {
    const Bytes file = idx_file(8, {0x80000000u, 28, 28}, pattern(1024));
    write_raw(raw, file);
    write_gz(gz, file);
    CHECK(contains(input_error([&] { xg::read_idx(raw); }), raw));
    CHECK(contains(input_error([&] { xg::read_idx(gz); }), gz));
  }
  SUBCASE("2^31 labels in 1 KB: under the limit, but the file is short") {
    const Bytes file = idx_file(8, {0x80000000u}, pattern(1024));
    write_raw(raw, file);
    write_gz(gz, file);
    std::string msg = input_error([&] { xg::read_idx(raw); });
    CHECK(contains(msg, raw));
    CHECK(contains(msg, "truncated: header promises 2147483648 bytes of data"));
    CHECK(contains(msg, "file holds 1024"));
    msg = input_error([&] { xg::IdxReader reader(gz); });  // refused with the header, before any data is read
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "header promises 2147483648 bytes of data (shape 2147483648), more than a"));
    CHECK(contains(msg, "-byte gzip file can hold"));
  }
  SUBCASE("a gzip file whose header promises far more than its trailer records") {
    write_gz_zeros(gz, {100u << 20}, 99u << 20);  // 100 Mi labels promised (as many as 100 KB of gzip can hold), 99 Mi there
    const std::string msg = input_error([&] { xg::IdxReader reader(gz); });
    CHECK(msg == gz + ": header promises 104857600 bytes of data (shape 104857600) but the gzip trailer records 103809032 "
                      "bytes in all, header included; the .gz is truncated or corrupt, or its header lies (a .gz of several "
                      "gzip streams is not supported)");
  }
  // Allocating and zero-filling what the header promises (100 MiB to 2 GiB)
  // would raise the process's peak resident size by as much.
  CHECK(peak_rss_kb() - peak_before_kb < 64 * 1024);
}

TEST_CASE("read_idx rejects truncated data and trailing data, raw and gzip") {
  TempDir dir;
  const std::string raw = dir.file("t-idx1-ubyte"), gz = dir.file("t-idx1-ubyte.gz");

  SUBCASE("truncated raw") {
    write_raw(raw, idx_file(8, {100}, pattern(60)));
    const std::string msg = input_error([&] { xg::read_idx(raw); });
    CHECK(contains(msg, raw));
    CHECK(contains(msg, "truncated: header promises 100 bytes of data"));
    CHECK(contains(msg, "file holds 60"));
  }
  SUBCASE("valid gzip whose content is short: its trailer says so") {
    write_gz(gz, idx_file(8, {100}, pattern(60)));
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "header promises 100 bytes of data (shape 100) but the gzip trailer records 68 bytes in all"));
  }
  SUBCASE("gzip whose content is short but whose trailer is forged") {
    Bytes bytes;
    write_gz(gz, idx_file(8, {100}, pattern(60)));
    bytes = read_all(gz);
    bytes[bytes.size() - 4] = 108;  // 8 header bytes + 100
    write_raw(gz, bytes);
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "corrupt gzip data"));
  }
  SUBCASE("trailing raw") {
    write_raw(raw, idx_file(8, {100}, pattern(103)));
    const std::string msg = input_error([&] { xg::read_idx(raw); });
    CHECK(contains(msg, raw));
    CHECK(contains(msg, "trailing data"));
    CHECK(contains(msg, "3 extra"));
  }
  SUBCASE("trailing gzip") {
    write_gz(gz, idx_file(8, {100}, pattern(101)));
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "but the gzip trailer records 109 bytes in all"));
  }
  SUBCASE("truncated .gz file (cut in the middle of the stream)") {
    write_gz(gz, idx_file(8, {20000}, pattern(20000)));
    Bytes bytes = read_all(gz);
    bytes.resize(bytes.size() / 2);
    write_raw(gz, bytes);
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "the .gz is truncated or corrupt"));
  }
  SUBCASE("truncated .gz file, the end of the stream cut but a trailer that agrees put back") {
    write_gz(gz, idx_file(8, {20000}, pattern(20000)));
    Bytes bytes = read_all(gz);
    const Bytes trailer(bytes.end() - 8, bytes.end());
    bytes.resize(bytes.size() / 2);
    bytes.insert(bytes.end(), trailer.begin(), trailer.end());
    write_raw(gz, bytes);
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "corrupt gzip data"));
  }
}

TEST_CASE("IdxReader reads the header alone: a gzip bomb's data is not read until asked for") {
  TempDir dir;
  const std::string gz = dir.file("bomb-idx3-ubyte.gz");
  write_gz_zeros(gz, {65536, 64, 64}, std::uint64_t(256) << 20);  // 256 MiB of zeros
  CHECK(fs::file_size(gz) < 400000);
  xg::IdxReader reader(gz);
  CHECK(reader.dims() == std::vector<std::uint32_t>{65536, 64, 64});
  CHECK(reader.data_bytes() == std::uint64_t(256) << 20);
  CHECK(reader.shape_text() == "65536 x 64 x 64");
  // A small one is read whole, and is what it says.
  write_gz_zeros(gz, {3, 1000}, 3000);
  const xg::IdxData small = xg::read_idx(gz);
  CHECK(small.bytes == Bytes(3000, 0));
  write_gz_zeros(gz, {3, 1 << 20}, 3 << 20);
  CHECK(xg::read_idx(gz).bytes.size() == 3u << 20);
}

TEST_CASE("read_idx rejects corrupt gzip data") {
  TempDir dir;
  const std::string gz = dir.file("c-idx1-ubyte.gz");

  SUBCASE("bytes flipped in the middle") {
    // Compressible data, so the middle of the file is Huffman-coded deflate.
    Bytes data(50000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::uint8_t((i * i / 7) % 13);
    write_gz(gz, idx_file(8, {50000}, data));
    Bytes bytes = read_all(gz);
    for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] ^= 0xA5;
    write_raw(gz, bytes);
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "corrupt gzip data"));
  }
  SUBCASE("bad CRC") {
    write_gz(gz, idx_file(8, {1000}, pattern(1000)));
    Bytes bytes = read_all(gz);
    bytes[bytes.size() - 8] ^= 0xFF;  // the trailer is CRC-32 then the length
    write_raw(gz, bytes);
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "corrupt gzip data: incorrect data check"));
  }
}
