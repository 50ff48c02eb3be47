#include "io/atomic_file.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"

namespace xg {

namespace {

std::string system_error(const std::string& path, const char* what) {
  return path + ": cannot " + what + " (" + std::strerror(errno) + ")";
}

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The temporary files being written now, for remove_temporary_files_in_flight
// to unlink from a signal handler: fixed slots of plain chars (no allocation),
// each claimed and released through a lock-free atomic.
constexpr int kSlots = 16;
constexpr int kFree = 0, kFilling = 1, kLive = 2;
struct Slot {
  std::atomic<int> state{kFree};
  char path[PATH_MAX];
};
Slot g_slots[kSlots];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler reads these flags");

// Registers a temporary file for the length of a write (a write in a full
// table goes unregistered: the registry is a safety net, not a condition).
class RegisteredTemporary {
 public:
  explicit RegisteredTemporary(const std::string& path) {
    if (path.size() >= PATH_MAX) return;
    for (Slot& s : g_slots) {
      int expected = kFree;
      if (s.state.compare_exchange_strong(expected, kFilling)) {
        std::memcpy(s.path, path.c_str(), path.size() + 1);
        s.state.store(kLive);
        slot_ = &s;
        return;
      }
    }
  }
  ~RegisteredTemporary() {
    if (slot_) slot_->state.store(kFree);
  }
  RegisteredTemporary(const RegisteredTemporary&) = delete;
  RegisteredTemporary& operator=(const RegisteredTemporary&) = delete;

 private:
  Slot* slot_ = nullptr;
};

}  // namespace

std::string temporary_name(const std::string& path, long pid) { return path + ".tmp." + std::to_string(pid); }

std::string write_destination(const std::string& path) {
  struct stat link;
  if (::lstat(path.c_str(), &link) != 0) return path;  // absent (or unreachable: opening the temporary file says why)
  if (S_ISREG(link.st_mode)) return path;
  if (!S_ISLNK(link.st_mode)) {
    throw InputError(path + ": is " + kind_of(link.st_mode) + ", not a regular file; give the path of a file to write");
  }
  struct stat target;
  if (::stat(path.c_str(), &target) != 0) {
    throw InputError(path + ": is a symbolic link to a file that does not exist (" + std::strerror(errno) +
                     "); give the path of a file to write");
  }
  if (!S_ISREG(target.st_mode)) {
    throw InputError(path + ": is a symbolic link to " + kind_of(target.st_mode) +
                     ", not to a regular file; give the path of a file to write");
  }
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) throw InputError(system_error(path, "resolve the symbolic link"));
  return resolved;
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string destination = write_destination(path);
  const std::string tmp = temporary_name(destination, ::getpid());
  const RegisteredTemporary registered(tmp);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw InputError(system_error(path, "write"));
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!(written && flushed && closed)) {
    const std::string message = system_error(path, "write");
    std::remove(tmp.c_str());
    throw InputError(message);
  }
  try {
    write_destination(path);  // once more: it may have become a device meanwhile
  } catch (const InputError&) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), destination.c_str()) != 0) {
    const std::string message = system_error(path, "replace");
    std::remove(tmp.c_str());
    throw InputError(message);
  }
}

void check_writable(const std::string& path) {
  const std::string tmp = temporary_name(write_destination(path), ::getpid());
  const RegisteredTemporary registered(tmp);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw InputError(system_error(path, "write"));
  std::fclose(f);
  std::remove(tmp.c_str());
}

std::size_t remove_stale_temporary_files(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path file(path);
  const fs::path directory = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const std::string prefix = file.filename().string() + ".tmp.";
  std::size_t removed = 0;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::strtol(digits.c_str(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    // kill(pid, 0) fails with ESRCH only when no such process exists (EPERM: it runs, as another user).
    if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    if (it->is_regular_file(ignored) && fs::remove(it->path(), ignored)) ++removed;
  }
  return removed;
}

void remove_temporary_files_in_flight() noexcept {
  for (Slot& s : g_slots)
    if (s.state.load() == kLive) ::unlink(s.path);
}

}  // namespace xg
