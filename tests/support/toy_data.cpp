#include "tests/support/toy_data.hpp"

#include <fstream>
#include <stdexcept>

#include <zlib.h>

#include "core/random.hpp"

namespace xg::testing {

void write_idx(const std::string& path, const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data,
               bool gz) {
  std::string bytes{'\0', '\0', '\x08', char(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(char((d >> shift) & 0xff));
  }
  bytes.append(data.begin(), data.end());
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (f == nullptr || gzwrite(f, bytes.data(), unsigned(bytes.size())) != int(bytes.size()) || gzclose(f) != Z_OK)
      throw std::runtime_error("cannot write " + path);
  } else {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
  }
}

void write_toy_dataset(const std::string& dir, std::size_t train, std::size_t test, std::size_t classes,
                       std::size_t rows, std::size_t cols) {
  Rng rng(123);
  auto make = [&](const std::string& prefix, std::size_t n) {
    std::vector<std::uint8_t> images(n * rows * cols), labels(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t label = rng.below(std::uint32_t(classes));
      labels[i] = std::uint8_t(label);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)
          images[(i * rows + r) * cols + c] = std::uint8_t(rng.below(60) + (r == label % rows ? 180 : 0));
    }
    write_idx(dir + "/" + prefix + "-images-idx3-ubyte", {std::uint32_t(n), std::uint32_t(rows), std::uint32_t(cols)},
              images);
    write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", {std::uint32_t(n)}, labels);
  };
  make("train", train);
  make("t10k", test);
}

}  // namespace xg::testing
