#pragma once
// IDX files and MNIST-style data set directories for the datasets/ tests
// (tests/datasets/test_idx.cpp, test_image_dataset.cpp): good ones in every
// spelling and the bytes to make hostile ones, and the one-line InputError
// every bad file must give.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "tests/support/files.hpp"

namespace xg::testing {

using Bytes = std::vector<std::uint8_t>;

// An IDX file: 00 00 type ndim, big-endian dims, then `data`.
inline Bytes idx_file(std::uint8_t type, const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes out = {0, 0, type, std::uint8_t(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(std::uint8_t(d >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

inline Bytes pattern(std::size_t n, unsigned seed = 1) {
  Bytes out(n);
  std::uint32_t state = seed;
  for (auto& b : out) {
    state = state * 1664525u + 1013904223u;  // LCG: bytes that barely compress
    b = std::uint8_t(state >> 24);
  }
  return out;
}

inline void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  REQUIRE(out.good());
}

inline void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(file, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

// A gzip bomb that is small on disk: an IDX file with header `dims` and
// `zero_bytes` bytes of zeros as its data (whatever the header promises),
// gzip-compressed about 1000:1 without compressing them all: one deflate block
// of 1 MiB of zeros, made independent of what precedes it by a full flush, is
// repeated. The CRC-32 and the size in the trailer are right, so it is a valid
// .gz of the whole.
inline void write_gz_zeros(const std::string& path, const std::vector<std::uint32_t>& dims, std::uint64_t zero_bytes) {
  const Bytes header = idx_file(8, dims, {});
  const std::size_t chunk = std::size_t(1) << 20;
  const Bytes zeros(chunk, 0);
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);  // raw deflate
  auto compress = [&](const std::uint8_t* data, std::size_t n, int flush) {
    Bytes out(n + 1024);
    z.next_in = const_cast<std::uint8_t*>(data);
    z.avail_in = unsigned(n);
    z.next_out = out.data();
    z.avail_out = unsigned(out.size());
    REQUIRE(deflate(&z, flush) != Z_STREAM_ERROR);
    REQUIRE(z.avail_in == 0);
    out.resize(out.size() - z.avail_out);
    return out;
  };
  const Bytes head = compress(header.data(), header.size(), Z_FULL_FLUSH);
  const Bytes block = compress(zeros.data(), chunk, Z_FULL_FLUSH);  // 1 MiB of zeros, referring to nothing before it
  const Bytes tail = compress(zeros.data(), std::size_t(zero_bytes % chunk), Z_FINISH);
  deflateEnd(&z);
  uLong crc = crc32(0, header.data(), unsigned(header.size()));
  const uLong crc_block = crc32(0, zeros.data(), unsigned(chunk));
  std::ofstream out(path, std::ios::binary);
  const std::uint8_t gzip_header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  out.write(reinterpret_cast<const char*>(gzip_header), 10);
  out.write(reinterpret_cast<const char*>(head.data()), std::streamsize(head.size()));
  for (std::uint64_t i = 0; i < zero_bytes / chunk; ++i) {
    out.write(reinterpret_cast<const char*>(block.data()), std::streamsize(block.size()));
    crc = crc32_combine(crc, crc_block, z_off_t(chunk));
  }
  out.write(reinterpret_cast<const char*>(tail.data()), std::streamsize(tail.size()));
  crc = crc32_combine(crc, crc32(0, zeros.data(), unsigned(zero_bytes % chunk)), z_off_t(zero_bytes % chunk));
  const std::uint64_t total = header.size() + zero_bytes;
  const std::uint8_t trailer[8] = {std::uint8_t(crc), std::uint8_t(crc >> 8), std::uint8_t(crc >> 16), std::uint8_t(crc >> 24),
                                   std::uint8_t(total), std::uint8_t(total >> 8), std::uint8_t(total >> 16), std::uint8_t(total >> 24)};
  out.write(reinterpret_cast<const char*>(trailer), 8);
  REQUIRE(out.good());
}

inline Bytes read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// The message of the InputError that f throws; fails the test if it throws none.
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const xg::InputError& e) {
    const std::string message = e.what();
    CHECK(message.find('\n') == std::string::npos);  // one line
    return message;
  }
  FAIL("expected an InputError");
  return "";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Writes the four files of a dataset: images (count, rows, cols), labels label(i).
struct DatasetSpec {
  std::size_t train = 6, test = 4, rows = 5, cols = 7;
  bool dotted = false;  // train-images.idx3-ubyte instead of train-images-idx3-ubyte
  bool gz = true;
  unsigned max_label = 5;  // the train labels are 0..5: every class has an example
};

inline void write_dataset(const TempDir& dir, const DatasetSpec& spec) {
  auto name = [&](std::string base) {
    if (spec.dotted) base[base.rfind("-idx")] = '.';
    return dir.file(base + (spec.gz ? ".gz" : ""));
  };
  auto write = [&](const std::string& path, const Bytes& bytes) { spec.gz ? write_gz(path, bytes) : write_raw(path, bytes); };
  auto labels = [&](std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = std::uint8_t(i % (spec.max_label + 1));
    if (n) out[n - 1] = std::uint8_t(spec.max_label);
    return out;
  };
  const auto rows = std::uint32_t(spec.rows), cols = std::uint32_t(spec.cols);
  write(name("train-images-idx3-ubyte"), idx_file(8, {std::uint32_t(spec.train), rows, cols}, pattern(spec.train * spec.rows * spec.cols, 1)));
  write(name("train-labels-idx1-ubyte"), idx_file(8, {std::uint32_t(spec.train)}, labels(spec.train)));
  write(name("t10k-images-idx3-ubyte"), idx_file(8, {std::uint32_t(spec.test), rows, cols}, pattern(spec.test * spec.rows * spec.cols, 2)));
  write(name("t10k-labels-idx1-ubyte"), idx_file(8, {std::uint32_t(spec.test)}, labels(spec.test)));
}

}  // namespace xg::testing
