// The xgrad binary: exit statuses, one-line errors, the metrics file.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

using namespace xg::testing;

namespace {

// Bad input: status 2 and exactly one line on stderr that contains `mention`.
void check_bad_input(const std::string& args, const std::string& mention) {
  const RunResult r = run_xgrad(args);
  INFO("xgrad " << args << "\nstderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find(mention) != std::string::npos);
}

}  // namespace

TEST_CASE("cli: --help lists the train flags with their defaults") {
  const RunResult r = run_xgrad("train --help");
  CHECK(r.status == 0);
  for (const char* s : {"--data", "fashion-mnist", "--hidden", "256,128", "--epochs", "--batch", "64", "--lr",
                        "--momentum", "--seed", "--threads", "--metrics", "--classes"})
    CHECK_MESSAGE(r.out.find(s) != std::string::npos, s);
}

TEST_CASE("cli: bad flags exit 2 with one line naming the flag") {
  check_bad_input("train --lr 0", "--lr");
  check_bad_input("train --lr -1", "--lr");
  check_bad_input("train --lr abc", "--lr");
  check_bad_input("train --batch 0", "--batch");
  check_bad_input("train --epochs 0", "--epochs");
  check_bad_input("train --hidden abc", "--hidden");
  check_bad_input("train --hidden 256,,128", "--hidden");
  check_bad_input("train --momentum 1.5", "--momentum");
  check_bad_input("train --schedule wiggly", "--schedule");
  check_bad_input("train --no-such-flag", "--no-such-flag");
  check_bad_input("", "subcommand");
}

TEST_CASE("cli: bad data exits 2 with one line naming the file or directory") {
  check_bad_input("train --data /no/such/dir", "/no/such/dir");
  TempDir dir;
  write_toy_dataset(dir.path(), 64, 16, 3, 4, 4);
  // a test-labels file that is not IDX at all
  std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte"));
  { std::FILE* f = std::fopen(dir.file("t10k-labels-idx1-ubyte").c_str(), "wb"); std::fputs("hello, world", f); std::fclose(f); }
  check_bad_input("train --data " + dir.path(), "t10k-labels-idx1-ubyte");
  check_bad_input("train --data " + dir.path() + " --metrics " + dir.file("no/such/dir/m.jsonl"), "m.jsonl");
}

TEST_CASE("cli: a small run writes one JSON line per epoch and is repeatable") {
  TempDir dir;
  write_toy_dataset(dir.path(), 600, 150, 3, 6, 5);
  const std::string common = "train --data " + dir.path() + " --hidden 16 --epochs 3 --batch 32 --lr 0.05 --seed 7";
  const RunResult r1 = run_xgrad(common + " --metrics " + dir.file("m1.jsonl"));
  INFO(r1.out << r1.err);
  REQUIRE(r1.status == 0);
  CHECK(r1.out.find("epoch  3/3") != std::string::npos);
  CHECK(r1.out.find("confusion matrix") != std::string::npos);
  CHECK(r1.out.find("\x1b") == std::string::npos);  // no escape codes when stdout is not a terminal
  const auto lines = lines_of(read_file(dir.file("m1.jsonl")));
  REQUIRE(lines.size() == 3);
  double last_acc = 0.0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    CHECK(j.at("epoch") == i + 1);
    for (const char* key : {"train_loss", "test_loss", "test_acc", "lr", "seconds"}) CHECK(j.at(key).is_number());
    CHECK(j.at("seconds").get<double>() >= 0.0);
    last_acc = j.at("test_acc").get<double>();
  }
  CHECK(last_acc > 0.9);  // the toy classes are separable
  // the same seed repeats the run exactly (all but the wall time)
  const RunResult r2 = run_xgrad(common + " --threads 1 --metrics " + dir.file("m2.jsonl"));
  REQUIRE(r2.status == 0);
  const auto again = lines_of(read_file(dir.file("m2.jsonl")));
  REQUIRE(again.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    auto a = nlohmann::json::parse(lines[i]), b = nlohmann::json::parse(again[i]);
    a.erase("seconds");
    b.erase("seconds");
    CHECK(a == b);
  }
}

TEST_CASE("cli: a diverging run exits 3 and keeps the metrics of finished epochs") {
  TempDir dir;
  write_toy_dataset(dir.path(), 256, 64, 3, 4, 4);
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 5 --lr 1e6 --metrics " +
                                dir.file("m.jsonl"));
  INFO(r.err);
  CHECK(r.status == 3);
  CHECK(r.err.find("diverged") != std::string::npos);
  CHECK(r.err.find("--lr") != std::string::npos);
}

TEST_CASE("cli: train saves model.safetensors in the current directory unless --save or --no-save says otherwise") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("data"));
  write_toy_dataset(dir.file("data"), 60, 20, 3, 4, 4);
  const std::string common = std::string(XGRAD_BINARY) + " train --data " + dir.file("data") + " --hidden 4 --epochs 1 --quiet";
  std::filesystem::create_directory(dir.file("run"));
  const std::string log = dir.file("log");
  REQUIRE(std::system(("cd " + dir.file("run") + " && " + common + " > " + log).c_str()) == 0);
  CHECK(std::filesystem::exists(dir.file("run/model.safetensors")));
  CHECK(std::filesystem::exists(dir.file("run/model.safetensors.state")));
  CHECK(read_file(log).find("model saved to model.safetensors") != std::string::npos);
  // eval finds it by that name.
  CHECK(std::system(("cd " + dir.file("run") + " && " + XGRAD_BINARY + " eval --model model.safetensors > " + log).c_str()) == 0);

  std::filesystem::create_directory(dir.file("none"));
  REQUIRE(std::system(("cd " + dir.file("none") + " && " + common + " --no-save > " + log).c_str()) == 0);
  CHECK(std::filesystem::is_empty(dir.file("none")));
  CHECK(read_file(log).find("model saved") == std::string::npos);
  check_bad_input("train --data " + dir.file("data") + " --no-save --save m.safetensors", "--no-save");
}
