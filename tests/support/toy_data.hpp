#pragma once
// Small data sets written by the tests: IDX files and MNIST-style directories
// of separable toy images, and where the real Fashion-MNIST lives.
#include <cstdint>
#include <string>
#include <vector>

namespace xg::testing {

// An IDX file of unsigned bytes with the given dimensions (raw, or gzip when gz).
void write_idx(const std::string& path, const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data,
               bool gz = false);

// Writes the four MNIST-style files of a small separable data set to `dir`:
// `classes` classes of rows x cols images, class c has a bright band in row c
// (plus noise); `train`/`test` items.
void write_toy_dataset(const std::string& dir, std::size_t train, std::size_t test, std::size_t classes,
                       std::size_t rows, std::size_t cols);

// The Debian package's Fashion-MNIST directory (the test command installs it).
inline const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

}  // namespace xg::testing
