// train/saved_model: a model file written after training gives back the run's
// config, its normalisation, the same test split and bit-identical logits.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

#include "train/checkpoint.hpp"
#include "train/experiment.hpp"
#include "train/saved_model.hpp"
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

}  // namespace

TEST_CASE("saved model: save then load gives the run's config, normalisation, test split and bit-identical logits") {
  TempDir dir;
  write_toy_dataset(dir.path(), 300, 60, 3, 6, 5);
  TrainConfig o;
  o.data = dir.path();
  o.hidden = "8";
  o.epochs = 1;
  o.classes = "a,b,c";
  const std::string path = dir.file("m.safetensors");
  Experiment run(o, load_training_data(o));
  Checkpointer checkpoints({path, "", ""}, run);
  run.run_epoch(1);
  checkpoints.after_epoch(1, run.last_evaluation().loss, "");

  LoadedModel loaded = load_model(path);
  CHECK(loaded.path == path);
  CHECK(loaded.info.layers == std::vector<std::size_t>{30, 8, 3});
  CHECK(loaded.info.input_shape == std::vector<std::size_t>{6, 5});
  CHECK(loaded.info.classes == std::vector<std::string>{"a", "b", "c"});
  CHECK(loaded.info.epoch == 1);
  CHECK(loaded.info.data_sha256 == data_sha256(run.data().train));
  CHECK(loaded.info.config.at("hidden") == "8");
  CHECK_FALSE(loaded.takes_tables());
  CHECK_FALSE(loaded.sigmoid_head());

  // The config of the run (but epochs, which a model file's user sets anew).
  nlohmann::json saved = config_json(model_config(loaded)), trained = config_json(o);
  saved.erase("epochs");
  trained.erase("epochs");
  CHECK(saved == trained);
  const Normalization norm = model_normalization(loaded);
  CHECK(norm.mean == run.normalization().mean);
  CHECK(norm.std == run.normalization().std);

  // The data it was trained on: the same test split, the model's class names.
  const Dataset data = load_data_for_model(loaded, "");
  const Split& test = run.data().test;
  CHECK(data.test.count == test.count);
  CHECK(data.test.labels == test.labels);
  CHECK(data.test.pixels == test.pixels);
  CHECK(data.class_names == loaded.info.classes);

  const Array from_file = model_logits(loaded, test);
  LoadedModel live{path, loaded.info, std::shared_ptr<Sequential>(&run.model(), [](Sequential*) {})};
  const Array from_memory = model_logits(live, test);
  CHECK(from_file.shape() == std::vector<std::size_t>{60, 3});
  CHECK(same_bits(from_file, from_memory));
  // And the same loss as training's own evaluation.
  CHECK(evaluate(*loaded.model, test, norm, 3).loss == doctest::Approx(run.last_evaluation().loss).epsilon(1e-6));
}

TEST_CASE("saved model: data that does not fit the model is refused naming it") {
  TempDir dir, other;
  write_toy_dataset(dir.path(), 100, 20, 3, 6, 5);
  write_toy_dataset(other.path(), 100, 20, 3, 5, 5);  // 5x5 images, the model takes 6x5
  TrainConfig o;
  o.data = dir.path();
  o.hidden = "4";
  o.epochs = 1;
  const std::string path = dir.file("m.safetensors");
  {
    Experiment run(o, load_training_data(o));
    Checkpointer checkpoints({path, "", ""}, run);
    run.run_epoch(1);
    checkpoints.after_epoch(1, run.last_evaluation().loss, "");
  }
  const LoadedModel loaded = load_model(path);
  CHECK_THROWS_WITH_AS(load_data_for_model(loaded, other.path()), doctest::Contains(("--data " + other.path()).c_str()), InputError);
  CHECK_THROWS_WITH_AS(load_data_for_model(loaded, other.path()), doctest::Contains("the model takes 30 inputs"), InputError);
  CHECK_THROWS_WITH_AS(load_data_for_model(loaded, dir.file("rows.csv")), doctest::Contains("was trained on images"),
                       InputError);
}
