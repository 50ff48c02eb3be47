#include "io/atomic_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "core/error.hpp"

namespace xg {

namespace {
std::string temporary_name(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }
std::string system_error(const std::string& path, const char* what) {
  return path + ": cannot " + what + " (" + std::strerror(errno) + ")";
}
}  // namespace

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = temporary_name(path);
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
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string message = system_error(path, "replace");
    std::remove(tmp.c_str());
    throw InputError(message);
  }
}

void check_writable(const std::string& path) {
  const std::string tmp = temporary_name(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw InputError(system_error(path, "write"));
  std::fclose(f);
  std::remove(tmp.c_str());
}

}  // namespace xg
