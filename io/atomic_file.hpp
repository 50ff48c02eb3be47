#pragma once
#include <string>

namespace xg {

// Writes `content` to `path` so that readers see either the old file or the
// whole new one, never a half-written file: the bytes go to a temporary file
// in the same directory, which is flushed and then renamed over `path`.
// Throws InputError naming the path when it cannot be written.
void write_file_atomically(const std::string& path, const std::string& content);

// Throws InputError naming the path unless a file can be created beside it
// (checked before a long run, so a typo in an output path fails at once).
void check_writable(const std::string& path);

}  // namespace xg
