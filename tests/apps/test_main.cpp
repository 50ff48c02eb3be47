// apps/main.cpp: what every subcommand shares — a negative number for a count
// flag is refused naming the flag (CLI11 would wrap it to 2^64 - 1), and a
// count that is not a whole number is refused too; every output path (a
// device, a link to one, a directory, a missing directory, two outputs that
// are one file, an output that is an input) is refused before any data is
// read; exit status 2, one line, nothing written.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>

#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

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

namespace {

// Exit 2 before any data is read (nothing on stdout), one line on stderr
// starting "xgrad: FLAG PATH: ", and `dir` holds only what it held before.
void check_output_refused(const xg::testing::TempDir& dir, const std::string& args, const std::string& flag,
                          const std::string& path, const std::string& what) {
  CAPTURE(args);
  std::size_t before = 0, after = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir.path()); it != decltype(it)(); ++it) ++before;
  struct stat null_before = {}, null_after = {};
  REQUIRE(::stat("/dev/null", &null_before) == 0);
  const xg::testing::RunResult r = run_xgrad(args);
  INFO("stderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("xgrad: " + flag + " " + path + ": ", 0) == 0);
  CHECK(r.err.find(what) != std::string::npos);
  CHECK(r.err.find('\n') == r.err.size() - 1);
  for (auto it = std::filesystem::recursive_directory_iterator(dir.path()); it != decltype(it)(); ++it) ++after;
  CHECK(after == before);
  REQUIRE(::stat("/dev/null", &null_after) == 0);  // as root, a rename would have replaced it
  CHECK(S_ISCHR(null_after.st_mode));
  CHECK(null_after.st_rdev == null_before.st_rdev);
}

}  // namespace

TEST_CASE("main: every output path is checked before the data is read: devices, links, directories, clashes") {
  xg::testing::TempDir dir;
  xg::testing::write_toy_dataset(dir.path(), 300, 60, 3, 6, 5);
  std::filesystem::create_symlink("/dev/null", dir.file("null-link"));
  std::filesystem::create_directory(dir.file("sub"));
  std::ofstream(dir.file("table.csv")) << "label,x\n0,1\n1,2\n0,3\n1,4\n0,5\n1,6\n";
  const std::string train = "train --data " + dir.path() + " --epochs 1 --hidden 8 --quiet ";
  const std::string model = dir.file("m.safetensors");
  check_output_refused(dir, train + "--save /dev/null", "--save", "/dev/null", "device");
  check_output_refused(dir, train + "--save " + model + " --metrics /dev/null", "--metrics", "/dev/null", "device");
  check_output_refused(dir, train + "--save " + dir.file("null-link"), "--save", dir.file("null-link"), "symbolic link");
  check_output_refused(dir, train + "--save " + model + " --metrics " + dir.file("null-link"), "--metrics", dir.file("null-link"),
                       "symbolic link");
  check_output_refused(dir, train + "--save " + dir.file("sub"), "--save", dir.file("sub"), "directory");
  check_output_refused(dir, train + "--save " + model + " --metrics " + model, "--metrics", model, "the same file as --save");
  check_output_refused(dir, train + "--save " + model + " --metrics " + model + ".state", "--metrics", model + ".state",
                       "the same file as --save's training state");
  check_output_refused(dir, train + "--save " + model + " --save-best " + dir.file("sub/../m.safetensors"), "--save-best",
                       dir.file("sub/../m.safetensors"), "the same file as --save");
  check_output_refused(dir, train + "--save " + dir.file("no/such/m.safetensors"), "--save", dir.file("no/such/m.safetensors"),
                       "does not exist");
  check_output_refused(dir, train + "--no-save --report " + dir.file("table.csv"), "--report's page",
                       dir.file("table.csv") + "/report.html", "not a directory");
  check_output_refused(dir, "train --data " + dir.file("table.csv") + " --epochs 1 --no-save --metrics " + dir.file("table.csv"),
                       "--metrics", dir.file("table.csv"), "the same file as the input --data");
  check_output_refused(dir, "sweep --data " + dir.path() + " --lr 0.1 --epochs 1 --hidden 8 --metrics /dev/null", "--metrics",
                       "/dev/null", "device");
  check_output_refused(dir, "sweep --data " + dir.path() + " --lr 0.1 --epochs 1 --hidden 8 --metrics " + dir.file("sub"),
                       "--metrics", dir.file("sub"), "directory");
  check_output_refused(dir, "lr-find --data " + dir.path() + " --hidden 8 --report " + dir.file("table.csv"), "--report's page",
                       dir.file("table.csv") + "/report.html", "not a directory");
  check_output_refused(dir, "graph --data " + dir.path() + " --hidden 8 -o /dev/null", "--output", "/dev/null", "device");
  check_output_refused(dir, "graph --data " + dir.path() + " --hidden 8 -o " + dir.file("null-link"), "--output",
                       dir.file("null-link"), "symbolic link");
}
