#include "io/output_paths.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace xg {

namespace fs = std::filesystem;

namespace {

// Who names a file in messages: "--save m.safetensors", "--save's training state m.safetensors.state".
std::string describe(const OutputPath& o) {
  return (o.role.empty() ? o.flag : o.flag + "'s " + o.role) + " " + o.path;
}

// An identity for a path: "inode DEV:INO" when the file exists (symbolic links
// followed, so hard links and links compare equal), else its resolved
// absolute path.
std::string identity(const std::string& path) {
  struct stat s;
  if (::stat(path.c_str(), &s) == 0) return "inode " + std::to_string(s.st_dev) + ":" + std::to_string(s.st_ino);
  std::error_code error;
  const fs::path absolute = fs::absolute(path, error);
  if (error) return path;
  const fs::path resolved = fs::weakly_canonical(absolute, error);
  return error ? absolute.lexically_normal().string() : resolved.string();
}

// The directory a file at `path` goes into ("." for a bare name).
fs::path directory_of(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? p.parent_path() : fs::path(".");
}

// The part of an InputError's message after "PATH: ".
std::string reason(const InputError& e, const std::string& path) {
  const std::string m = e.what();
  return m.compare(0, path.size() + 2, path + ": ") == 0 ? m.substr(path.size() + 2) : m;
}

void check_one(const OutputPath& o) {
  auto fail = [&](const std::string& what) { throw InputError(describe(o) + ": " + what); };
  std::string destination;  // the link's target for a symbolic link
  try {
    destination = write_destination(o.path);
  } catch (const InputError& e) {
    fail(reason(e, o.path));
  }
  const fs::path directory = directory_of(destination);
  std::error_code error;
  if (o.creates_directory && !fs::exists(directory, error)) {
    fs::path ancestor = fs::absolute(directory, error);  // the nearest existing one must be a writable directory
    while (!fs::exists(ancestor, error) && ancestor.has_parent_path() && ancestor.parent_path() != ancestor)
      ancestor = ancestor.parent_path();
    if (!fs::is_directory(ancestor, error)) fail(ancestor.string() + " is not a directory");
    if (::access(ancestor.c_str(), W_OK) != 0)
      fail("cannot create a directory in " + ancestor.string() + " (" + std::strerror(errno) + ")");
    return;
  }
  if (!fs::exists(directory, error)) fail("the directory " + directory.string() + " does not exist; create it first");
  if (!fs::is_directory(directory, error)) fail(directory.string() + " is not a directory");
  try {
    check_writable(destination);
  } catch (const InputError& e) {
    const std::string why = e.what();
    const std::size_t open = why.rfind(" (");
    fail("cannot create a file in " + directory.string() + (open == std::string::npos ? "" : why.substr(open)));
  }
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) { return identity(a) == identity(b); }

void check_output_paths(const std::vector<OutputPath>& outputs, const std::vector<OutputPath>& inputs) {
  std::vector<std::pair<std::string, const OutputPath*>> seen;  // identity, output
  std::error_code ignored;  // an input that does not exist is no file to overwrite (--data fashion-mnist, --classes a,b)
  for (const OutputPath& o : outputs) {
    if (o.path.empty()) continue;
    check_one(o);
    const std::string id = identity(o.path);
    for (const auto& [other_id, other] : seen)
      if (other_id == id) throw InputError(describe(o) + ": the same file as " + describe(*other) + "; give each output its own path");
    for (const OutputPath& in : inputs)
      if (!in.path.empty() && fs::exists(in.path, ignored) && identity(in.path) == id)
        throw InputError(describe(o) + ": the same file as the input " + describe(in) + ", which it would overwrite");
    seen.emplace_back(id, &o);
  }
  for (const OutputPath& o : outputs)
    if (!o.path.empty()) remove_stale_temporary_files(write_destination(o.path));
}

}  // namespace xg
