// `xgrad train` (apps/train_command): flags and their defaults, exit status 2
// with one line naming the flag or file, 3 when training diverges (with the
// forensics), the metrics file, saving, --resume and --save-best, a crash
// during a save, --diagnostics, and every optimizer, model, loss and schedule
// flag on small toy data sets. (CSV data: test_train_command_csv.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/random.hpp"
#include "io/atomic_file.hpp"
#include "io/model_file.hpp"
#include "io/safetensors.hpp"
#include "train/checkpoint.hpp"
#include "tests/support/files.hpp"
#include "tests/support/hostile_checkpoints.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/text_compare.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
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

bool same_bits(const Array& a, const Array& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.size(), b.data(), [](float x, float y) {
           return std::memcmp(&x, &y, sizeof x) == 0;
         });
}

std::string toy(const TempDir& dir) {
  write_toy_dataset(dir.path(), 300, 60, 3, 6, 5);
  return dir.path();
}

double final_accuracy(const std::string& out) {
  const std::string key = "final test accuracy ";
  const auto at = out.rfind(key);
  REQUIRE(at != std::string::npos);
  return std::stod(out.substr(at + key.size()));
}

// Noise images with random labels: nothing generalises, so once the model starts
// memorising the training set the held-out loss rises.
void write_random_label_dataset(const std::string& dir, std::size_t train, std::size_t test) {
  Rng rng(11);
  auto images = [&](std::size_t n) {
    std::vector<std::uint8_t> pixels(n * 36);
    for (auto& p : pixels) p = std::uint8_t(rng.below(256));
    return pixels;
  };
  auto labels = [&](std::size_t n) {
    std::vector<std::uint8_t> y(n);
    for (auto& v : y) v = std::uint8_t(rng.below(3));
    return y;
  };
  write_idx(dir + "/train-images-idx3-ubyte", {std::uint32_t(train), 6, 6}, images(train));
  write_idx(dir + "/train-labels-idx1-ubyte", {std::uint32_t(train)}, labels(train));
  write_idx(dir + "/t10k-images-idx3-ubyte", {std::uint32_t(test), 6, 6}, images(test));
  write_idx(dir + "/t10k-labels-idx1-ubyte", {std::uint32_t(test)}, labels(test));
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
  // A bare `xgrad` prints the whole usage (tests/apps/test_main.cpp).
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
  CHECK(r1.out.find("\n3/3 ") != std::string::npos);
  CHECK(r1.out.find("confusion matrix") != std::string::npos);
  CHECK(r1.out.find("\x1b") == std::string::npos);  // no escape codes when stdout is not a terminal
  const auto lines = lines_of(read_file(dir.file("m1.jsonl")));
  REQUIRE(lines.size() == 3);
  double last_acc = 0.0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    CHECK(j.at("epoch") == i + 1);
    for (const char* key : {"train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}) CHECK(j.at(key).is_number());
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
  // One step per epoch (the batch is the whole training set): epoch 1's step starts from the
  // initial weights, so at least that epoch finishes before lr 1e6 drives the loss to NaN.
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 10 --batch 256 --lr 1e6 " +
                                "--schedule none --metrics " + dir.file("m.jsonl"));
  INFO(r.out << r.err);
  CHECK(r.status == 3);
  CHECK(r.err.find("diverged") != std::string::npos);
  CHECK(r.err.find("--lr") != std::string::npos);

  // "training diverged at epoch N, step S": the file holds epochs 1 to N-1, one JSON line each,
  // with the numbers their lines on stdout show, then epoch N's line: null figures, the rate, the step.
  const std::size_t at = r.err.find("diverged at epoch ");
  REQUIRE(at != std::string::npos);
  const std::size_t diverged_epoch = std::stoul(r.err.substr(at + 18));
  REQUIRE(diverged_epoch >= 2);
  const auto lines = lines_of(read_file(dir.file("m.jsonl")));
  REQUIRE(lines.size() == diverged_epoch);
  const auto last = nlohmann::json::parse(lines.back());
  CHECK(last.at("epoch") == diverged_epoch);
  CHECK(last.at("diverged") == true);
  CHECK(last.at("step") == 1);
  CHECK(last.at("lr") == 1e6);
  for (const char* key : {"train_loss", "train_acc", "test_loss", "test_acc", "seconds"}) CHECK(last.at(key).is_null());
  CHECK(last.at("reason").get<std::string>().find("training diverged at epoch") == 0);
  const auto printed = lines_of(r.out);
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    INFO("metrics line " << i + 1 << ": " << lines[i]);
    const auto j = nlohmann::json::parse(lines[i]);
    CHECK(j.at("epoch") == i + 1);
    for (const char* key : {"train_loss", "train_acc", "test_acc", "lr", "seconds"}) REQUIRE(j.at(key).is_number());
    // JSON has no NaN: a test loss that overflowed to NaN is written as null.
    REQUIRE((j.at("test_loss").is_number() || j.at("test_loss").is_null()));
    for (const char* key : {"train_acc", "test_acc"}) CHECK((j.at(key) >= 0.0 && j.at(key) <= 1.0));
    CHECK(j.at("lr") == 1e6);
    CHECK(j.at("seconds") >= 0.0);
    char lr[32], seconds[32], row[400];
    std::snprintf(lr, sizeof lr, "%.3g", j.at("lr").get<double>());
    std::snprintf(seconds, sizeof seconds, "%.2fs", j.at("seconds").get<double>());
    std::snprintf(row, sizeof row, "%-7s  %10.4f  %9.4f  %9.4f  %8.4f  %8s  %7s", (std::to_string(i + 1) + "/10").c_str(),
                  j.at("train_loss").get<double>(), j.at("train_acc").get<double>(),
                  j.at("test_loss").is_null() ? NAN : j.at("test_loss").get<double>(), j.at("test_acc").get<double>(), lr,
                  seconds);
    std::string expected = row;  // a NaN's sign dropped, as xgrad prints it
    for (std::size_t nan = expected.find("-nan"); nan != std::string::npos; nan = expected.find("-nan")) expected.replace(nan, 4, " nan");
    std::string shown;  // stdout's row of this epoch
    for (const std::string& line : printed)
      if (line.rfind(expected.substr(0, 8), 0) == 0) shown = line;
    CHECK(shown == expected);
  }
  // Epoch 1's one step came before any update: its loss is the initial model's, about log 3 (a guess among 3 classes).
  CHECK(std::abs(nlohmann::json::parse(lines[0]).at("train_loss").get<double>() - std::log(3.0)) < 0.1);
}

