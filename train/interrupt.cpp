#include "train/interrupt.hpp"

#include <unistd.h>

#include "io/atomic_file.hpp"

namespace xg {

namespace {

volatile std::sig_atomic_t g_pending = 0;   // the signal that asked to stop, or 0
volatile std::sig_atomic_t g_graceful = 0;  // how many StopAtStepBoundary are alive

// Only async-signal-safe calls here: unlink (in remove_temporary_files_in_flight), write, _exit.
extern "C" void on_stop_signal(int signal) {
  if (g_graceful > 0 && g_pending == 0) {
    g_pending = signal;
    return;
  }
  remove_temporary_files_in_flight();
  if (g_graceful > 0) {
    const char message[] = "\nxgrad: interrupted again: stopped at once\n";
    const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
  }
  ::_exit(128 + signal);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);  // one handler at a time
  sigaddset(&action.sa_mask, SIGTERM);
  action.sa_flags = SA_RESTART;  // a read or write under way goes on
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

StopAtStepBoundary::StopAtStepBoundary() { g_graceful = g_graceful + 1; }
StopAtStepBoundary::~StopAtStepBoundary() { g_graceful = g_graceful - 1; }

int pending_interrupt() { return g_pending; }
void request_interrupt(int signal) { g_pending = signal; }
void clear_interrupt() { g_pending = 0; }

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

Interrupted::Interrupted(int signal_number, std::size_t epoch_number, std::size_t step_number, std::size_t step_count)
    : std::runtime_error("interrupted by " + signal_name(signal_number) + " in epoch " + std::to_string(epoch_number) +
                         " at step " + std::to_string(step_number) + " of " + std::to_string(step_count)),
      signal(signal_number),
      epoch(epoch_number),
      step(step_number),
      steps(step_count) {}

void throw_if_interrupted(std::size_t epoch, std::size_t step, std::size_t steps) {
  if (const int signal = pending_interrupt()) throw Interrupted(signal, epoch, step, steps);
}

}  // namespace xg
