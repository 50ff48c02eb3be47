// SIGINT and SIGTERM (apps/train_command, apps/sweep_command,
// apps/lr_find_command, train/interrupt): a run stops at the next step
// boundary with exit status 130 or 143 and one line saying where it stopped
// and how to resume; the model and its state on disk are one consistent pair
// that --resume continues; no temporary file is left, not even after a second
// signal that stops it at once; temporary files of dead processes are removed
// by the next run that writes there.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/model_file.hpp"
#include "io/safetensors.hpp"
#include "io/sha256.hpp"
#include "train/checkpoint.hpp"
#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
using namespace xg::testing;
namespace fs = std::filesystem;

namespace {

// Toy images big enough that an epoch takes a while (a few tenths of a second).
std::string slow_data(const TempDir& dir) {
  write_toy_dataset(dir.path(), 3000, 200, 10, 28, 28);
  return dir.path();
}

// The files under `dir` whose name holds ".tmp." (a write cut off).
std::vector<std::string> temporary_files(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(entry.path().string());
  return found;
}

std::string sha256_of_file(const std::string& path) {
  const std::string bytes = read_file(path);
  return sha256_hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

// The epoch the training state `path` holds.
std::size_t state_epoch(const std::string& path) {
  return nlohmann::json::parse(read_safetensors(path).metadata.at("xgrad_state")).at("epoch").get<std::size_t>();
}

}  // namespace

TEST_CASE("signals: SIGINT or SIGTERM during training stops at a step boundary with a consistent, resumable pair") {
  TempDir dir;
  const std::string data = slow_data(dir);
  const std::string model = dir.file("m.safetensors"), metrics = dir.file("m.jsonl"), report = dir.file("report");
  const std::string args = "train --data " + data + " --hidden 128 --epochs 30 --threads 1 --quiet --save " + model +
                           " --metrics " + metrics + " --report " + report;
  struct Trial {
    int signal;
    int delay_ms;  // after the first epoch line
  };
  for (const Trial trial : {Trial{SIGINT, 0}, Trial{SIGTERM, 60}, Trial{SIGINT, 150}}) {
    CAPTURE(trial.signal);
    CAPTURE(trial.delay_ms);
    for (const std::string& f : {model, state_path(model), metrics}) fs::remove(f);
    fs::remove_all(report);
    const RunResult r = run_xgrad_signalled(dir.path(), args, "\n1/30 ", trial.delay_ms, {trial.signal});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.status == 128 + trial.signal);
    REQUIRE(lines_of(r.err).size() == 1);
    // "interrupted in epoch E at step S of N; model of epoch E-1 saved to PATH; resume with xgrad train --resume PATH ..."
    std::size_t epoch = 0, step = 0, steps = 0, saved = 0;
    REQUIRE(std::sscanf(r.err.c_str(), "interrupted in epoch %zu at step %zu of %zu; model of epoch %zu saved to ", &epoch,
                        &step, &steps, &saved) == 4);
    CHECK(epoch >= 2);
    CHECK(saved == epoch - 1);
    CHECK(steps == 47);  // 3000 images in batches of 64
    CHECK(step < steps);
    CHECK(r.err.find("saved to " + model + "; resume with xgrad train --resume " + model + " --metrics " + metrics +
                     " --report " + report + "\n") != std::string::npos);
    CHECK(temporary_files(dir.path()).empty());
    CHECK_FALSE(fs::exists(previous_state_path(model)));
    // One pair: the model and its state of the same epoch, the state naming the model's bytes.
    CHECK(load_model(model).info.epoch == saved);
    CHECK(state_epoch(state_path(model)) == saved);
    CHECK(read_safetensors(state_path(model)).metadata.at("model_sha256") == sha256_of_file(model));
    CHECK(lines_of(read_file(metrics)).size() == saved);
    CHECK(read_file(report + "/report.html").find("interrupted by " + std::string(trial.signal == SIGINT ? "SIGINT" : "SIGTERM")) !=
          std::string::npos);
    CHECK(lines_of(read_file(report + "/metrics.csv")).size() == saved + 1);  // a header and the finished epochs
    // --resume goes on from there.
    const RunResult resumed = run_xgrad("train --resume " + model + " --epochs " + std::to_string(saved + 1) +
                                        " --metrics " + metrics);  // not --quiet: the resume line is wanted
    INFO("resumed: " << resumed.out << resumed.err);
    CHECK(resumed.status == 0);
    CHECK(resumed.out.find(std::to_string(saved) + " epoch") != std::string::npos);
    CHECK(load_model(model).info.epoch == saved + 1);
    CHECK(lines_of(read_file(metrics)).size() == saved + 1);
  }
}