TEST_CASE("cli: train saves model.safetensors in the current directory unless --save or --no-save says otherwise") {
  TempDir dir;
  std::filesystem::create_directory(dir.file("data"));
  write_toy_dataset(dir.file("data"), 60, 20, 3, 4, 4);
  const std::string common = std::string(XGRAD_BINARY) + " train --data " + dir.file("data") + " --hidden 4 --epochs 1";
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

TEST_CASE("cli: xgrad train --resume continues a run exactly and keeps the metrics lines") {
  TempDir dir;
  const std::string common = "train --data " + toy(dir) + " --hidden 8 --batch 16 --schedule none --quiet --threads 1";
  const RunResult straight = run_xgrad(common + " --epochs 4 --save " + dir.file("s.safetensors") + " --metrics " + dir.file("s.jsonl"));
  REQUIRE(straight.status == 0);
  const RunResult first = run_xgrad(common + " --epochs 2 --save " + dir.file("r.safetensors") + " --metrics " + dir.file("r.jsonl"));
  REQUIRE(first.status == 0);
  const RunResult second = run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 4 --quiet --threads 1 --save " +
                                     dir.file("r.safetensors") + " --metrics " + dir.file("r.jsonl"));
  INFO(second.err);
  REQUIRE(second.status == 0);
  CHECK(second.out.find("\n3/4 ") != std::string::npos);
  CHECK(second.out.find("\n1/4 ") == std::string::npos);

  const Safetensors s = read_safetensors(dir.file("s.safetensors")), r = read_safetensors(dir.file("r.safetensors"));
  REQUIRE(s.tensors.size() == r.tensors.size());
  for (std::size_t i = 0; i < s.tensors.size(); ++i) CHECK(same_bits(s.tensors[i].second, r.tensors[i].second));
  CHECK(metrics_mismatch(dir.file("s.jsonl"), dir.file("r.jsonl"), 4, {"train_loss", "train_acc", "test_loss"}) == "");

  // A training flag that contradicts the checkpoint is refused, naming it.
  const RunResult changed = run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 6 --lr 0.5 --quiet");
  CHECK(changed.status == 2);
  CHECK(changed.err.find("--lr") != std::string::npos);
  CHECK(lines_of(changed.err).size() == 1);
  // Nothing left to do.
  const RunResult done = run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 4 --quiet");
  CHECK(done.status == 2);
  CHECK(done.err.find("--epochs") != std::string::npos);
}

