#pragma once
// Running the xgrad binary (build/xgrad) as a user would, and comparing the
// --metrics files it writes.
#include <string>
#include <vector>

namespace xg::testing {

struct RunResult {
  int status = -1;  // exit status
  std::string out, err;
};
// Runs build/xgrad with `args` (a shell-quoted string) inside a fresh scratch
// directory (so that files written by default vanish with it), capturing both streams.
RunResult run_xgrad(const std::string& args);

// Compares two --metrics files: "" when both have `epochs` lines whose values
// at `keys` are equal (exactly), else a line saying what differs first.
std::string metrics_mismatch(const std::string& path_a, const std::string& path_b, std::size_t epochs,
                             const std::vector<std::string>& keys);

}  // namespace xg::testing
