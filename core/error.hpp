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

}  // namespace xg