TEST_CASE("cli: --save-best keeps the epoch with the lowest test loss") {
  TempDir dir;
  const RunResult r = run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 3 --quiet --threads 1 --metrics " +
                                dir.file("m.jsonl") + " --save-best " + dir.file("best.safetensors"));
  REQUIRE(r.status == 0);
  std::size_t best_epoch = 0;
  double best = 1e300;
  for (const std::string& line : lines_of(read_file(dir.file("m.jsonl")))) {
    const auto j = nlohmann::json::parse(line);
    if (j["test_loss"].get<double>() < best) {
      best = j["test_loss"].get<double>();
      best_epoch = j["epoch"].get<std::size_t>();
    }
  }
  CHECK(load_model(dir.file("best.safetensors")).info.epoch == best_epoch);
}

TEST_CASE("cli: a process killed while saving leaves the previous checkpoint intact") {
  TempDir dir;
  const std::string data = toy(dir);
  const std::string path = dir.file("m.safetensors");
  const std::string args = " train --data " + data + " --hidden 64 --epochs 1 --quiet --threads 1 --save " + path;
  REQUIRE(run_xgrad(args).status == 0);
  const std::string before = read_file(path);
  REQUIRE(before.size() > 4096);
  // A file-size limit of 4 KiB: the write of the (bigger) checkpoint fails
  // half-way and the kernel kills the process with SIGXFSZ, like a crash or a full disk.
  const std::string command = "bash -c 'ulimit -f 4; exec " + std::string(XGRAD_BINARY) + args +
                              " --seed 9' >/dev/null 2>&1";
  const int raw = std::system(command.c_str());
  CHECK(!(WIFEXITED(raw) && WEXITSTATUS(raw) == 0));
  CHECK(read_file(path) == before);
  CHECK(load_model(path).info.epoch == 1);
}

TEST_CASE("cli: a state file whose monitored_losses do not fit its epochs is refused with one line") {
  TempDir dir;
  const std::string model = dir.file("r.safetensors");
  REQUIRE(run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 2 --quiet --threads 1 --save " + model).status == 0);
  const Safetensors state = read_safetensors(state_path(model));
  nlohmann::json doc = nlohmann::json::parse(state.metadata.at("xgrad_state"));
  REQUIRE(doc.at("monitored_losses").size() == 2);
  std::vector<std::pair<std::string, const Array*>> tensors;
  for (const auto& [name, array] : state.tensors) tensors.emplace_back(name, &array);
  for (const nlohmann::json& losses : {nlohmann::json::array({0.5}), nlohmann::json::array({0.5, "x"})}) {
    doc["monitored_losses"] = losses;
    write_safetensors(state_path(model), tensors, {{"xgrad_state", doc.dump()}});
    const auto before = std::filesystem::last_write_time(model);
    const RunResult r = run_xgrad("train --resume " + model + " --epochs 4 --quiet");
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find("monitored_losses") != std::string::npos);
    CHECK(std::filesystem::last_write_time(model) == before);  // nothing was saved over it
  }
}

TEST_CASE("cli: train --resume refuses hostile model and state files (deep, mistyped, lying or nonsensical) with exit 2 and one line, writing nothing") {
  for (const char* optimizer : {"sgd", "adam"}) {
    CAPTURE(optimizer);
    TempDir dir;
    const std::string model = dir.file("r.safetensors"), state = state_path(model);
    REQUIRE(run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 1 --quiet --threads 1 --optimizer " + optimizer +
                      " --lr 0.01 --metrics " + dir.file("m.jsonl") + " --save " + model)
                .status == 0);
    const std::string good_model = read_file(model), good_state = read_file(state);
    std::vector<HostileCheckpoint> cases = hostile_state_files(std::string(optimizer) == "adam");
    if (std::string(optimizer) == "sgd") {
      for (const HostileCheckpoint& c : hostile_model_files()) cases.push_back(c);
    }
    for (const HostileCheckpoint& c : cases) {
      CAPTURE(c.what);
      write_file_atomically(model, good_model);
      write_file_atomically(state, good_state);
      c.corrupt(model);
      check_refused("train --resume " + model + " --epochs 3 --quiet --threads 1", c.in_state ? state : model, c.must_mention,
                    dir.path());
    }
    // The good pair still resumes.
    write_file_atomically(model, good_model);
    write_file_atomically(state, good_state);
    CHECK(run_xgrad("train --resume " + model + " --epochs 2 --quiet --threads 1").status == 0);
  }
}

