// train/config: validate() refuses each bad value and impossible combination
// naming the flag; a config survives config_json / config_from_json; a resumed
// run's flags must match; --hidden's size list; the defaults that depend on
// other fields; the one-line description.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "train/config.hpp"

using namespace xg;

TEST_CASE("config: the defaults are valid, and each bad value or combination is refused naming the flag") {
  CHECK_NOTHROW(validate(TrainConfig{}));
  const std::vector<std::pair<std::function<void(TrainConfig&)>, const char*>> cases = {
      {[](TrainConfig& c) { c.batch = 0; }, "--batch"},
      {[](TrainConfig& c) { c.epochs = 0; }, "--epochs"},
      {[](TrainConfig& c) { c.threads = -1; }, "--threads"},
      {[](TrainConfig& c) { c.test_split = 1.0; }, "--test-split"},
      {[](TrainConfig& c) { c.test_file = "test.txt"; }, "--test"},
      {[](TrainConfig& c) { c.data = "t.csv", c.test_split = 0.0; }, "--test-split 0"},
      {[](TrainConfig& c) { c.val_split = -0.1; }, "--val-split"},
      {[](TrainConfig& c) { c.classes_subset = "0,a"; }, "--classes-subset"},
      {[](TrainConfig& c) { c.hidden = "256,,128"; }, "--hidden"},
      {[](TrainConfig& c) { c.hidden = "0"; }, "--hidden"},
      {[](TrainConfig& c) { c.activation = "gelu"; }, "--activation"},
      {[](TrainConfig& c) { c.dropout = 1.0; }, "--dropout"},
      {[](TrainConfig& c) { c.init = "orthogonal"; }, "--init"},
      {[](TrainConfig& c) { c.init_mode = "fan_avg"; }, "--init-mode"},
      {[](TrainConfig& c) { c.head = "linear"; }, "--head"},
      {[](TrainConfig& c) { c.lr = 0.0; }, "--lr"},
      {[](TrainConfig& c) { c.momentum = 1.0; }, "--momentum"},
      {[](TrainConfig& c) { c.optimizer = "rmsprop"; }, "--optimizer"},
      {[](TrainConfig& c) { c.optimizer = "adam", c.nesterov = true; }, "--nesterov"},
      {[](TrainConfig& c) { c.momentum = 0.0, c.nesterov = true; }, "--nesterov"},
      {[](TrainConfig& c) { c.nesterov = true, c.dampening = 0.5; }, "--dampening"},
      {[](TrainConfig& c) { c.dampening = 1.0; }, "--dampening"},
      {[](TrainConfig& c) { c.betas = "0.9"; }, "--betas"},
      {[](TrainConfig& c) { c.betas = "1,0.9"; }, "--betas"},
      {[](TrainConfig& c) { c.eps = 0.0; }, "--eps"},
      {[](TrainConfig& c) { c.clip_grad_norm = -1.0; }, "--clip-grad-norm"},
      {[](TrainConfig& c) { c.l1 = -1.0; }, "--l1"},
      {[](TrainConfig& c) { c.l2 = -1.0; }, "--l2"},
      {[](TrainConfig& c) { c.label_smoothing = 1.0; }, "--label-smoothing"},
      {[](TrainConfig& c) { c.class_weights = "1,x"; }, "--class-weights"},
      {[](TrainConfig& c) { c.class_weights = "1,-1"; }, "--class-weights"},
      {[](TrainConfig& c) { c.pos_weight = 0.0; }, "--pos-weight"},
      {[](TrainConfig& c) { c.head = "sigmoid", c.label_smoothing = 0.1; }, "--label-smoothing"},
      {[](TrainConfig& c) { c.head = "sigmoid", c.class_weights = "1,2"; }, "--class-weights"},
      {[](TrainConfig& c) { c.schedule = "wiggly"; }, "--schedule"},
      {[](TrainConfig& c) { c.schedule = "step", c.step_size = 0; }, "--step-size"},
      {[](TrainConfig& c) { c.milestones = "2,4"; }, "--milestones"},
      {[](TrainConfig& c) { c.schedule = "multistep"; }, "--milestones"},
      {[](TrainConfig& c) { c.gamma = 1.5; }, "--gamma"},
      {[](TrainConfig& c) { c.min_lr = 0.05; }, "--min-lr"},
      {[](TrainConfig& c) { c.warmup_epochs = 10; }, "--warmup-epochs"},
  };
  for (const auto& [spoil, flag] : cases) {
    TrainConfig c;
    spoil(c);
    CAPTURE(flag);
    CHECK_THROWS_WITH_AS(validate(c), doctest::Contains(flag), InputError);
  }
}

