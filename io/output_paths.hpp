#pragma once
// The files a command is about to write, checked all at once before it reads
// data or trains, so that a typo, a device or a clash fails in well under a
// second (InputError, exit status 2) instead of after an epoch, and nothing is
// written first.
#include <string>
#include <utility>
#include <vector>

namespace xg {

struct OutputPath {
  OutputPath(std::string flag_name, std::string file, std::string file_role = "", bool creates = false)
      : flag(std::move(flag_name)), path(std::move(file)), role(std::move(file_role)), creates_directory(creates) {}
  std::string flag;  // the flag that names it, for messages: "--save", "--metrics"
  std::string path;  // "" when the flag is off (skipped)
  std::string role;  // what the file is when it is not the flag's path itself ("training state"), or ""
  bool creates_directory;  // its directory is created when missing (--report DIR)
};

// Throws InputError "FLAG PATH: what is wrong" (one line) unless, for each output:
//  - its directory exists and a file can be created in it (with
//    creates_directory: the nearest existing ancestor is a writable directory);
//  - the path is absent or a regular file, symbolic links followed (a device
//    such as /dev/null, a directory or a FIFO is never replaced);
//  - no other output, and none of `inputs` that exist (files the command reads), is the
//    same file (compared by device and inode when it exists, else by the
//    resolved directory and the name).
// Then removes, beside each output, the temporary files of writes by processes
// that no longer run (io/atomic_file.hpp remove_stale_temporary_files).
void check_output_paths(const std::vector<OutputPath>& outputs, const std::vector<OutputPath>& inputs = {});

// True when `a` and `b` name the same file (whether or not it exists yet).
bool same_file(const std::string& a, const std::string& b);

}  // namespace xg