TEST_CASE("cli: --diagnostics prints a table per epoch, fills the metrics file and adds the report's charts") {
  TempDir dir;
  write_toy_dataset(dir.path(), 320, 40, 3, 6, 5);
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --batch 32 --quiet --diagnostics"
                                " --metrics " + dir.file("m.jsonl"));
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("update/weight") != std::string::npos);
  CHECK(r.out.find("dead_relu") != std::string::npos);
  const auto lines = lines_of(read_file(dir.file("m.jsonl")));
  REQUIRE(lines.size() == 2);
  for (const std::string& line : lines) {
    const auto j = nlohmann::json::parse(line);
    REQUIRE(j.contains("diagnostics"));
    REQUIRE(j["diagnostics"].size() == 2);
    CHECK(j["diagnostics"][0]["parameter"] == "0.weight");
    CHECK(j["diagnostics"][0]["update_ratio"].get<double>() > 0.0);
    CHECK(j["diagnostics"][1]["dead_relu"].is_null());
  }
  // The HTML report gets the charts.
  const RunResult report = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --quiet --diagnostics"
                                     " --report " + dir.file("report"));
  CHECK(report.status == 0);
  const std::string html = read_file(dir.file("report/report.html"));
  CHECK(html.find("Update/weight ratio per layer") != std::string::npos);
  CHECK(html.find("Dead ReLU units per layer") != std::string::npos);
  // Without the flag, no diagnostics.
  const RunResult plain = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 1 --quiet --metrics " +
                                    dir.file("p.jsonl"));
  CHECK(plain.status == 0);
  CHECK(read_file(dir.file("p.jsonl")).find("diagnostics") == std::string::npos);
}

TEST_CASE("cli: --lr 1e4 exits 3 with the forensics, keeping the metrics of the epochs before") {
  TempDir dir;
  write_toy_dataset(dir.path(), 32, 50, 3, 4, 4);
  // One step per epoch, so the weights blow up over a few epochs, not within the first.
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 16,16 --batch 32 --epochs 20 --lr 1e4 --metrics " +
                                dir.file("m.jsonl"));
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.status == 3);
  for (const char* s : {"training diverged at epoch", "step", "at lr", "last good loss", "max |logit|",
                        "gradient norm", "Linear#0", "Linear#2", "Linear#4", "hint: try --lr", "xgrad lr-find"})
    CHECK_MESSAGE(r.err.find(s) != std::string::npos, s);
  const std::size_t at = r.err.find("diverged at epoch ");
  REQUIRE(at != std::string::npos);
  const int epoch = std::stoi(r.err.substr(at + 18));
  CHECK(epoch >= 2);
  const auto lines = lines_of(read_file(dir.file("m.jsonl")));
  std::size_t written = 0;
  for (const auto& line : lines) written += !line.empty();
  CHECK(written == std::size_t(epoch));  // the epochs before, and the diverged one's line
  CHECK(nlohmann::json::parse(lines.back()).at("diverged") == true);
}

TEST_CASE("cli: a run that diverges in its first epoch still writes --metrics and a report that says so, never '-nan'") {
  TempDir dir;
  write_toy_dataset(dir.path(), 256, 64, 3, 4, 4);
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 3 --batch 16 --lr 1e8 --no-save --metrics " +
                                dir.file("m.jsonl") + " --report " + dir.file("report"));
  INFO(r.out << r.err);
  REQUIRE(r.status == 3);
  CHECK(r.err.find("-nan") == std::string::npos);
  CHECK(r.err.find("training diverged at epoch 1, step ") != std::string::npos);
  CHECK(r.err.find("at lr 1e+08") != std::string::npos);
  CHECK(r.err.find("hint: try --lr 1e+07 or lower") != std::string::npos);
  const auto lines = lines_of(read_file(dir.file("m.jsonl")));
  REQUIRE(lines.size() == 1);
  const auto line = nlohmann::json::parse(lines[0]);
  CHECK(line.at("epoch") == 1);
  CHECK(line.at("diverged") == true);
  CHECK(line.at("train_loss").is_null());
  const std::string html = read_file(dir.file("report") + "/report.html");
  CHECK(html.find("No epoch completed before it, so there are no learning curves to show.") != std::string::npos);
  CHECK(html.find("shown below") == std::string::npos);
  CHECK(html.find("Hint: try --lr 1e+07 or lower") != std::string::npos);
  CHECK(html.find("-nan") == std::string::npos);
}

