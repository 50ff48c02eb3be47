#include "tests/support/run_xgrad.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/files.hpp"

namespace xg::testing {

namespace {

RunResult run_in_scratch(const std::string& prefix, const std::string& args) {
  TempDir scratch;
  const std::string out = scratch.file("out"), err = scratch.file("err");
  const std::string command = "cd " + scratch.path() + " && " + prefix + std::string(XGRAD_BINARY) + " " + args +
                              " >" + out + " 2>" + err + " </dev/null";
  const int raw = std::system(command.c_str());
  RunResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace

RunResult run_xgrad(const std::string& args) { return run_in_scratch("", args); }

RunResult run_xgrad_capped(const std::string& args, std::size_t megabytes) {
#ifdef XGRAD_SANITIZED
  (void)megabytes;
  return run_in_scratch("", args);
#else
  return run_in_scratch("ulimit -v " + std::to_string(megabytes * 1024) + " && ", args);
#endif
}

std::string mpirun_prefix(int ranks) {
  // No single-copy (CMA) transfers between ranks: containers (CI) often forbid the ptrace they need.
  return "mpirun -q --allow-run-as-root --oversubscribe --mca btl_vader_single_copy_mechanism none -np " +
         std::to_string(ranks) + " ";
}

RunResult run_xgrad_mpi(int ranks, const std::string& args, int seconds) {
  return run_in_scratch("timeout -k 5 " + std::to_string(seconds) + " " + mpirun_prefix(ranks), args);
}

RunResult run_xgrad_signalled(const std::string& dir, const std::string& args, const std::string& wait_for, int delay_ms,
                              const std::vector<int>& signals, int gap_ms) {
  TempDir scratch;
  const std::string out = scratch.file("out"), err = scratch.file("err");
  // exec: the shell becomes xgrad, so the signals reach xgrad itself.
  const std::string command = "cd " + dir + " && exec " + std::string(XGRAD_BINARY) + " " + args + " >" + out + " 2>" + err +
                              " </dev/null";
  const pid_t child = ::fork();
  if (child < 0) return RunResult{};
  if (child == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  using clock = std::chrono::steady_clock;
  const auto give_up = clock::now() + std::chrono::seconds(30);
  int raw = 0;
  bool ended = false;
  while (!wait_for.empty() && read_file(out).find(wait_for) == std::string::npos && clock::now() < give_up) {
    if (::waitpid(child, &raw, WNOHANG) == child) {
      ended = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!ended) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    for (std::size_t k = 0; k < signals.size(); ++k) {
      if (k > 0) std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
      ::kill(child, signals[k]);
    }
    ::waitpid(child, &raw, 0);
  }
  RunResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::string metrics_mismatch(const std::string& path_a, const std::string& path_b, std::size_t epochs,
                             const std::vector<std::string>& keys) {
  const std::vector<std::string> a = lines_of(read_file(path_a)), b = lines_of(read_file(path_b));
  if (a.size() != epochs || b.size() != epochs) {
    return std::to_string(a.size()) + " and " + std::to_string(b.size()) + " lines, expected " + std::to_string(epochs);
  }
  for (std::size_t i = 0; i < epochs; ++i) {
    const nlohmann::json x = nlohmann::json::parse(a[i]), y = nlohmann::json::parse(b[i]);
    for (const std::string& key : keys) {
      if (!x.contains(key) || x[key] != y.value(key, nlohmann::json())) {
        return "line " + std::to_string(i + 1) + " " + key + ": " + x.value(key, nlohmann::json()).dump() + " vs " +
               y.value(key, nlohmann::json()).dump();
      }
    }
  }
  return "";
}

}  // namespace xg::testing
