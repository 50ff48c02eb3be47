// `xgrad train --data FILE.csv` end to end: train on a table, then eval,
// predict and explain the saved model; resume; and the exit-2 one-liners of
// the CSV flags and files.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/random.hpp"
#include "datasets/csv.hpp"
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

const char* const kClasses[3] = {"alpha", "beta", "gamma"};

// Three separable classes of 4 features on very different scales; the label
// column "kind" is the third. Row i has class i % 3.
std::string table_text(std::size_t rows, std::uint64_t seed) {
  Rng rng(seed);
  std::string text = "height,weight,kind,age,score\n";
  for (std::size_t i = 0; i < rows; ++i) {
    const int k = int(i % 3);
    char line[200];
    std::snprintf(line, sizeof line, "%.3f,%.6f,%s,%.4f,%.4f\n", 1000.0 + 80.0 * k + 20.0 * rng.normal(0.0f, 1.0f),
                  0.01 * rng.normal(0.0f, 1.0f), kClasses[k], 5.0 * rng.normal(0.0f, 1.0f), 7.0 - 1.5 * k + 0.3 * rng.normal(0.0f, 1.0f));
    text += line;
  }
  return text;
}

std::string write_table(const TempDir& dir, const std::string& name, std::size_t rows, std::uint64_t seed) {
  std::ofstream(dir.file(name)) << table_text(rows, seed);
  return dir.file(name);
}

// The last line of `out` that starts with `prefix`, after the prefix.
std::string after(const std::string& out, const std::string& prefix) {
  std::string found;
  for (const std::string& line : lines_of(out))
    if (line.rfind(prefix, 0) == 0) found = line.substr(prefix.size());
  return found;
}

void check_one_line_error(const RunResult& r, const std::string& expected) {
  INFO("stderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find(expected) != std::string::npos);
}

}  // namespace