TEST_CASE("xgrad train: each optimizer, activation, init and schedule learns a toy data set") {
  TempDir dir;
  write_toy_dataset(dir.path(), 600, 150, 3, 6, 5);
  const std::string common = "train --data " + dir.path() + " --hidden 16 --epochs 6 --batch 32 --seed 3";
  const char* variants[] = {
      "--optimizer adam --lr 0.01 --schedule exponential --gamma 0.8",
      "--optimizer adamw --lr 0.01 --weight-decay 0.05 --schedule step --step-size 2 --warmup-epochs 1",
      "--lr 0.05 --nesterov --weight-decay 1e-4 --schedule multistep --milestones 2,4 --activation tanh",
      "--lr 0.05 --activation leaky_relu --init kaiming_normal --init-mode fan_out --dropout 0.2 --l2 1e-4",
      "--lr 0.05 --activation sigmoid --init xavier_uniform --schedule plateau --plateau-patience 1 --l1 1e-5",
      "--lr 0.05 --label-smoothing 0.1 --class-weights 1,2,1 --clip-grad-norm 0.5 --schedule none",
      "--optimizer adam --lr 0.01 --betas 0.8,0.99 --eps 1e-6 --amsgrad",
      "--lr 0.05 --momentum 0.9 --dampening 0.3",
  };
  for (const char* v : variants) {
    const RunResult r = run_xgrad(common + " " + v);
    INFO(v << "\n" << r.out << r.err);
    CHECK(r.status == 0);
    if (r.status == 0) CHECK(final_accuracy(r.out) > 0.9);
  }
}

TEST_CASE("xgrad train --head sigmoid trains a 2-class subset") {
  TempDir dir;
  write_toy_dataset(dir.path(), 600, 150, 4, 6, 5);
  const RunResult r = run_xgrad("train --data " + dir.path() +
                                " --hidden 16 --epochs 5 --batch 32 --lr 0.05 --head sigmoid --classes-subset 2,3 --pos-weight 1.5");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("Linear(16 -> 1)") != std::string::npos);
  CHECK(final_accuracy(r.out) > 0.95);
  CHECK(r.out.find("sigmoid head") != std::string::npos);
}

TEST_CASE("xgrad train --val-split reports validation per epoch and the test set once, and --early-stop stops") {
  TempDir dir;
  write_random_label_dataset(dir.path(), 400, 100);
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 64 --epochs 40 --batch 32 --lr 0.05 " +
                                "--schedule none --val-split 0.25 --early-stop 2 --metrics " + dir.file("m.jsonl"));
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("(100 held out for validation)") != std::string::npos);
  CHECK(r.out.find("val_loss") != std::string::npos);
  CHECK(r.out.find("test_loss") == std::string::npos);
  CHECK(r.out.find("early stop") != std::string::npos);
  const auto lines = lines_of(read_file(dir.file("m.jsonl")));
  CHECK(lines.size() < 40);
  const auto first = nlohmann::json::parse(lines.at(0));
  CHECK(first.contains("val_loss"));
  CHECK_FALSE(first.contains("test_loss"));
}

