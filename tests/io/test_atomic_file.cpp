// io/atomic_file: a write replaces the file whole and leaves no temporary file
// behind; an unwritable path is an InputError naming it. (A process killed in
// the middle of a save: tests/apps/test_train_command.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "tests/support/files.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("atomic file: write_file_atomically replaces the content and leaves only the file") {
  TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  write_file_atomically(path, "one\n");
  CHECK(read_file(path) == "one\n");
  write_file_atomically(path, "one\ntwo\n");
  CHECK(read_file(path) == "one\ntwo\n");
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) files += entry.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("atomic file: a path in a missing directory is refused naming it, before and at the write") {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/m.safetensors");
  CHECK_THROWS_WITH_AS(check_writable(path), doctest::Contains(path.c_str()), InputError);
  CHECK_THROWS_WITH_AS(write_file_atomically(path, "x"), doctest::Contains(path.c_str()), InputError);
  CHECK_NOTHROW(check_writable(dir.file("m.safetensors")));
  CHECK_FALSE(std::filesystem::exists(dir.file("m.safetensors")));  // checking leaves nothing behind
}
