// `xgrad train --data FILE.csv` end to end: train on a table, then eval,
// predict and explain the saved model; resume; and the exit-2 one-liners of
// the CSV flags and files.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
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
                             " --optimizer adam --lr 0.01 --schedule none --hidden 8 --batch 16 --threads 1";
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

TEST_CASE("CSV: eval --data on the training rows warns, top-k only below the class count, continuous labels and semicolon files get a hint") {
  TempDir dir;
  const std::string data = write_table(dir, "train.csv", 300, 1);
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + data + " --label-col kind --hidden 16 --epochs 5 --threads 1 --quiet --save " + model).status == 0);

  // The training file itself, and a copy of it under another name (found by the training split's sha256).
  std::filesystem::copy_file(data, dir.file("copy.csv"));
  for (const std::string& same : {data, dir.file("copy.csv")}) {
    INFO(same);
    const RunResult r = run_xgrad("eval --model " + model + " --data " + same);
    REQUIRE(r.status == 0);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find("xgrad: warning: --data " + same + " holds the rows " + model + " was trained on") == 0);
    CHECK(r.err.find("leave out --data") != std::string::npos);
    const RunResult json = run_xgrad("eval --model " + model + " --data " + same + " --json");
    CHECK(nlohmann::json::parse(json.out).contains("warning"));
  }
  const std::string other = write_table(dir, "other.csv", 90, 2);
  const RunResult fresh = run_xgrad("eval --model " + model + " --data " + other);
  REQUIRE(fresh.status == 0);
  CHECK(fresh.err.empty());
  // 3 classes: top-3 accuracy is always 1, so the default --top-k 3 prints none; --top-k 2 does.
  CHECK(fresh.out.find("top-") == std::string::npos);
  CHECK(nlohmann::json::parse(run_xgrad("eval --model " + model + " --json").out).contains("top_k_accuracy") == false);
  CHECK(run_xgrad("eval --model " + model + " --top-k 2").out.find("top-2 accuracy") != std::string::npos);

  // A continuous label column: 120 distinct values with fractions, each in one or two rows.
  std::string continuous = "x,price\n";
  for (int i = 0; i < 240; ++i) continuous += std::to_string(i % 7) + "," + std::to_string(10 + (i % 120)) + ".25\n";
  std::ofstream(dir.file("prices.csv")) << continuous;
  const RunResult prices = run_xgrad("train --data " + dir.file("prices.csv") + " --label-col price --hidden 4 --epochs 1 --no-save --quiet");
  INFO(prices.err);
  CHECK(prices.status == 0);
  CHECK(prices.err.find("xgrad: warning: " + dir.file("prices.csv") + ": the label column has 120 distinct values, 120 of them in "
                        "fewer than 5 rows, so it becomes 120 classes") != std::string::npos);
  CHECK(prices.err.find("Is --label-col right?") != std::string::npos);
  const RunResult classes = run_xgrad("train --data " + data + " --label-col kind --hidden 4 --epochs 1 --no-save --quiet");
  CHECK(classes.err.find("warning") == std::string::npos);

  // A ';'-separated file (and a tab-separated one) reads as one column: say why.
  std::ofstream(dir.file("semi.csv")) << "kind;height;weight\nalpha;1;2\nbeta;3;4\n";
  check_one_line_error(run_xgrad("train --data " + dir.file("semi.csv") + " --no-save"),
                       "has 1 column; expected a label column and at least one feature column (it looks ';'-separated; "
                       "xgrad reads comma-separated CSV only: save it with commas)");
  std::ofstream(dir.file("tabs.csv")) << "kind\theight\nalpha\t1\nbeta\t3\n";
  check_one_line_error(run_xgrad("train --data " + dir.file("tabs.csv") + " --no-save"), "(it looks tab-separated;");
  std::ofstream(dir.file("rows.csv")) << "height;weight;age;score\n1;2;3;4\n";
  check_one_line_error(run_xgrad("predict --model " + model + " " + dir.file("rows.csv")), "(it looks ';'-separated;");
}

TEST_CASE("examples/data/iris.csv: Fisher's 150 rows, 50 per species, learned to above 0.9 test accuracy with a split") {
  const std::string iris = std::string(XGRAD_SOURCE_DIR) + "/examples/data/iris.csv";
  const auto lines = lines_of(read_file(iris));
  REQUIRE(lines.size() == 151);
  CHECK(lines[0] == "sepal_length,sepal_width,petal_length,petal_width,species");
  CHECK(lines[1] == "5.1,3.5,1.4,0.2,setosa");        // the first row of Fisher's table
  CHECK(lines[51] == "7.0,3.2,4.7,1.4,versicolor");   // the first versicolor
  CHECK(lines[101] == "6.3,3.3,6.0,2.5,virginica");   // the first virginica
  CHECK(lines[150] == "5.9,3.0,5.1,1.8,virginica");   // the last
  std::map<std::string, int> per_class;
  double petal_length = 0.0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    per_class[lines[i].substr(lines[i].rfind(',') + 1)]++;
    petal_length += std::stod(lines[i].substr(lines[i].find(',', lines[i].find(',') + 1) + 1));
  }
  CHECK(per_class == std::map<std::string, int>{{"setosa", 50}, {"versicolor", 50}, {"virginica", 50}});
  CHECK(petal_length / 150 == doctest::Approx(3.758).epsilon(1e-4));  // the published mean

  // The README's command, with a held-out 20%.
  TempDir dir;
  const RunResult r = run_xgrad("train --data " + iris + " --label-col species --hidden 16 --epochs 50 --test-split 0.2 --threads 1 --save " +
                                dir.file("iris.safetensors"));
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("120 train / 30 test rows of 4 features, 3 classes") != std::string::npos);
  const double accuracy = std::stod(after(r.out, "final test accuracy "));
  CHECK(accuracy > 0.9);
  CHECK(r.err.empty());  // no warning: these labels are classes

  // explain on it: tiny probabilities in scientific notation, never 0.000000, and the classes marked.
  bool wrong_one_seen = false, scientific_seen = false;
  for (int i = 0; i < 30; ++i) {
    const RunResult e = run_xgrad("explain --model " + dir.file("iris.safetensors") + " --index " + std::to_string(i));
    REQUIRE(e.status == 0);
    const std::string probabilities = e.out.substr(e.out.find("5. probabilities"), e.out.find("6. loss") - e.out.find("5. probabilities"));
    INFO(probabilities);
    CHECK(probabilities.find("0.000000") == std::string::npos);
    const bool right = e.out.find("<- true class, predicted") != std::string::npos;
    CHECK((right || (e.out.find("<- true class\n") != std::string::npos && e.out.find("<- predicted\n") != std::string::npos)));
    wrong_one_seen = wrong_one_seen || !right;
    scientific_seen = scientific_seen || probabilities.find("e-0") != std::string::npos;
  }
  CHECK(wrong_one_seen == (accuracy < 1.0));  // each mistake is marked as one
  CHECK(scientific_seen);                    // a confident model gives some p < 1e-4
}