TEST_CASE("xgrad train: contradictory or bad optimizer, model, loss and schedule flags are exit-2 errors naming the flags") {
  TempDir dir;
  write_toy_dataset(dir.path(), 64, 16, 3, 4, 4);
  const std::string common = "train --data " + dir.path() + " --epochs 2 ";
  const std::pair<const char*, const char*> cases[] = {
      {"--optimizer adam --momentum 0.5", "--momentum"},
      {"--optimizer adamw --nesterov", "--nesterov"},
      {"--momentum 0 --nesterov", "--nesterov"},
      {"--optimizer rmsprop", "--optimizer"},
      {"--head sigmoid", "--head sigmoid"},
      {"--head sigmoid --classes-subset 0,1 --class-weights 1,2", "--class-weights"},
      {"--pos-weight 2", "--pos-weight"},
      {"--label-smoothing 1", "--label-smoothing"},
      {"--class-weights 1,x,2", "--class-weights"},
      {"--class-weights 1,2", "--class-weights"},
      {"--schedule cosine --gamma 0.5", "--gamma"},
      {"--schedule multistep", "--milestones"},
      {"--step-size 2", "--step-size"},
      {"--schedule step --min-lr 0.001", "--min-lr"},
      {"--plateau-patience 3", "--plateau-patience"},
      {"--warmup-epochs 2", "--warmup-epochs"},
      {"--dropout 1", "--dropout"},
      {"--init orthogonal", "--init"},
      {"--init-mode fan_out", "--init-mode"},
      {"--val-split 0.999", "--val-split"},
      {"--classes-subset 1", "--classes-subset"},
      {"--classes-subset 0,7", "--classes-subset"},
      {"--clip-grad-norm -1", "--clip-grad-norm"},
      {"--optimizer adam --dampening 0.1", "--dampening"},
      {"--nesterov --dampening 0.5", "--dampening"},
      {"--dampening 1", "--dampening"},
      {"--betas 0.9,0.99", "--betas"},
      {"--amsgrad", "--amsgrad"},
      {"--optimizer adam --betas 0.9", "--betas"},
      {"--optimizer adam --betas 1,0.9", "--betas"},
      {"--optimizer adamw --eps 0", "--eps"},
      {"--batch 18446744073709551615", "--batch"},  // -1 as a count: would wrap the loader's arithmetic
      {"--batch 99999999999999999999", "--batch"},  // beyond 2^64
      {"--epochs 1000001", "--epochs"},
  };
  for (const auto& [flags, named] : cases) {
    const RunResult r = run_xgrad(common + flags);
    INFO(flags << ": " << r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find(named) != std::string::npos);
    CHECK(lines_of(r.err).size() == 1);
  }
}

TEST_CASE("text_difference: numbers may differ by the tolerance, text not at all") {
  CHECK(text_difference("loss 1.82569e+27 (step 9)", "loss 1.82576e+27 (step 9)", 1e-2) == "");
  CHECK(text_difference("Linear#0 nan, L2 -0.5", "Linear#0 nan, L2 -0.5", 0) == "");
  CHECK(text_difference("loss 1.9e+27 (step 9)", "loss 1.82576e+27 (step 9)", 1e-2) ==
        "number 1.9e+27 where the sample has 1.82576e+27");
  CHECK(text_difference("loss 1.8e+27 (step 10)", "loss 1.8e+27 (step 9)", 1e-2) == "number 10 where the sample has 9");
  CHECK(text_difference("loss is nan", "loss is inf", 1e-2) == "text 'loss is nan' where the sample has 'loss is inf'");
  CHECK(text_difference("L3 1", "L2 1", 1e-2) != "");  // a digit after a letter is text
  CHECK(text_difference("a 1 b", "a 1 b 2", 1e-2) == "the texts hold different counts of numbers");
}

TEST_CASE("README: the divergence sample is what `xgrad train --lr 3 --metrics metrics.jsonl` prints, up to the last digits") {
  const std::string readme = read_file(std::string(XGRAD_SOURCE_DIR) + "/README.md");
  const std::string command = "train --lr 3 --metrics metrics.jsonl";
  const std::size_t intro = readme.find("`build/xgrad " + command + "`");
  REQUIRE(intro != std::string::npos);
  auto block_after = [&](std::size_t from) {
    const std::size_t open = readme.find("```\n", from) + 4;
    return std::pair<std::string, std::size_t>(readme.substr(open, readme.find("```\n", open) - open), readme.find("```\n", open) + 4);
  };
  const auto [stderr_sample, after_stderr] = block_after(intro);
  const auto [metrics_sample, after_metrics] = block_after(after_stderr);
  (void)after_metrics;
  TempDir dir;
  const RunResult r = run_xgrad("train --lr 3 --metrics " + dir.file("metrics.jsonl"));  // the path is in no message
  CHECK(r.status == 3);
  // The losses and logits of a run blowing up differ in their last digits
  // between CPUs (the vector width orders the sums), never in their text.
  INFO(r.err);
  CHECK(text_difference(r.err, stderr_sample, 1e-2) == "");
  CHECK(read_file(dir.file("metrics.jsonl")) == metrics_sample);
}

