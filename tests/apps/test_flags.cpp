// apps/flags and apps/train_command: the command line fills a TrainConfig
// and records which flags were given; a given flag that does not apply to the
// run is refused naming it (what a plain config cannot tell from a default);
// gradcheck's and graph's flags make the run they inspect.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/flags.hpp"
#include "apps/train_command.hpp"
#include "core/error.hpp"

using namespace xg;

namespace {

// `xgrad ARGS` parsed into the train command's options.
TrainCommandOptions parse_train(std::vector<std::string> args) {
  CLI::App app("xgrad");
  TrainCommandOptions options;
  add_train_command(app, options);
  args.insert(args.begin(), "train");
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  app.parse(args);
  return options;
}

}  // namespace

TEST_CASE("flags: train's flags fill the config and the command's options, and the given flags are recorded") {
  const TrainCommandOptions o = parse_train({"--data", "t.csv", "--label-col", "kind", "--lr", "0.1", "--hidden", "32,16",
                                             "--optimizer", "adam", "--amsgrad", "--epochs", "3", "--metrics", "m.jsonl",
                                             "--no-save", "--quiet", "--diagnostics"});
  CHECK(o.run.data == "t.csv");
  CHECK(o.run.label_col == "kind");
  CHECK(o.run.lr == 0.1);
  CHECK(o.run.hidden == "32,16");
  CHECK(o.run.optimizer == "adam");
  CHECK(o.run.amsgrad);
  CHECK(o.run.epochs == 3);
  CHECK(o.run.diagnostics);
  CHECK(o.run.batch == TrainConfig{}.batch);  // not given: the default
  CHECK(o.metrics == "m.jsonl");
  CHECK(o.no_save);
  CHECK(o.quiet);
  for (const char* flag : {"--data", "--label-col", "--lr", "--hidden", "--optimizer", "--amsgrad", "--epochs"}) {
    CAPTURE(flag);
    CHECK(o.was_given(flag));
  }
  CHECK_FALSE(o.was_given("--batch"));
  CHECK_NOTHROW(validate_train_command(o));
}

TEST_CASE("flags: a given flag that does not apply to the run is refused, naming it, the same value by default is fine") {
  const std::vector<std::pair<std::vector<std::string>, const char*>> cases = {
      {{"--label-col", "2"}, "--label-col applies to CSV data only (--data FILE.csv)"},
      {{"--test-split", "0.3"}, "--test-split applies to CSV data or an image folder of class folders only"},
      {{"--channels", "3"}, "--channels applies to image folders only (--data DIR of class folders), not to fashion-mnist"},
      {{"--image-size", "28,28"}, "--image-size applies to image folders only"},
      {{"--data", "t.csv", "--augment", "flip"}, "--augment applies to images only, not to CSV data t.csv"},
      {{"--data", "t.csv", "--test", "u.csv", "--test-split", "0.3"}, "give --test FILE.csv or --test-split, not both"},
      {{"--optimizer", "adam", "--momentum", "0.9"}, "--momentum applies to --optimizer sgd only, not adam"},
      {{"--optimizer", "adamw", "--dampening", "0"}, "--dampening applies to --optimizer sgd only"},
      {{"--betas", "0.9,0.999"}, "--betas applies to --optimizer adam or adamw only"},
      {{"--eps", "1e-8"}, "--eps applies to --optimizer adam or adamw only"},
      {{"--amsgrad"}, "--amsgrad applies to --optimizer adam or adamw only"},
      {{"--weight-decay=-1"}, "--weight-decay must be ≥ 0"},
      {{"--init-mode", "fan_in"}, "--init-mode applies to the kaiming inits only"},
      {{"--step-size", "3"}, "--step-size applies to --schedule step only"},
      {{"--gamma", "0.5"}, "--gamma applies to --schedule step, multistep, exponential or plateau, not cosine"},
      {{"--schedule", "step", "--gamma=-1"}, "--gamma must be in (0, 1)"},
      {{"--min-lr", "0"}, "--min-lr applies to --schedule cosine or plateau, not none"},
      {{"--plateau-patience", "2"}, "--plateau-patience applies to --schedule plateau only"},
      {{"--pos-weight", "1"}, "--pos-weight applies to --head sigmoid only"},
      {{"--save", "m.safetensors", "--no-save"}, "give --save PATH or --no-save, not both"},
  };
  for (const auto& [args, message] : cases) {
    CAPTURE(message);
    std::vector<std::string> with_schedule = args;
    if (std::string(message).find("not none") != std::string::npos) with_schedule.insert(with_schedule.begin(), {"--schedule", "none"});
    const TrainCommandOptions o = parse_train(with_schedule);
    CHECK_THROWS_WITH_AS(validate_train_command(o), doctest::Contains(message), InputError);
    // The config itself is fine: only that the flag was given makes it wrong.
    if (std::string(message).find("applies") != std::string::npos) {
      CHECK_NOTHROW(validate(o.run));
      CHECK_NOTHROW(check_given_flags_apply(o.run, {}));
    }
  }
}

TEST_CASE("flags: inspect_config makes the run gradcheck and graph inspect, --batch 0 and a non-CSV --label-col are refused") {
  InspectOptions o;
  o.data = "rows.csv";
  o.label_col = "kind";
  o.hidden = "12";
  o.batch = 4;
  o.seed = 7;
  const TrainConfig c = inspect_config(o);
  CHECK(c.data == "rows.csv");
  CHECK(c.label_col == "kind");
  CHECK(c.hidden == "12");
  CHECK(c.batch == 4);
  CHECK(c.seed == 7);
  CHECK(c.lr == TrainConfig{}.lr);  // the rest: train's defaults
  o.batch = 0;
  CHECK_THROWS_WITH_AS(inspect_config(o), doctest::Contains("--batch"), InputError);
  o.batch = 4;
  o.data = "/data/images";
  CHECK_THROWS_WITH_AS(inspect_config(o), doctest::Contains("--label-col applies to CSV data only"), InputError);
  o.label_col.clear();
  o.hidden = "8,,4";
  CHECK_THROWS_WITH_AS(inspect_config(o), doctest::Contains("--hidden"), InputError);
}

TEST_CASE("flags: closest_name suggests a name one or two edits away, or the only one that starts so") {
  const std::vector<std::string> commands = {"train", "sweep", "lr-find", "eval", "predict", "explain", "gradcheck", "graph"};
  CHECK(xg::closest_name("trian", commands) == "train");  // a swap of neighbours is one edit
  CHECK(xg::closest_name("tran", commands) == "train");
  CHECK(xg::closest_name("evl", commands) == "eval");
  CHECK(xg::closest_name("lr_find", commands) == "lr-find");
  CHECK(xg::closest_name("gradchek", commands) == "gradcheck");
  CHECK(xg::closest_name("version", commands) == "");
  CHECK(xg::closest_name("xyz", commands) == "");
  const std::vector<std::string> flags = {"--epochs", "--eps", "--val-split", "--lr", "--l1", "--l2", "--hidden"};
  CHECK(xg::closest_name("--epoch", flags) == "--epochs");
  CHECK(xg::closest_name("--hiden", flags) == "--hidden");
  CHECK(xg::closest_name("--val", flags) == "--val-split");  // a prefix of one name only
  CHECK(xg::closest_name("--l", flags) == "--lr");           // one edit from three names: the first
  CHECK(xg::closest_name("--zzzzzz", flags) == "");
}
