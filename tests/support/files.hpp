#pragma once
// Helpers shared by the tests: temporary directories, small IDX data sets,
// and running the xgrad binary.
#include <cstdint>
#include <string>
#include <vector>

namespace xg::testing {

// A fresh empty directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An IDX file of unsigned bytes with the given dimensions (raw, or gzip when gz).
void write_idx(const std::string& path, const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data,
               bool gz = false);

// Writes the four MNIST-style files of a small separable data set to `dir`:
// `classes` classes of rows x cols images, class c has a bright band in row c
// (plus noise); `train`/`test` items.
void write_toy_dataset(const std::string& dir, std::size_t train, std::size_t test, std::size_t classes,
                       std::size_t rows, std::size_t cols);

struct RunResult {
  int status = -1;  // exit status
  std::string out, err;
};
// Runs build/xgrad with `args` (a shell-quoted string), capturing both streams.
RunResult run_xgrad(const std::string& args);

std::string read_file(const std::string& path);
std::vector<std::string> lines_of(const std::string& text);

// Compares two --metrics files: "" when both have `epochs` lines whose values
// at `keys` are equal (exactly), else a line saying what differs first.
std::string metrics_mismatch(const std::string& path_a, const std::string& path_b, std::size_t epochs,
                             const std::vector<std::string>& keys);

// The Debian package's Fashion-MNIST directory (the test command installs it).
inline const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

}  // namespace xg::testing
