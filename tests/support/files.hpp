#pragma once
// Files for the tests: scratch directories that clean up after themselves, and
// reading a file back whole or line by line.
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

// The whole file ("" when it cannot be read).
std::string read_file(const std::string& path);
// The lines of `text`, without their '\n'.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace xg::testing