TEST_CASE("xgrad train --data FILE.csv learns a table, and eval, predict and explain use the saved model") {
  TempDir dir;
  const std::string data = write_table(dir, "train.csv", 300, 1);
  const std::string model = dir.file("m.safetensors");
  const RunResult train = run_xgrad("train --data " + data + " --label-col kind --hidden 16 --epochs 15 --threads 1 --save " + model);
  INFO(train.err);
  REQUIRE(train.status == 0);
  CHECK(train.out.find("240 train / 60 test rows of 4 features, 3 classes") != std::string::npos);
  const std::string accuracy = after(train.out, "final test accuracy ");
  CHECK(std::stod(accuracy) >= 0.95);

  // The metadata: a table model with per-feature standardisation.
  const Safetensors file = read_safetensors(model);
  const nlohmann::json info = nlohmann::json::parse(file.metadata.at("xgrad"));
  CHECK(info["input_shape"] == nlohmann::json::array({4}));
  CHECK(info["features"] == nlohmann::json::array({"height", "weight", "age", "score"}));
  CHECK(info["classes"] == nlohmann::json::array({"alpha", "beta", "gamma"}));
  // Each feature's mean and population std over the training split (the rows the seeded split
  // keeps, read here through the library), summed here in double. Relative comparisons: the
  // std of "weight" is about 0.01, where doctest's default Approx scale would accept anything.
  REQUIRE(info["mean"].size() == 4);
  REQUIRE(info["std"].size() == 4);
  CsvOptions split;
  split.label_column = "kind";
  const Dataset table = load_csv_dataset(data, split);
  REQUIRE(table.train.count == 240);
  for (std::size_t f = 0; f < 4; ++f) {
    double sum = 0.0, squares = 0.0;
    for (std::size_t r = 0; r < 240; ++r) sum += table.train.values[r * 4 + f];
    const double mean = sum / 240.0;
    for (std::size_t r = 0; r < 240; ++r) squares += std::pow(table.train.values[r * 4 + f] - mean, 2);
    INFO("feature " << f);
    CHECK(info["mean"][f].get<double>() == doctest::Approx(mean).epsilon(1e-5).scale(0));
    CHECK(info["std"][f].get<double>() == doctest::Approx(std::sqrt(squares / 240.0)).epsilon(1e-5).scale(0));
  }
  CHECK(info["mean"][0].get<double>() == doctest::Approx(1080.0).epsilon(0.02));  // the generator's mean
  CHECK(info["std"][1].get<double>() == doctest::Approx(0.01).epsilon(0.2).scale(0));  // and std
  CHECK(info["config"]["label_col"] == "kind");

  // eval re-reads the same file, split the same way: the same accuracy as training's last epoch.
  const RunResult eval = run_xgrad("eval --model " + model + " --json");
  REQUIRE(eval.status == 0);
  const nlohmann::json report = nlohmann::json::parse(eval.out);
  CHECK(report["items"] == 60);
  char formatted[16];
  std::snprintf(formatted, sizeof formatted, "%.4f", report["accuracy"].get<double>());
  CHECK(std::string(formatted) == accuracy);

  // eval --data OTHER.csv: every row of another file.
  const std::string other = write_table(dir, "other.csv", 90, 2);
  const RunResult eval_other = run_xgrad("eval --model " + model + " --data " + other + " --json");
  REQUIRE(eval_other.status == 0);
  CHECK(nlohmann::json::parse(eval_other.out)["items"] == 90);
  CHECK(nlohmann::json::parse(eval_other.out)["accuracy"].get<double>() >= 0.9);

  // predict: a test row by index, and rows of a CSV file with and without the label column.
  const RunResult by_index = run_xgrad("predict --model " + model + " --index 0 --top-k 2");
  REQUIRE(by_index.status == 0);
  CHECK(by_index.out.find("test[0] (true class: ") != std::string::npos);
  std::ofstream(dir.file("rows.csv")) << "height,weight,age,score\n1000,0,0,7\n1160,0,0,4\n";
  const RunResult rows = run_xgrad("predict --model " + model + " --json " + dir.file("rows.csv"));
  REQUIRE(rows.status == 0);
  const nlohmann::json predictions = nlohmann::json::parse(rows.out)["predictions"];
  REQUIRE(predictions.size() == 2);
  CHECK(predictions[0]["input"] == dir.file("rows.csv") + ":2");
  CHECK(predictions[0]["top"][0]["class"] == "alpha");
  CHECK(predictions[1]["top"][0]["class"] == "gamma");
  CHECK(!predictions[0].contains("label"));
  const RunResult labelled = run_xgrad("predict --model " + model + " " + other);
  REQUIRE(labelled.status == 0);
  CHECK(labelled.out.find(other + ":2 (true class: alpha)") != std::string::npos);

  // explain walks a table row through softmax-cross-entropy like an image.
  const RunResult explain = run_xgrad("explain --model " + model + " --index 3");
  REQUIRE(explain.status == 0);
  CHECK(explain.out.find("5. probabilities") != std::string::npos);
  CHECK(explain.out.find("gamma") != std::string::npos);
}

TEST_CASE("xgrad train on CSV: --test FILE, and --resume takes every training flag back from the checkpoint") {
  TempDir dir;
  const std::string data = write_table(dir, "train.csv", 150, 3), test = write_table(dir, "test.csv", 30, 4);
  // Adam, a label column by number, a separate test file: none repeated on the resume command line.
  const std::string common = "train --data " + data + " --label-col 3 --test " + test +
                             " --optimizer adam --lr 0.01 --schedule none --hidden 8 --batch 16 --quiet --threads 1";
  const RunResult straight = run_xgrad(common + " --epochs 4 --metrics " + dir.file("s.jsonl"));
  REQUIRE(straight.status == 0);
  CHECK(straight.out.find("150 train / 30 test rows") != std::string::npos);
  const RunResult first = run_xgrad(common + " --epochs 2 --save " + dir.file("r.safetensors") + " --metrics " + dir.file("r.jsonl"));
  REQUIRE(first.status == 0);
  const RunResult second = run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 4 --quiet --threads 1 --metrics " +
                                     dir.file("r.jsonl"));
  INFO(second.err);
  REQUIRE(second.status == 0);
  CHECK(metrics_mismatch(dir.file("s.jsonl"), dir.file("r.jsonl"), 4, {"train_loss", "test_loss"}) == "");
  // A contradicting training flag is still refused.
  check_one_line_error(run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 6 --optimizer sgd --quiet"),
                       "--optimizer differs from the checkpoint");
}

