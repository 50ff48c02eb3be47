#pragma once
// .npy input and output for the PyTorch oracle drivers (tests/oracles/
// training_step, tests/oracles/layers_losses_optim): every read checks that the file opens, that xtensor
// accepts its header and dtype, and that the data is as long as the header says.
#include <cstdint>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xnpy.hpp>

#include "core/error.hpp"
#include "core/tensor.hpp"

namespace xg::oracle {

// A bad command line (the driver exits 2), as opposed to a failure while running (1).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline const char* const kInputHint =
    "HINT: the oracle's Python script writes the inputs; run it (ctest -L oracle) rather than the driver alone";

// Reads an .npy of element type T, or throws InputError naming the file.
template <class T>
xt::xarray<T> load_npy_checked(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open. " + kInputHint);
  xt::xarray<T> a;
  try {
    a = xt::load_npy<T>(in);
  } catch (const std::runtime_error& e) {
    throw InputError(path + ": not a readable .npy of the expected dtype (" + e.what() + "). " + kInputHint);
  }
  if (!in) throw InputError(path + ": truncated, the data is shorter than its header says. " + kInputHint);
  return a;
}

inline Array load_floats(const std::string& path) { return load_npy_checked<float>(path); }

// labels (B) int64, as torch wants them -> uint32, as xgrad wants them.
inline std::vector<std::uint32_t> load_labels(const std::string& path) {
  const xt::xarray<std::int64_t> raw = load_npy_checked<std::int64_t>(path);
  if (raw.dimension() != 1) {
    throw InputError(path + ": labels must have rank 1, got shape " + shape_string(Shape(raw.shape().begin(), raw.shape().end())));
  }
  std::vector<std::uint32_t> labels(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::int64_t y = raw.data()[i];
    if (y < 0 || y > std::int64_t(std::numeric_limits<std::uint32_t>::max())) {
      throw InputError(path + ": label " + std::to_string(y) + " at index " + std::to_string(i) + " is negative or too large");
    }
    labels[i] = std::uint32_t(y);
  }
  return labels;
}

inline void save(const std::string& path, const Array& a) {
  try {
    xt::dump_npy(path, a);
  } catch (const std::runtime_error& e) {
    throw InputError(path + ": cannot write (" + e.what() + "); HINT: does the directory exist and is it writable?");
  }
}

}  // namespace xg::oracle
