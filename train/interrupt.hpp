#pragma once
// Stopping on SIGINT (Ctrl-C) and SIGTERM (kill, a batch system's stop).
//
// After install_interrupt_handlers(), a signal removes the temporary files of
// the writes in flight (io/atomic_file.hpp) and ends the process at once with
// exit status 128 + the signal: 130 for SIGINT, 143 for SIGTERM. While a
// StopAtStepBoundary is alive (a training command) the first signal does no
// more than set a flag: the training loops read it between steps
// (throw_if_interrupted) and throw Interrupted, so that the command writes what
// it has, whole, and returns that status itself. A second signal still ends
// the process at once (and leaves no temporary file).
#include <csignal>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace xg {

// Installs the handlers for SIGINT and SIGTERM (once per process).
void install_interrupt_handlers();

// While one is alive, the first SIGINT or SIGTERM only asks to stop.
class StopAtStepBoundary {
 public:
  StopAtStepBoundary();
  ~StopAtStepBoundary();
  StopAtStepBoundary(const StopAtStepBoundary&) = delete;
  StopAtStepBoundary& operator=(const StopAtStepBoundary&) = delete;
};

// The signal that asked to stop (SIGINT, SIGTERM), or 0.
int pending_interrupt();
// Asks to stop as `signal` would (tests; a handler calls it).
void request_interrupt(int signal);
// Forgets a request (tests).
void clear_interrupt();

// A run stopped by a signal at a step boundary: `step` of `steps` steps of
// `epoch` (1-based) had been taken.
struct Interrupted : std::runtime_error {
  Interrupted(int signal, std::size_t epoch, std::size_t step, std::size_t steps);
  int signal;
  std::size_t epoch, step, steps;
  int exit_status() const { return 128 + signal; }
};

// Throws Interrupted when a signal asked to stop; the loops call it before each step.
void throw_if_interrupted(std::size_t epoch, std::size_t step, std::size_t steps);

// "SIGINT", "SIGTERM" or "signal N".
std::string signal_name(int signal);

}  // namespace xg