TEST_CASE("cli: --quiet prints only the table of epochs, and warnings still go to stderr") {
  TempDir dir;
  const RunResult r = run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 3 --threads 1 --quiet --save-best " +
                                dir.file("best.safetensors") + " --report " + dir.file("report"));
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 4);  // the header and three rows, nothing else
  CHECK(lines[0].rfind("epoch    train_loss", 0) == 0);
  CHECK(lines[1].rfind("1/3 ", 0) == 0);
  CHECK(lines[3].rfind("3/3 ", 0) == 0);
  for (const std::string& line : lines) CHECK(line.size() <= 80);
  CHECK(std::filesystem::exists(dir.file("report/report.html")));
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find("warning: without --val-split, --save-best chooses the epoch by the test set") != std::string::npos);
}

TEST_CASE("cli: train prints a model summary before training and, at the end, the report's path") {
  TempDir dir;
  const RunResult r = run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 1 --threads 1 --dropout 0.1 --report " +
                                dir.file("report"));
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const std::size_t summary = r.out.find("layer  type     output shape  parameters\n");
  REQUIRE(summary != std::string::npos);
  CHECK(summary < r.out.find("epoch    train_loss"));
  CHECK(r.out.find("0      Linear   (batch, 8)           248\n") != std::string::npos);  // 6x5 images: 30·8 + 8
  CHECK(r.out.find("2      Dropout  (batch, 8)             0\n") != std::string::npos);
  CHECK(r.out.find("3      Linear   (batch, 3)            27\n") != std::string::npos);
  CHECK(r.out.find("total parameters                     275\n") != std::string::npos);
  CHECK(r.out.find("trainable parameters                 275\n") != std::string::npos);
  CHECK(r.out.find("report written to " + dir.file("report") + "/report.html\n") != std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("cli: a model at the save path is never replaced silently: it is named and kept as PATH.bak") {
  TempDir dir;
  const std::string data = toy(dir), model = dir.file("m.safetensors");
  const std::string common = "train --data " + data + " --hidden 8 --threads 1 --save " + model;
  REQUIRE(run_xgrad(common + " --epochs 3").status == 0);
  const std::string three_epochs = read_file(model);
  const double accuracy = load_model(model).info.evaluation.at("test_acc").get<double>();
  CHECK(!std::filesystem::exists(model + ".bak"));  // nothing was there to keep

  const RunResult second = run_xgrad(common + " --epochs 1");
  INFO(second.out << second.err);
  REQUIRE(second.status == 0);
  char described[64];
  std::snprintf(described, sizeof described, "a model of 3 epochs, test_acc %.4f", accuracy);
  CHECK(second.out.find("note   " + model + " holds " + described + ": it will be kept as " + model + ".bak\n") !=
        std::string::npos);
  CHECK(second.out.find("the earlier " + model + " (" + described + ") is now " + model + ".bak\n") != std::string::npos);
  CHECK(read_file(model + ".bak") == three_epochs);
  CHECK(load_model(model + ".bak").info.epoch == 3);
  CHECK(std::filesystem::exists(model + ".bak.state"));
  CHECK(load_model(model).info.epoch == 1);

  // The backup resumes like the original.
  const RunResult resumed = run_xgrad("train --resume " + model + ".bak --epochs 4 --quiet --threads 1");
  INFO(resumed.err);
  CHECK(resumed.status == 0);
  // Resuming into the same file continues that run: nothing to keep.
  std::filesystem::remove(model + ".bak");
  const RunResult continued = run_xgrad("train --resume " + model + " --epochs 2 --threads 1");
  CHECK(continued.status == 0);
  CHECK(continued.out.find("note ") == std::string::npos);
  CHECK(!std::filesystem::exists(model + ".bak"));

  // A file that is not a model is kept too, and said to be one.
  std::ofstream(dir.file("x.safetensors")) << "not a model";
  const RunResult other = run_xgrad("train --data " + data + " --hidden 8 --epochs 1 --threads 1 --save " + dir.file("x.safetensors"));
  CHECK(other.status == 0);
  CHECK(other.out.find("holds a file that is not an xgrad model") != std::string::npos);
  CHECK(read_file(dir.file("x.safetensors.bak")) == "not a model");

  // A run that diverges before its first save replaces nothing.
  const std::string before = read_file(model);
  CHECK(run_xgrad(common + " --epochs 1 --lr 1e9").status == 3);
  CHECK(read_file(model) == before);
  CHECK(!std::filesystem::exists(model + ".bak"));
}

TEST_CASE("cli: --save-best says which epoch it kept, and warns without --val-split") {
  TempDir dir;
  const std::string data = toy(dir), best = dir.file("best.safetensors");
  const RunResult r = run_xgrad("train --data " + data + " --hidden 8 --epochs 3 --threads 1 --metrics " + dir.file("m.jsonl") +
                                " --save-best " + best);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const std::size_t epoch = load_model(best).info.epoch;
  CHECK(r.out.find("best model saved to " + best + ": epoch " + std::to_string(epoch) + ", the lowest test loss (") !=
        std::string::npos);
  CHECK(r.err == "xgrad: warning: without --val-split, --save-best chooses the epoch by the test set, so the test "
                 "accuracy reported for it is optimistic; hold out a validation set with --val-split 0.1\n");
  const RunResult both = run_xgrad("train --data " + data + " --hidden 8 --epochs 2 --threads 1 --no-save --early-stop 1 --save-best " + best);
  CHECK(both.err.find("--save-best and --early-stop choose the epoch by the test set") != std::string::npos);
  CHECK(lines_of(both.err).size() == 1);
  const RunResult validated = run_xgrad("train --data " + data + " --hidden 8 --epochs 2 --threads 1 --val-split 0.2 --early-stop 1 --save-best " + best);
  CHECK(validated.status == 0);
  CHECK(validated.err.empty());
  CHECK(validated.out.find("the lowest validation loss") != std::string::npos);
}

namespace {

// What a user sees in a terminal `columns` wide: the output of xgrad run under
// script(1), which gives it a pseudo-terminal of that size.
std::string run_in_terminal(int columns, const std::string& args) {
  TempDir scratch;
  const std::string typescript = scratch.file("typescript");
  const std::string command = "cd " + scratch.path() + " && script -qec 'stty cols " + std::to_string(columns) +
                              " rows 40; " + XGRAD_BINARY + " " + args + "' /dev/null > " + typescript + " 2>&1 </dev/null";
  const int raw = std::system(command.c_str());
  CHECK(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 0);
  return read_file(typescript);
}

// The progress lines drawn: the pieces between carriage returns that hold an ETA.
std::vector<std::string> progress_lines(const std::string& typescript) {
  std::vector<std::string> lines;
  std::string piece;
  for (std::size_t i = 0; i <= typescript.size(); ++i) {
    if (i == typescript.size() || typescript[i] == '\r' || typescript[i] == '\n') {
      for (std::size_t e = piece.find("\x1b[K"); e != std::string::npos; e = piece.find("\x1b[K")) piece.erase(e, 3);
      if (piece.find("<") != std::string::npos || piece.find("ETA") != std::string::npos) lines.push_back(piece);
      piece.clear();
    } else {
      piece += typescript[i];
    }
  }
  return lines;
}

}  // namespace

TEST_CASE("cli: in a terminal the progress line fits its width, 45 or 120 columns, and it is drawn only there") {
  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    MESSAGE("script(1) is not installed: no pseudo-terminal to test with");
    return;
  }
  TempDir dir;
  write_toy_dataset(dir.path(), 1200, 60, 3, 6, 5);
  const std::string args = "train --data " + dir.path() + " --hidden 8 --epochs 2 --batch 16 --threads 1 --no-save";
  for (int columns : {45, 120}) {
    CAPTURE(columns);
    const std::string seen = run_in_terminal(columns, args);
    const std::vector<std::string> lines = progress_lines(seen);
    CAPTURE(seen);
    REQUIRE(lines.size() >= 4);  // 75 steps per epoch: drawn at 20, 40, 60 and 75
    for (const std::string& line : lines) {
      CHECK(line.size() <= std::size_t(columns - 1));
      CHECK(line.find("loss 0.") != std::string::npos);
    }
    if (columns == 120) {
      CHECK(lines.front().rfind("epoch 1/2  20/75 [########", 0) == 0);
      CHECK(lines.front().find("items/s") != std::string::npos);
    } else {
      CHECK(lines.front().rfind("epoch 1/2 20/75  ETA ", 0) == 0);
    }
  }
  // --quiet: no bar even in a terminal.
  CHECK(progress_lines(run_in_terminal(80, args + " --quiet")).empty());
  // Piped: no bar, no escape codes.
  const RunResult piped = run_xgrad(args);
  CHECK(piped.out.find('\r') == std::string::npos);
  CHECK(piped.out.find('\x1b') == std::string::npos);
}
