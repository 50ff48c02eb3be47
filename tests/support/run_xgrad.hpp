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

// The same under an address-space cap of `megabytes` (setrlimit(RLIMIT_AS) through
// the shell's `ulimit -v`), so that a hostile input that makes xgrad allocate big
// fails the test at once instead of passing slowly. A sanitizer build reserves
// terabytes of shadow memory, so there the cap is left off (XGRAD_SANITIZED).
RunResult run_xgrad_capped(const std::string& args, std::size_t megabytes = 512);

// `mpirun -np ranks build/xgrad args` the same way: as root when we are
// (--allow-run-as-root), more ranks than cores (--oversubscribe), mpirun's
// own banners off (-q), no single-copy transfers (which containers forbid), and killed after `seconds` (status 124) so that a hang
// fails the test instead of CI.
RunResult run_xgrad_mpi(int ranks, const std::string& args, int seconds = 120);
// The mpirun command line of run_xgrad_mpi, up to the binary's arguments.
std::string mpirun_prefix(int ranks);
// Starts build/xgrad with `args` (a shell-quoted string) in the directory `dir`,
// waits until its stdout holds `wait_for` ("": at once), then `delay_ms` more,
// sends it each of `signals`, `gap_ms` apart, and waits for it to end. The
// status is -1 when a signal killed it (no handler ran). Gives up waiting for
// `wait_for` after 30 s or when the process has ended.
RunResult run_xgrad_signalled(const std::string& dir, const std::string& args, const std::string& wait_for, int delay_ms,
                              const std::vector<int>& signals, int gap_ms = 0);

// Compares two --metrics files: "" when both have `epochs` lines whose values
// at `keys` are equal (exactly), else a line saying what differs first.
std::string metrics_mismatch(const std::string& path_a, const std::string& path_b, std::size_t epochs,
                             const std::vector<std::string>& keys);

}  // namespace xg::testing
