#pragma once
#include <string>

namespace xg {

// Writes `content` to `path` so that readers see either the old file or the
// whole new one, never a half-written file: the bytes go to a temporary file
// PATH.tmp.PID in the same directory, which is flushed and then renamed over
// `path`. Only a regular file is ever replaced: a `path` that exists and is
// something else (a device such as /dev/null, a directory, a FIFO, a symbolic
// link to one of those or to nothing) is refused. A symbolic link to a regular
// file stays a link: its target is the file written.
// Throws InputError naming the path when it cannot be written.
void write_file_atomically(const std::string& path, const std::string& content);

// Throws InputError naming the path unless a file can be created beside it
// and `path` is absent or a regular file (checked before a long run, so a
// typo in an output path fails at once).
void check_writable(const std::string& path);

// The file a write to `path` replaces: `path`, or the target of the symbolic
// link `path` (resolved to a path of its own). Throws InputError, naming `path`
// and what it is, when it exists and is not a regular file.
std::string write_destination(const std::string& path);

// The temporary file name of a write to `path` by the process `pid`.
std::string temporary_name(const std::string& path, long pid);

// Removes the temporary files PATH.tmp.PID beside `path` that processes no
// longer running left behind (killed in the middle of a write). Returns how
// many it removed.
std::size_t remove_stale_temporary_files(const std::string& path);

// Removes the temporary files of the writes this process has in flight, for a
// signal handler that is about to _exit: async-signal-safe (only unlink).
void remove_temporary_files_in_flight() noexcept;

}  // namespace xg
