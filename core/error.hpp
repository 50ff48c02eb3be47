#pragma once
// The error every layer throws for bad input from the user: a missing or
// malformed file, a flag out of range, a checkpoint that does not fit. The
// message is one line that names the file or flag and says what is wrong;
// `xgrad` prints it and exits with status 2.
#include <stdexcept>
#include <string>

namespace xg {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws the InputError "source: what" (source: the file or flag; what: what is wrong with it).
[[noreturn]] inline void fail(const std::string& source, const std::string& what) { throw InputError(source + ": " + what); }
// Throws an InputError whose message names its file or flag itself.
[[noreturn]] inline void fail(const std::string& message) { throw InputError(message); }

}  // namespace xg