TEST_CASE("signals: a signal before the first epoch ends saves nothing and says so") {
  TempDir dir;
  const std::string data = slow_data(dir);
  const std::string model = dir.file("m.safetensors");
  const RunResult r = run_xgrad_signalled(dir.path(), "train --data " + data + " --hidden 128 --epochs 30 --threads 1 --save " + model,
                                          "model ", 0, {SIGTERM});
  INFO(r.out << r.err);
  CHECK(r.status == 143);
  REQUIRE(lines_of(r.err).size() == 1);
  CHECK(r.err.rfind("interrupted in epoch 1 at step ", 0) == 0);
  CHECK(r.err.find("no epoch had finished, so no model was saved") != std::string::npos);
  CHECK_FALSE(fs::exists(model));
  CHECK_FALSE(fs::exists(state_path(model)));
  CHECK(temporary_files(dir.path()).empty());
}

TEST_CASE("signals: a second signal stops at once and still leaves no temporary file, and a consistent pair") {
  TempDir dir;
  const std::string data = slow_data(dir);
  const std::string model = dir.file("m.safetensors");
  for (const int delay_ms : {0, 100}) {
    CAPTURE(delay_ms);
    const RunResult r = run_xgrad_signalled(dir.path(),
                                            "train --data " + data + " --hidden 128 --epochs 30 --threads 1 --save " + model,
                                            "\n1/30 ", delay_ms, {SIGINT, SIGINT});
    INFO(r.out << r.err);
    CHECK(r.status == 130);
    CHECK(temporary_files(dir.path()).empty());
    // Whatever the moment, --resume finds a model and a state that belong together.
    const std::size_t saved = load_model(model).info.epoch;
    CHECK(saved >= 1);
    const RunResult resumed = run_xgrad("train --resume " + model + " --epochs " + std::to_string(saved + 1) + " --quiet");
    INFO(resumed.err);
    CHECK(resumed.status == 0);
    CHECK(load_model(model).info.epoch == saved + 1);
  }
}

TEST_CASE("signals: temporary files of writes by dead processes are removed by the next run that writes there") {
  TempDir dir;
  write_toy_dataset(dir.path(), 300, 60, 3, 6, 5);
  const std::string model = dir.file("m.safetensors"), metrics = dir.file("m.jsonl");
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a process id that is no longer in use
  const std::vector<std::string> stale = {temporary_name(model, child), temporary_name(state_path(model), child),
                                          temporary_name(metrics, child)};
  for (const std::string& f : stale) std::ofstream(f) << "half a file";
  const std::string alive = temporary_name(model, 1);  // process 1 runs: its write may be going on
  std::ofstream(alive) << "someone else's";
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 1 --threads 1 --quiet --save " + model +
                                " --metrics " + metrics);
  INFO(r.err);
  CHECK(r.status == 0);
  for (const std::string& f : stale) CHECK_FALSE(fs::exists(f));
  CHECK(fs::exists(alive));
}

TEST_CASE("signals: sweep and lr-find stop cleanly with 143 or 130 and one line") {
  TempDir dir;
  const std::string data = slow_data(dir);
  const std::string metrics = dir.file("sweep.jsonl");
  RunResult r = run_xgrad_signalled(dir.path(),
                                    "sweep --data " + data + " --hidden 64 --lr 0.01,0.1 --epochs 30 --jobs 1 --threads 1 "
                                    "--metrics " + metrics + " --report " + dir.file("sweep-report"),
                                    "epoch 1/30", 0, {SIGTERM});
  INFO(r.out << r.err);
  CHECK(r.status == 143);
  REQUIRE(lines_of(r.err).size() == 1);
  std::size_t epoch = 0;
  REQUIRE(std::sscanf(r.err.c_str(), "interrupted by SIGTERM in epoch %zu of 30", &epoch) == 1);
  CHECK(epoch >= 2);
  CHECK(lines_of(read_file(metrics)).size() == 2 * (epoch - 1));  // one line per rate and finished epoch
  CHECK(r.out.find("summary") != std::string::npos);
  CHECK(fs::exists(dir.file("sweep-report/report.html")));
  CHECK(temporary_files(dir.path()).empty());

  r = run_xgrad_signalled(dir.path(), "lr-find --data " + data + " --hidden 64 --steps 100000 --threads 1 --report " +
                          dir.file("lr-report"), "lr-find ", 20, {SIGINT});
  INFO(r.out << r.err);
  CHECK(r.status == 130);
  REQUIRE(lines_of(r.err).size() == 1);
  CHECK(r.err.rfind("interrupted by SIGINT at step ", 0) == 0);
  CHECK_FALSE(fs::exists(dir.file("lr-report")));  // nothing written, not even an empty folder
  CHECK(temporary_files(dir.path()).empty());
}
