// io/output_paths: check_output_paths refuses, with one line naming the flag
// and the path, an output that is a device, a directory, a link to either or
// to nothing, in a missing directory, or the same file as another output or
// an input; it writes nothing; it removes stale temporary files. (Through every
// command: tests/apps/test_main.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/output_paths.hpp"
#include "tests/support/files.hpp"

using namespace xg;
using namespace xg::testing;
namespace fs = std::filesystem;

namespace {

// The message of the InputError check_output_paths throws ("" when it passes).
std::string refusal(const std::vector<OutputPath>& outputs, const std::vector<OutputPath>& inputs = {}) {
  try {
    check_output_paths(outputs, inputs);
    return "";
  } catch (const InputError& e) {
    return e.what();
  }
}

std::size_t entries(const std::string& dir) {
  std::size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) ++n;
  return n;
}

}  // namespace

TEST_CASE("output paths: fresh files in existing directories pass and nothing is written") {
  TempDir dir;
  fs::create_directory(dir.file("runs"));
  CHECK(refusal({{"--save", dir.file("runs/m.safetensors")}, {"--save", dir.file("runs/m.safetensors.state"), "training state"},
                 {"--metrics", dir.file("m.jsonl")}, {"--save-best", ""},
                 {"--report", dir.file("new/deeper/report.html"), "page", true}}) == "");
  CHECK(entries(dir.path()) == 1);  // runs/ only: no file, no report directory yet
}

TEST_CASE("output paths: a device, a directory, a link to a device or to nothing is refused naming the flag") {
  TempDir dir;
  fs::create_directory(dir.file("sub"));
  fs::create_symlink("/dev/null", dir.file("null-link"));
  fs::create_symlink(dir.file("missing"), dir.file("dangling"));
  struct stat null_before = {};
  REQUIRE(::stat("/dev/null", &null_before) == 0);
  const std::pair<std::string, std::string> cases[] = {{"/dev/null", "device"}, {"/dev/full", "device"},
                                                       {dir.file("sub"), "directory"}, {dir.file("null-link"), "device"},
                                                       {dir.file("dangling"), "does not exist"}};
  for (const auto& [path, what] : cases) {
    if (!fs::exists(path) && !fs::is_symlink(path)) continue;  // a container without /dev/full
    for (const char* flag : {"--save", "--metrics"}) {
      CAPTURE(path);
      const std::string m = refusal({{flag, path}});
      CHECK(m.find(std::string(flag) + " " + path + ": ") == 0);
      CHECK(m.find(what) != std::string::npos);
      CHECK(m.find('\n') == std::string::npos);
    }
  }
  struct stat null_after = {};
  REQUIRE(::stat("/dev/null", &null_after) == 0);
  CHECK(S_ISCHR(null_after.st_mode));
  CHECK(null_after.st_rdev == null_before.st_rdev);
  CHECK(fs::is_symlink(dir.file("null-link")));
  CHECK_FALSE(fs::exists(dir.file("missing")));
  CHECK(entries(dir.path()) == 3);
}

TEST_CASE("output paths: a missing directory, or one that is a file, is refused, but --report may create its own") {
  TempDir dir;
  std::ofstream(dir.file("plain")) << "x";
  std::string m = refusal({{"--save", dir.file("no/such/m.safetensors")}});
  CHECK(m.find("--save " + dir.file("no/such/m.safetensors") + ": the directory " + dir.file("no/such") + " does not exist") == 0);
  m = refusal({{"--metrics", dir.file("plain/m.jsonl")}});
  CHECK(m.find("--metrics " + dir.file("plain/m.jsonl") + ": ") == 0);
  CHECK(m.find("not a directory") != std::string::npos);
  CHECK(refusal({{"--report", dir.file("a/b/report.html"), "page", true}}) == "");
  m = refusal({{"--report", dir.file("plain/b/report.html"), "page", true}});
  CHECK(m.find("--report's page " + dir.file("plain/b/report.html")) == 0);
  CHECK(m.find("not a directory") != std::string::npos);
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("output paths: two outputs, or an output and an input, that are the same file are refused") {
  TempDir dir;
  fs::create_directory(dir.file("sub"));
  const std::string model = dir.file("m.safetensors");
  // Spelled differently, not yet existing.
  std::string m = refusal({{"--save", model}, {"--metrics", dir.file("sub/../m.safetensors")}});
  CHECK(m.find("--metrics " + dir.file("sub/../m.safetensors") + ": the same file as --save " + model) == 0);
  m = refusal({{"--save", model}, {"--save", model + ".state", "training state"}, {"--metrics", model + ".state"}});
  CHECK(m.find("the same file as --save's training state " + model + ".state") != std::string::npos);
  // Existing: a hard link and a symbolic link name the same file.
  std::ofstream(model) << "x";
  fs::create_hard_link(model, dir.file("hard"));
  fs::create_symlink(model, dir.file("soft"));
  CHECK(refusal({{"--save", model}, {"--save-best", dir.file("hard")}}).find("the same file as --save") != std::string::npos);
  CHECK(refusal({{"--save", model}, {"--metrics", dir.file("soft")}}).find("the same file as --save") != std::string::npos);
  // An input: the data it would overwrite; an input that does not exist is no file.
  const std::string data = dir.file("data.csv");
  std::ofstream(data) << "label,x\n0,1\n";
  m = refusal({{"--metrics", data}}, {{"--data", data}});
  CHECK(m.find("--metrics " + data + ": the same file as the input --data " + data) == 0);
  CHECK(refusal({{"--metrics", dir.file("fashion-mnist")}}, {{"--data", "fashion-mnist"}, {"--classes", "a,b"}}) == "");
  CHECK(read_file(data) == "label,x\n0,1\n");
  CHECK(same_file(model, dir.file("hard")));
  CHECK_FALSE(same_file(model, data));
}

TEST_CASE("output paths: the check removes stale temporary files beside each output") {
  TempDir dir;
  const std::string model = dir.file("m.safetensors");
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  const std::string stale = temporary_name(model + ".state", child);
  std::ofstream(stale) << "half a state";
  CHECK(refusal({{"--save", model}, {"--save", model + ".state", "training state"}}) == "");
  CHECK_FALSE(fs::exists(stale));
}
