// train/checkpoint: a run saved after every epoch resumes bit for bit (model,
// optimizer state, schedule); resume_config takes the run's flags from the
// checkpoint; a state file that does not fit its model is refused naming the
// field; data_sha256 tells training splits apart; a state records its model's
// SHA-256, so that after a save cut off between the two files the previous
// state (PATH.state.prev) is the one resumed. (The same through
// `xgrad train --resume`: tests/apps/test_train_command.cpp.)
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "datasets/image_dataset.hpp"
#include "io/safetensors.hpp"
#include "train/checkpoint.hpp"
#include "train/experiment.hpp"
#include "tests/support/files.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

bool same_bits(const Array& a, const Array& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.size(), b.data(), [](float x, float y) {
           return std::memcmp(&x, &y, sizeof x) == 0;
         });
}

std::string toy(const TempDir& dir) {
  write_toy_dataset(dir.path(), 300, 60, 3, 6, 5);
  return dir.path();
}

// A run of `epochs` epochs saved to `path` after each.
void train_and_save(const TrainConfig& config, const std::string& path, std::size_t epochs) {
  Experiment run(config, load_training_data(config));
  Checkpointer checkpoints({path, "", ""}, run);
  for (std::size_t e = 1; e <= epochs; ++e) {
    run.run_epoch(e);
    checkpoints.after_epoch(e, run.last_evaluation().loss, "");
  }
}

}  // namespace

TEST_CASE("checkpoint: 2 epochs + resume 2 epochs equals 4 straight epochs, bit for bit (cosine schedule)") {
  TempDir dir;
  TrainConfig o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 4;
  o.batch = 16;
  o.seed = 5;
  auto data = load_training_data(o);

  Experiment straight(o, data);
  std::vector<double> straight_losses;
  for (std::size_t e = 1; e <= 4; ++e) straight_losses.push_back(straight.run_epoch(e).train_loss);

  const std::string path = dir.file("a.safetensors");
  {
    Experiment run(o, data);
    Checkpointer checkpoints({path, "", ""}, run);
    CHECK(checkpoints.first_epoch() == 1);
    for (std::size_t e = 1; e <= 2; ++e) {
      CHECK(run.run_epoch(e).train_loss == straight_losses[e - 1]);
      checkpoints.after_epoch(e, run.last_evaluation().loss, "{\"epoch\":" + std::to_string(e) + "}\n");
    }
  }
  Experiment resumed(o, data);
  Checkpointer checkpoints({"", "", path}, resumed);
  REQUIRE(checkpoints.first_epoch() == 3);
  CHECK(checkpoints.metrics_text() == "{\"epoch\":2}\n");  // the metrics file as it was after the last saved epoch
  for (std::size_t e = 3; e <= 4; ++e) CHECK(resumed.run_epoch(e).train_loss == straight_losses[e - 1]);
  const auto a = straight.model().named_parameters(), b = resumed.model().named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i].second.value(), b[i].second.value()));
}

TEST_CASE("checkpoint: save_best keeps the epoch with the lowest monitored loss") {
  TempDir dir;
  TrainConfig o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 4;
  Experiment run(o, load_training_data(o));
  const std::string best = dir.file("best.safetensors");
  Checkpointer checkpoints({"", best, ""}, run);
  CHECK(checkpoints.best_epoch() == 0);
  const double losses[] = {0.9, 0.5, 0.7, 0.6};  // the monitored loss each epoch reports: epoch 2 is the best
  for (std::size_t e = 1; e <= 4; ++e) {
    run.run_epoch(e);
    checkpoints.after_epoch(e, losses[e - 1], "");
    CHECK(checkpoints.best_epoch() == (e == 1 ? 1 : 2));
  }
  CHECK(load_model(best).info.epoch == 2);
}

TEST_CASE("checkpoint: resume_config takes the checkpoint's flags, a given flag must agree, only --epochs may change") {
  TempDir dir;
  TrainConfig o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 2;
  o.lr = 0.02;
  o.optimizer = "adam";
  o.schedule = "none";
  const std::string path = dir.file("r.safetensors");
  train_and_save(o, path, 2);

  const TrainConfig defaults;  // a command line that gave nothing but --resume
  TrainConfig resumed = resume_config(path, defaults, {"--resume"});
  CHECK(resumed.epochs == 2);
  CHECK(config_json(resumed) == config_json(o));
  // --epochs from the command line, and a training flag equal to the checkpoint's.
  TrainConfig command_line;
  command_line.epochs = 5;
  command_line.lr = 0.02;
  resumed = resume_config(path, command_line, {"--resume", "--epochs", "--lr"});
  CHECK(resumed.epochs == 5);
  CHECK(resumed.optimizer == "adam");
  // A training flag that differs is refused, naming the flag, both values and the file.
  command_line.lr = 0.5;
  try {
    resume_config(path, command_line, {"--resume", "--epochs", "--lr"});
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    const std::string m = e.what();
    CHECK(m.find("--lr differs from the checkpoint " + path) != std::string::npos);
    CHECK(m.find("0.5") != std::string::npos);
    CHECK(m.find("0.02") != std::string::npos);
  }
  // Epochs beyond the checkpoint's are needed to go on.
  TrainConfig same = o;
  Experiment run(same, load_training_data(same));
  CHECK_THROWS_WITH_AS(Checkpointer({"", "", path}, run), doctest::Contains("pass --epochs with more than that"), InputError);
}