TEST_CASE("config: config_json then config_from_json gives the same config, missing keys keep the base's, epochs too") {
  TrainConfig c;
  c.data = "table.csv";
  c.label_col = "kind";
  c.hidden = "32";
  c.optimizer = "adamw";
  c.betas = "0.8,0.99";
  c.amsgrad = true;
  c.seed = 12345678901234ULL;
  c.lr = 0.003;
  c.schedule = "multistep";
  c.milestones = "3,6";
  c.epochs = 7;
  const nlohmann::json doc = config_json(c);
  CHECK(doc.at("epochs") == 7);
  CHECK(doc.at("label_col") == "kind");
  CHECK(doc.at("test") == "");
  CHECK_FALSE(doc.contains("threads"));  // how a run is computed, not what it computes
  CHECK_FALSE(doc.contains("diagnostics"));
  TrainConfig base;
  base.epochs = 3;
  const TrainConfig back = config_from_json(doc, base, "m.safetensors");
  CHECK(back.epochs == 3);  // the base's: a user of the model file sets it anew
  nlohmann::json expected = doc;
  expected["epochs"] = 3;
  CHECK(config_json(back) == expected);

  nlohmann::json older = doc;  // a checkpoint of an older xgrad without some keys
  older.erase("amsgrad");
  older.erase("betas");
  const TrainConfig partial = config_from_json(older, base, "m.safetensors");
  CHECK(partial.betas == base.betas);
  CHECK(partial.amsgrad == base.amsgrad);
  CHECK(partial.optimizer == "adamw");

  nlohmann::json wrong = doc;
  wrong["lr"] = "fast";
  CHECK_THROWS_WITH_AS(config_from_json(wrong, base, "m.safetensors"),
                       "m.safetensors: xgrad metadata config \"lr\" has the wrong type", InputError);
  CHECK_THROWS_WITH_AS(config_from_json(nlohmann::json::array(), base, "m.safetensors"), doctest::Contains("m.safetensors"),
                       InputError);
}

TEST_CASE("config: a flag in must_match must equal the document's, and the error names both values") {
  TrainConfig saved;
  saved.lr = 0.1;
  saved.hidden = "16";
  const nlohmann::json doc = config_json(saved);
  TrainConfig command_line;
  command_line.lr = 0.1;
  CHECK(config_from_json(doc, command_line, "r.safetensors", {"--lr"}).hidden == "16");  // agrees: fine
  command_line.hidden = "8";
  CHECK_THROWS_WITH_AS(config_from_json(doc, command_line, "r.safetensors", {"--lr", "--hidden"}),
                       "--hidden differs from the checkpoint r.safetensors (\"8\" vs \"16\"); a resumed run keeps its "
                       "training flags, only --epochs may change",
                       InputError);
  // Not listed: the document's value wins silently.
  CHECK(config_from_json(doc, command_line, "r.safetensors", {"--lr"}).hidden == "16");
}

TEST_CASE("config: parse_size_list reads --hidden, an empty list is no hidden layer") {
  CHECK(parse_size_list("--hidden", "256,128") == std::vector<std::size_t>{256, 128});
  CHECK(parse_size_list("--hidden", "").empty());
  for (const char* bad : {"abc", "256,,128", "0", "-5", "1000001", "3,"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_size_list("--hidden", bad),
                         ("--hidden: '" + std::string(bad) + "' is not a comma-separated list of positive sizes such as 256,128").c_str(),
                         InputError);
  }
}

TEST_CASE("config: weight decay and gamma defaults depend on the optimizer and the schedule") {
  TrainConfig c;
  CHECK(effective_weight_decay(c) == 0.0);
  c.optimizer = "adamw";
  CHECK(effective_weight_decay(c) == 0.01);
  c.weight_decay = 0.0;
  CHECK(effective_weight_decay(c) == 0.0);
  CHECK(effective_gamma(c) == 0.1);
  c.schedule = "exponential";
  CHECK(effective_gamma(c) == 0.9);
  c.gamma = 0.5;
  CHECK(effective_gamma(c) == 0.5);
}

TEST_CASE("config: describe_training names the optimizer, its rate and what regularises the run") {
  TrainConfig c;
  CHECK(describe_training(c) == "SGD lr 0.05 momentum 0.9, schedule cosine");
  c.optimizer = "adam";
  c.lr = 0.001;
  c.amsgrad = true;
  c.warmup_epochs = 2;
  c.label_smoothing = 0.1;
  c.l2 = 1e-4;
  c.early_stop = 3;
  CHECK(describe_training(c) ==
        "Adam lr 0.001 amsgrad, schedule cosine after 2 warm-up epochs, label smoothing 0.1, l2 0.0001, early stop after 3");
}

TEST_CASE("config: config_from_json checks the document's values as validate() checks flags, naming the file") {
  TrainConfig saved;
  saved.epochs = 20;
  saved.warmup_epochs = 12;  // fine with the document's 20 epochs, though the base has 10
  const nlohmann::json doc = config_json(saved);
  CHECK(config_from_json(doc, TrainConfig{}, "m.safetensors").warmup_epochs == 12);
  const std::pair<const char*, nlohmann::json> bad[] = {{"lr", -1.0}, {"dropout", 3.0}, {"test_split", 5.0},
                                                        {"hidden", "1000001"}, {"batch", 0}, {"activation", "swish"}};
  for (const auto& [key, value] : bad) {
    nlohmann::json wrong = doc;
    wrong[key] = value;
    CAPTURE(wrong.dump());
    CHECK_THROWS_WITH_AS(config_from_json(wrong, TrainConfig{}, "m.safetensors"), doctest::Contains("m.safetensors: xgrad metadata config: --"),
                         InputError);
  }
}
