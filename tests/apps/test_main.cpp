// apps/main.cpp: what every subcommand shares — a negative number for a count
// flag is refused naming the flag (CLI11 would wrap it to 2^64 - 1), and a
// count that is not a whole number is refused too; exit status 2, one line,
// nothing written.
#include <doctest/doctest.h>

#include <string>

#include "tests/support/run_xgrad.hpp"

using xg::testing::run_xgrad;

namespace {

// One line on stderr, naming `flag`.
void check_refused(const std::string& args, const std::string& flag) {
  CAPTURE(args);
  const xg::testing::RunResult r = run_xgrad(args);
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("xgrad: " + flag + ":", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}

}  // namespace

TEST_CASE("main: a negative count exits 2 naming the flag, for every subcommand") {
  check_refused("train --epochs -1", "--epochs");
  check_refused("train --batch -5", "--batch");
  check_refused("train --seed -1", "--seed");
  check_refused("train --train-limit -10", "--train-limit");
  check_refused("sweep --lr 0.1 --epochs -2", "--epochs");
  check_refused("lr-find --steps -50", "--steps");
  check_refused("gradcheck --samples -1", "--samples");
  check_refused("graph --batch -4", "--batch");
  check_refused("eval --model m.safetensors --top-k -3", "--top-k");
  check_refused("predict --model m.safetensors --index -1", "--index");
  check_refused("explain --model m.safetensors --index -3", "--index");
}

TEST_CASE("main: a count that is not a whole number exits 2 naming the flag") {
  const xg::testing::RunResult r = run_xgrad("train --epochs 2.5");
  CHECK(r.status == 2);
  CHECK(r.err.find("--epochs") != std::string::npos);
}

TEST_CASE("main: a misspelt command gets a suggestion, exit 2, one line") {
  for (const auto& [args, expected] : {std::pair<std::string, std::string>{"trian", "unknown command 'trian'; did you mean 'train'?"},
                                       {"swep --lr 0.1", "unknown command 'swep'; did you mean 'sweep'?"},
                                       {"lr_find", "unknown command 'lr_find'; did you mean 'lr-find'?"},
                                       {"frobnicate", "unknown command 'frobnicate' (see xgrad help)"}}) {
    CAPTURE(args);
    const xg::testing::RunResult r = run_xgrad(args);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("xgrad: " + expected) == 0);
    CHECK(r.err.find('\n') == r.err.size() - 1);
    CHECK(r.err.find("A subcommand is required") == std::string::npos);
  }
}

TEST_CASE("main: --version and xgrad version name the version, commit, SIMD, OpenMP and MPI") {
  const xg::testing::RunResult r = run_xgrad("--version");
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out.rfind("xgrad 0.1.0 (commit ", 0) == 0);
  CHECK(r.out.find("(commit unknown)") == std::string::npos);  // configured inside the git checkout
  CHECK(r.out.find("float32 lanes per register") != std::string::npos);
  CHECK(r.out.find("OpenMP   ") != std::string::npos);
  CHECK(r.out.find("MPI      ") != std::string::npos);
  CHECK(run_xgrad("version").out == r.out);
}

TEST_CASE("main: xgrad help [COMMAND], and a bare xgrad, print the usage") {
  const xg::testing::RunResult help = run_xgrad("help");
  CHECK(help.status == 0);
  for (const char* command : {"train", "sweep", "lr-find", "eval", "predict", "explain", "gradcheck", "graph"})
    CHECK_MESSAGE(help.out.find(command) != std::string::npos, command);
  CHECK(run_xgrad("--help").out == help.out);

  const xg::testing::RunResult train_help = run_xgrad("help train");
  CHECK(train_help.status == 0);
  CHECK(train_help.out.find("--epochs") != std::string::npos);
  CHECK(train_help.out == run_xgrad("train --help").out);

  const xg::testing::RunResult unknown = run_xgrad("help trian");
  CHECK(unknown.status == 2);
  CHECK(unknown.err.find("did you mean 'train'?") != std::string::npos);

  // Bare: the usage on stderr and exit 2, as git does, so a script that forgot the command fails.
  const xg::testing::RunResult bare = run_xgrad("");
  CHECK(bare.status == 2);
  CHECK(bare.out.empty());
  CHECK(bare.err == help.out);
}

TEST_CASE("main: an unknown flag gets a suggestion and a repeated flag is named, exit 2, one line") {
  const std::pair<std::string, std::string> cases[] = {
      {"train --epoch 1", "xgrad: unknown flag --epoch; did you mean --epochs? (see xgrad train --help)"},
      {"train --epochs=1 --hiden 8", "xgrad: unknown flag --hiden; did you mean --hidden? (see xgrad train --help)"},
      {"sweep --lr 0.1 --val 0.1", "xgrad: unknown flag --val; did you mean --val-split? (see xgrad sweep --help)"},
      {"eval --modle m.safetensors", "xgrad: unknown flag --modle; did you mean --model? (see xgrad eval --help)"},
      {"train --zzzzzz", "xgrad: unknown flag --zzzzzz (see xgrad train --help)"},
      {"train --lr 0.1 --lr 0.2", "xgrad: --lr was given more than once; give it once (see xgrad train --help)"},
      {"train --epochs 1 --epochs=2", "xgrad: --epochs was given more than once; give it once (see xgrad train --help)"},
  };
  for (const auto& [args, expected] : cases) {
    CAPTURE(args);
    const xg::testing::RunResult r = run_xgrad(args);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err == expected + "\n");
  }
}
