// train/interrupt: the first SIGINT/SIGTERM inside a StopAtStepBoundary only
// asks to stop, a second one (or any one outside it) ends the process at once
// with 128 + the signal; Interrupted carries where. (The loops that read the
// request: test_loop.cpp, test_lr_finder.cpp, test_sweep.cpp; `xgrad train`
// under real signals: tests/apps/test_train_command_signals.cpp.)
#include <doctest/doctest.h>

#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "train/interrupt.hpp"

using namespace xg;

namespace {

// Runs `body` in a child process and returns its exit status (-1: killed by a signal).
template <class Body>
int status_of_child(Body body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);  // the handler's line is not the test's output
    ::dup2(null, STDERR_FILENO);
    body();
    ::_exit(0);
  }
  int raw = 0;
  ::waitpid(child, &raw, 0);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

}  // namespace

TEST_CASE("interrupt: inside StopAtStepBoundary the first signal is a request, the second ends the process") {
  CHECK(status_of_child([] {
          install_interrupt_handlers();
          const StopAtStepBoundary graceful;
          std::raise(SIGTERM);
          if (pending_interrupt() != SIGTERM) ::_exit(10);  // still running, with the request recorded
          std::raise(SIGINT);
          ::_exit(11);  // not reached
        }) == 128 + SIGINT);
  CHECK(status_of_child([] {
          install_interrupt_handlers();
          std::raise(SIGTERM);  // no StopAtStepBoundary: at once
          ::_exit(12);
        }) == 143);
}

TEST_CASE("interrupt: throw_if_interrupted throws Interrupted with where it stopped, and the exit status") {
  clear_interrupt();
  CHECK_NOTHROW(throw_if_interrupted(3, 40, 469));
  request_interrupt(SIGINT);
  try {
    throw_if_interrupted(3, 40, 469);
    FAIL("expected Interrupted");
  } catch (const Interrupted& e) {
    CHECK(e.signal == SIGINT);
    CHECK(e.epoch == 3);
    CHECK(e.step == 40);
    CHECK(e.steps == 469);
    CHECK(e.exit_status() == 130);
    CHECK(std::string(e.what()) == "interrupted by SIGINT in epoch 3 at step 40 of 469");
  }
  clear_interrupt();
  CHECK(pending_interrupt() == 0);
  CHECK(Interrupted(SIGTERM, 1, 0, 5).exit_status() == 143);
}