TEST_CASE("checkpoint: a state file whose monitored_losses do not fit its epochs is refused, naming the file and the field") {
  TempDir dir;
  TrainConfig o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 2;
  const std::string model = dir.file("r.safetensors");
  train_and_save(o, model, 2);
  const Safetensors state = read_safetensors(state_path(model));
  nlohmann::json doc = nlohmann::json::parse(state.metadata.at("xgrad_state"));
  REQUIRE(doc.at("epoch") == 2);
  REQUIRE(doc.at("monitored_losses").size() == 2);
  std::vector<std::pair<std::string, const Array*>> tensors;
  for (const auto& [name, array] : state.tensors) tensors.emplace_back(name, &array);
  o.epochs = 4;
  for (const nlohmann::json& losses : {nlohmann::json::array({0.5}), nlohmann::json::array({0.5, "x"})}) {
    CAPTURE(losses.dump());
    doc["monitored_losses"] = losses;
    write_safetensors(state_path(model), tensors, {{"xgrad_state", doc.dump()}});
    Experiment run(o, load_training_data(o));
    try {
      Checkpointer checkpoints({"", "", model}, run);
      FAIL("expected an InputError");
    } catch (const InputError& e) {
      const std::string m = e.what();
      CHECK(m.find(state_path(model)) != std::string::npos);
      CHECK(m.find("monitored_losses") != std::string::npos);
    }
  }
}

TEST_CASE("checkpoint: a model and a state of different epochs (an interrupted save) are refused") {
  TempDir dir;
  TrainConfig o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 2;
  const std::string model = dir.file("r.safetensors");
  train_and_save(o, model, 2);
  const std::string state_after_2 = read_file(state_path(model));
  train_and_save(o, model, 1);  // the model after epoch 1 ...
  std::ofstream(state_path(model), std::ios::binary) << state_after_2;  // ... beside the state after epoch 2
  o.epochs = 4;
  Experiment run(o, load_training_data(o));
  CHECK_THROWS_WITH_AS(Checkpointer({"", "", model}, run), doctest::Contains("a save was interrupted"), InputError);
}

TEST_CASE("checkpoint: resuming on different training data is refused, naming both hashes") {
  TempDir dir, other;
  TrainConfig o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 1;
  const std::string model = dir.file("r.safetensors");
  train_and_save(o, model, 1);
  write_toy_dataset(other.path(), 301, 60, 3, 6, 5);  // one more training item
  TrainConfig changed = o;
  changed.data = other.path();
  changed.epochs = 2;
  Experiment run(changed, load_training_data(changed));
  CHECK_THROWS_WITH_AS(Checkpointer({"", "", model}, run), doctest::Contains("the training data differs from the checkpoint's"),
                       InputError);
}

TEST_CASE("data_sha256: the same split gives the same hash, and a changed label or pixel changes it") {
  TempDir dir;
  write_toy_dataset(dir.path(), 50, 10, 3, 4, 4);
  const Dataset data = load_image_dataset(dir.path());
  const std::string hash = data_sha256(data.train);
  CHECK(hash.size() == 64);
  CHECK(data_sha256(load_image_dataset(dir.path()).train) == hash);
  Split label = data.train;
  label.labels[7] = (label.labels[7] + 1) % 3;
  CHECK(data_sha256(label) != hash);
  Split pixel = data.train;
  pixel.pixels[3] ^= 1;
  CHECK(data_sha256(pixel) != hash);
  CHECK(state_path("run/m.safetensors") == "run/m.safetensors.state");
}

TEST_CASE("checkpoint: a save cut off between the state and the model resumes from the previous state") {
  namespace fs = std::filesystem;
  TempDir dir;
  TrainConfig o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 2;
  const std::string model = dir.file("r.safetensors"), two = dir.file("two.safetensors");
  train_and_save(o, two, 2);    // the pair a whole save of epoch 2 writes
  train_and_save(o, model, 1);  // the pair of epoch 1 ...
  CHECK_FALSE(fs::exists(previous_state_path(model)));  // a finished save keeps no previous state
  const auto copy = [](const std::string& from, const std::string& to) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  };
  // ... cut off after the new state: the model of epoch 1, the state of epoch 2, the previous one kept.
  copy(state_path(model), previous_state_path(model));
  copy(state_path(two), state_path(model));
  CHECK(matching_state_path(model) == previous_state_path(model));
  o.epochs = 3;
  {
    Experiment run(o, load_training_data(o));
    Checkpointer checkpoints({model, "", model}, run);
    CHECK(checkpoints.first_epoch() == 2);
    run.run_epoch(2);
    checkpoints.after_epoch(2, run.last_evaluation().loss, "");  // a whole save puts one pair in place
  }
  CHECK_FALSE(fs::exists(previous_state_path(model)));
  CHECK(matching_state_path(model) == state_path(model));
  Experiment again(o, load_training_data(o));
  CHECK(Checkpointer({"", "", model}, again).first_epoch() == 3);

  // Cut off after the new model: the new pair fits, the previous state is left over.
  copy(two, model);
  copy(state_path(two), state_path(model));
  copy(state_path(two), previous_state_path(model));
  std::ofstream(previous_state_path(model), std::ios::binary) << "not a state";
  CHECK(matching_state_path(model) == state_path(model));
  Experiment resumed(o, load_training_data(o));
  CHECK(Checkpointer({"", "", model}, resumed).first_epoch() == 3);
}

TEST_CASE("checkpoint: a state of the same epoch written with another model file is refused (model_sha256)") {
  TempDir dir;
  TrainConfig o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 1;
  const std::string model = dir.file("r.safetensors"), other = dir.file("other.safetensors");
  train_and_save(o, model, 1);
  o.seed = 99;  // another run, also saved after epoch 1
  train_and_save(o, other, 1);
  std::filesystem::copy_file(state_path(other), state_path(model), std::filesystem::copy_options::overwrite_existing);
  o.epochs = 2;
  Experiment run(o, load_training_data(o));
  CHECK_THROWS_WITH_AS(Checkpointer({"", "", model}, run), doctest::Contains("model_sha256 differs"), InputError);
}
