#include "test_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>

#include <zlib.h>

#include <nlohmann/json.hpp>

#include "core/random.hpp"

namespace xg::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "xgrad-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

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
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
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

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

RunResult run_xgrad(const std::string& args) {
  TempDir scratch;
  const std::string out = scratch.file("out"), err = scratch.file("err");
  // From inside the scratch directory, so that files written by default (train's model.safetensors) vanish with it.
  const std::string command =
      "cd " + scratch.path() + " && " + std::string(XGRAD_BINARY) + " " + args + " >" + out + " 2>" + err + " </dev/null";
  const int raw = std::system(command.c_str());
  RunResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::string metrics_mismatch(const std::string& path_a, const std::string& path_b, std::size_t epochs,
                             const std::vector<std::string>& keys) {
  const std::vector<std::string> a = lines_of(read_file(path_a)), b = lines_of(read_file(path_b));
  if (a.size() != epochs || b.size() != epochs) {
    return std::to_string(a.size()) + " and " + std::to_string(b.size()) + " lines, expected " + std::to_string(epochs);
  }
  for (std::size_t i = 0; i < epochs; ++i) {
    const nlohmann::json x = nlohmann::json::parse(a[i]), y = nlohmann::json::parse(b[i]);
    for (const std::string& key : keys) {
      if (!x.contains(key) || x[key] != y.value(key, nlohmann::json())) {
        return "line " + std::to_string(i + 1) + " " + key + ": " + x.value(key, nlohmann::json()).dump() + " vs " +
               y.value(key, nlohmann::json()).dump();
      }
    }
  }
  return "";
}

}  // namespace xg::testing