TEST_CASE("CSV flags and files: bad input is one line and exit 2") {
  TempDir dir;
  const std::string data = write_table(dir, "train.csv", 60, 5);
  std::filesystem::create_directory(dir.file("images"));
  write_toy_dataset(dir.file("images"), 60, 20, 3, 4, 4);
  check_one_line_error(run_xgrad("train --data " + dir.file("images") + " --label-col 2"),
                       "--label-col applies to CSV data only (--data FILE.csv)");
  check_one_line_error(run_xgrad("train --data " + data + " --label-col kind --test-split 0"), "--test-split 0 leaves no test rows");
  check_one_line_error(run_xgrad("train --data " + data + " --label-col kind --test-split 0.3 --test " + data),
                       "give --test FILE.csv or --test-split, not both");
  check_one_line_error(run_xgrad("train --data " + data + " --label-col kind --test " + dir.file("images")),
                       "expected a .csv file");
  check_one_line_error(run_xgrad("train --data " + data + " --label-col species"), "--label-col: 'species' is neither");
  check_one_line_error(run_xgrad("train --data " + data), "is not a number");  // the default label column is a feature
  std::ofstream(dir.file("ragged.csv")) << "y,a,b\n0,1,2\n1,2\n";
  check_one_line_error(run_xgrad("train --data " + dir.file("ragged.csv")), "ragged.csv:3: has 2 cells, expected 3");
  check_one_line_error(run_xgrad("train --data " + dir.file("missing.csv")), "missing.csv: file does not exist");

  // A model trained on the table...
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + data + " --label-col kind --hidden 4 --epochs 1 --quiet --save " + model).status == 0);
  // ...refuses images, files of other columns and labels it does not know.
  check_one_line_error(run_xgrad("eval --model " + model + " --data " + dir.file("images")), "was trained on CSV data");
  std::ofstream(dir.file("unknown.csv")) << "height,weight,kind,age,score\n1,2,delta,3,4\n";
  check_one_line_error(run_xgrad("eval --model " + model + " --data " + dir.file("unknown.csv")),
                       "unknown.csv:2: column 3 'kind': label 'delta' does not occur among the model's classes");
  std::ofstream(dir.file("renamed.csv")) << "height,mass,kind,age,score\n1,2,alpha,3,4\n";
  check_one_line_error(run_xgrad("eval --model " + model + " --data " + dir.file("renamed.csv")),
                       "renamed.csv: column 2 is 'mass' but in the model's training file it is 'weight'");
  std::ofstream(dir.file("narrow.csv")) << "height,weight,kind,age\n1,2,alpha,3\n";
  check_one_line_error(run_xgrad("eval --model " + model + " --data " + dir.file("narrow.csv")),
                       "narrow.csv: has 3 feature columns but the model takes 4");
  std::ofstream(dir.file("wide.csv")) << "a,b,c\n1,2,3\n";
  check_one_line_error(run_xgrad("predict --model " + model + " " + dir.file("wide.csv")),
                       "wide.csv: has 3 columns; the model takes 4 features");
  check_one_line_error(run_xgrad("predict --model " + model + " " + dir.file("x.png")), "give a .csv file of them");
  // A training file that changed since: its test split is no longer held out.
  std::ofstream(data, std::ios::app) << "1000,0,alpha,0,7\n";
  check_one_line_error(run_xgrad("eval --model " + model), "has changed since");
}

TEST_CASE("--resume continues a plateau schedule where it was (the epochs' losses are replayed)") {
  TempDir dir;
  const std::string data = write_table(dir, "train.csv", 300, 1);
  const std::string common = "train --data " + data + " --label-col kind --hidden 16 --lr 0.5 --schedule plateau " +
                             "--plateau-patience 0 --batch 16 --threads 1 --quiet";
  REQUIRE(run_xgrad(common + " --epochs 8 --metrics " + dir.file("s.jsonl")).status == 0);
  REQUIRE(run_xgrad(common + " --epochs 4 --save " + dir.file("r.safetensors") + " --metrics " + dir.file("r.jsonl")).status == 0);
  const RunResult resumed = run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 8 --quiet --threads 1 --metrics " +
                                      dir.file("r.jsonl"));
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  // The straight run's rate was cut before epoch 5, so a restart from --lr would differ.
  const auto straight = lines_of(read_file(dir.file("s.jsonl")));
  REQUIRE(straight.size() == 8);
  REQUIRE(nlohmann::json::parse(straight[4])["lr"].get<double>() < 0.5);
  CHECK(metrics_mismatch(dir.file("s.jsonl"), dir.file("r.jsonl"), 8, {"lr", "train_loss", "test_loss"}) == "");
}
