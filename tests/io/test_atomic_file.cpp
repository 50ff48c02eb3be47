// io/atomic_file: a write replaces the file whole and leaves no temporary file
// behind; an unwritable path is an InputError naming it; only a regular file
// is ever replaced (never a device, a directory, a FIFO, or what a link points
// to); stale temporary files of dead processes are removed. (A process killed
// in the middle of a save, and signals: tests/apps/test_train_command.cpp,
// tests/apps/test_train_command_signals.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

namespace {

struct stat status_of(const std::string& path) {
  struct stat s = {};
  REQUIRE(::lstat(path.c_str(), &s) == 0);
  return s;
}

// A process id that no process has: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace

TEST_CASE("atomic file: a device, a directory, a FIFO or a link to one is refused and keeps its kind") {
  TempDir dir;
  const std::string fifo = dir.file("fifo"), directory = dir.file("sub"), link = dir.file("link-to-null"),
                    dangling = dir.file("dangling");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::filesystem::create_directory(directory);
  std::filesystem::create_symlink("/dev/null", link);
  std::filesystem::create_symlink(dir.file("nothing-here"), dangling);
  const struct stat null_before = status_of("/dev/null");
  for (const std::string& path : {std::string("/dev/null"), fifo, directory, link, dangling}) {
    CAPTURE(path);
    const struct stat before = status_of(path);
    CHECK_THROWS_WITH_AS(write_file_atomically(path, "x"), doctest::Contains(path.c_str()), InputError);
    CHECK_THROWS_WITH_AS(check_writable(path), doctest::Contains(path.c_str()), InputError);
    const struct stat after = status_of(path);
    CHECK((after.st_mode & S_IFMT) == (before.st_mode & S_IFMT));
    CHECK(after.st_ino == before.st_ino);
  }
  const struct stat null_after = status_of("/dev/null");
  CHECK(S_ISCHR(null_after.st_mode));
  CHECK(null_after.st_rdev == null_before.st_rdev);
  CHECK(null_after.st_ino == null_before.st_ino);
  CHECK_FALSE(std::filesystem::exists(dir.file("nothing-here")));
  CHECK_THROWS_WITH_AS(write_file_atomically(directory, "x"), doctest::Contains("a directory"), InputError);
  CHECK_THROWS_WITH_AS(write_file_atomically(link, "x"), doctest::Contains("a character device"), InputError);
}

TEST_CASE("atomic file: a symbolic link to a regular file stays a link, and its target gets the new content") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("runs"));
  const std::string target = dir.file("runs/latest.jsonl"), link = dir.file("m.jsonl");
  write_file_atomically(target, "old\n");
  std::filesystem::create_symlink("runs/latest.jsonl", link);
  write_file_atomically(link, "new\n");
  CHECK(std::filesystem::is_symlink(link));
  CHECK(read_file(target) == "new\n");
  CHECK(write_destination(link) == std::filesystem::canonical(target).string());
  CHECK(write_destination(dir.file("absent")) == dir.file("absent"));
}

TEST_CASE("atomic file: stale temporary files of processes that no longer run are removed, others kept") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  const std::string dead = temporary_name(path, dead_pid()), mine = temporary_name(path, ::getpid()),
                    alive = temporary_name(path, 1), other = temporary_name(dir.file("other"), dead_pid());
  for (const std::string& f : {dead, mine, alive, other, path + ".tmp.notapid"}) std::ofstream(f) << "x";
  CHECK(remove_stale_temporary_files(path) == 1);
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(mine));   // this process's own write
  CHECK(std::filesystem::exists(alive));  // process 1 runs
  CHECK(std::filesystem::exists(other));  // beside another file
  CHECK(std::filesystem::exists(path + ".tmp.notapid"));
}
