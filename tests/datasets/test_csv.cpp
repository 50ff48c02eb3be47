// The CSV reader: header detection, label column, split, standardisation, and
// errors that name the line and the column.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.hpp"
#include "datasets/csv.hpp"
#include "tests/support/files.hpp"

using namespace xg;

namespace {

Dataset from(const std::string& text, CsvOptions options = {}) {
  return csv_dataset_from_text(text, "d.csv", "", "", options);
}

std::string csv_error(const std::string& text, CsvOptions options = {}) {
  try {
    from(text, options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("csv: a header is detected, the label column is the first by default, classes are sorted names") {
  CsvOptions o;
  o.test_split = 0;
  const Dataset d = from("species,a,b\nsetosa,1,2\nvirginica,3,4\n\"setosa\", 5 ,6\r\n\n", o);
  CHECK(d.feature_names == std::vector<std::string>{"a", "b"});
  CHECK(d.class_names == std::vector<std::string>{"setosa", "virginica"});
  CHECK(d.train.count == 3);
  CHECK(d.test.count == 0);
  CHECK(d.train.values == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(d.train.labels == std::vector<std::uint32_t>{0, 1, 0});
  const Normalization norm = compute_normalization(d.train);
  CHECK(norm.mean[0] == doctest::Approx(3.0));
  CHECK(norm.std[0] == doctest::Approx(std::sqrt(8.0 / 3.0)));
}

TEST_CASE("csv: no header, integer labels sort by value, --label-col by number and by name") {
  CsvOptions o;
  o.test_split = 0;
  o.label_column = "3";
  const Dataset d = from("1.5,2,0\n3,4e1,2\n5,6,0\n", o);
  CHECK(d.class_names == std::vector<std::string>{"0", "2"});  // the classes present: no class "1" without an example
  CHECK(d.train.labels == std::vector<std::uint32_t>{0, 1, 0});
  CHECK(d.train.values == std::vector<float>{1.5f, 2, 3, 40, 5, 6});
  CHECK(d.feature_names == std::vector<std::string>{"1", "2"});
  o.label_column = "y";
  const Dataset named = from("x,y\n1,a\n2,b\n", o);
  CHECK(named.class_names == std::vector<std::string>{"a", "b"});
  CHECK(named.feature_names == std::vector<std::string>{"x"});
}

TEST_CASE("csv: --test-split is seeded and disjoint, and a constant feature gets std 1") {
  std::string text = "y,a,b\n";
  for (int i = 0; i < 100; ++i) text += std::to_string(i % 2) + "," + std::to_string(i) + ",7\n";
  CsvOptions o;
  o.test_split = 0.25;
  o.seed = 3;
  const Dataset a = from(text, o), b = from(text, o);
  CHECK(a.train.count == 75);
  CHECK(a.test.count == 25);
  CHECK(a.test.values == b.test.values);
  o.seed = 4;
  CHECK(from(text, o).test.values != a.test.values);
  std::vector<float> all;
  for (std::size_t i = 0; i < a.train.count; ++i) all.push_back(a.train.values[i * 2]);
  for (std::size_t i = 0; i < a.test.count; ++i) all.push_back(a.test.values[i * 2]);
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 100; ++i) CHECK(all[std::size_t(i)] == float(i));
  CHECK(compute_normalization(a.train).std[1] == 1.0f);
  CHECK(compute_normalization(a.train).mean[1] == 7.0f);
}

TEST_CASE("csv: a separate test file uses the training classes") {
  xg::testing::TempDir dir;
  std::ofstream(dir.file("train.csv")) << "y,x\ncat,1\ndog,2\n";
  std::ofstream(dir.file("test.csv")) << "y,x\ndog,3\n";
  CsvOptions o;
  o.test_file = dir.file("test.csv");
  const Dataset d = load_csv_dataset(dir.file("train.csv"), o);
  CHECK(d.train.count == 2);
  CHECK(d.test.count == 1);
  CHECK(d.test.labels == std::vector<std::uint32_t>{1});
  std::ofstream(dir.file("test.csv")) << "y,x\nbird,3\n";
  CHECK_THROWS_WITH_AS(load_csv_dataset(dir.file("train.csv"), o), doctest::Contains("test.csv:2: column 1 'y': label 'bird'"),
                       InputError);
  CHECK(is_csv_path("a/B.CSV"));
  CHECK(!is_csv_path("fashion-mnist"));
}

TEST_CASE("csv: errors name the file, the line and the column") {
  CHECK(csv_error("") == "d.csv: empty file, expected CSV rows of numbers with a label column");
  CHECK(csv_error("\n\n  \n").find("empty file") != std::string::npos);
  CHECK(csv_error("y,a,b\n0,1,2\n1,3\n").find("d.csv:3: has 2 cells, expected 3") != std::string::npos);
  CHECK(csv_error("y,a,b\n0,1,2\n1,x,3\n").find("d.csv:3: column 2 'a': 'x' is not a number") != std::string::npos);
  CHECK(csv_error("y,a,b\n0,1,2\n1,nan,3\n").find("d.csv:3: column 2 'a': 'nan' is not a finite") != std::string::npos);
  CHECK(csv_error("y,a,b\n0,1,2\n1,2,inf\n").find("d.csv:3: column 3 'b': 'inf' is not a finite") != std::string::npos);
  CHECK(csv_error("y,a,b\n0,1,2\n1,2,1e39\n").find("d.csv:3: column 3 'b'") != std::string::npos);
  CHECK(csv_error("y,a\n0,1\n1,\n").find("d.csv:3: column 2 'a': empty cell") != std::string::npos);
  CHECK(csv_error("y,a\n0,1\n0,2\n").find("at least two classes") != std::string::npos);
  CHECK(csv_error("y,a\n0,1\n1,\"2\n").find("d.csv:3: column 2: a quote is not closed") != std::string::npos);
  CHECK(csv_error("y,a\n").find("no data rows") == std::string::npos);  // one row: no header detected
  CHECK(csv_error("y\n0\n1\n").find("1 column") != std::string::npos);
  CsvOptions o;
  o.label_column = "nope";
  CHECK(csv_error("y,a\n0,1\n1,2\n", o).find("--label-col: 'nope'") != std::string::npos);
  o.label_column = "";
  o.test_split = 1.5;
  CHECK(csv_error("y,a\n0,1\n1,2\n", o).find("--test-split") != std::string::npos);
  o.test_split = 0.9;
  CHECK(csv_error("y,a\n0,1\n1,2\n", o).find("too few") != std::string::npos);
}

TEST_CASE("csv: a model's classes map the labels by name, and a label outside them names the line") {
  CsvOptions o;
  o.test_split = 0;
  o.classes = {"0", "1", "2", "7"};
  const Dataset d = from("y,a\n07,1\n2,2\n0,3\n", o);
  CHECK(d.class_names == o.classes);
  CHECK(d.train.labels == std::vector<std::uint32_t>{3, 2, 0});  // "07" is the class "7"
  CHECK(csv_error("y,a\n1,1\n5,2\n", o) == "d.csv:3: column 1 'y': label '5' does not occur among the model's classes");
}

TEST_CASE("csv: a test file must have the training file's columns") {
  CsvOptions o;
  CHECK_THROWS_WITH_AS(csv_dataset_from_text("y,a,b\n0,1,2\n1,3,4\n", "train.csv", "y,b,a\n0,1,2\n", "test.csv", o),
                       "test.csv: column 2 is 'b' but in train.csv it is 'a'", InputError);
  CHECK_THROWS_WITH_AS(csv_dataset_from_text("y,a,b\n0,1,2\n1,3,4\n", "train.csv", "y,a\n0,1\n", "test.csv", o),
                       "test.csv: has 2 columns but train.csv has 3", InputError);
  // Without a header on either side only the count is compared.
  const Dataset d = csv_dataset_from_text("0,1,2\n1,3,4\n", "train.csv", "1,5,6\n", "test.csv", o);
  CHECK(d.test.values == std::vector<float>{5, 6});
  CHECK(d.test.shape == std::vector<std::size_t>{2});
}

TEST_CASE("csv: numbers in every notation strtod reads, and the float32 range") {
  CsvOptions all_rows;
  all_rows.test_split = 0;
  const Dataset d = from("y,a\n0,+1.5\n1,-.25\n0,1e3\n1,2.\n0,-0\n", all_rows);
  CHECK(d.train.values == std::vector<float>{1.5f, -0.25f, 1000.0f, 2.0f, -0.0f});
  CHECK(csv_error("y,a\n0,1\n1,1e400\n").find("d.csv:3: column 2 'a': '1e400' is not a finite float32 number") != std::string::npos);
  CHECK(csv_error("y,a\n0,1\n1,0x10\n").find("'0x10' is not a number") != std::string::npos);
  CHECK(csv_error("y,a\n0,1\n1,1 2\n").find("'1 2' is not a number") != std::string::npos);
}

TEST_CASE("csv rows to predict: the model's features, with or without the label column") {
  const std::vector<std::string> features{"a", "b"}, classes{"cat", "dog"};
  const CsvRows plain = csv_rows_from_text("a,b\n1,2\n\n3,4\n", "r.csv", features, "y", classes);
  CHECK(!plain.labelled);
  CHECK(plain.items.values == std::vector<float>{1, 2, 3, 4});
  CHECK(plain.items.shape == std::vector<std::size_t>{2});
  CHECK(plain.line_numbers == std::vector<std::size_t>{2, 4});
  const CsvRows labelled = csv_rows_from_text("a,y,b\n1,dog,2\n", "r.csv", features, "y", classes);
  CHECK(labelled.labelled);
  CHECK(labelled.items.values == std::vector<float>{1, 2});
  CHECK(labelled.items.labels == std::vector<std::uint32_t>{1});
  // One row, no header: positions.
  CHECK(csv_rows_from_text("5,6\n", "r.csv", features, "y", classes).items.values == std::vector<float>{5, 6});
  CHECK_THROWS_WITH_AS(csv_rows_from_text("b,a\n1,2\n3,4\n", "r.csv", features, "y", classes),
                       "r.csv: column 1 is 'b' but in the model's features it is 'a'", InputError);
  CHECK_THROWS_WITH_AS(csv_rows_from_text("1,2,3,4\n", "r.csv", features, "y", classes),
                       "r.csv: has 4 columns; the model takes 2 features (with or without the label column)", InputError);
  CHECK_THROWS_WITH_AS(csv_rows_from_text("a,y,b\n1,bird,2\n", "r.csv", features, "y", classes),
                       "r.csv:2: column 2 'y': label 'bird' does not occur among the model's classes", InputError);
  // A model trained on a file without a header has positional feature names: any header is accepted.
  CHECK(csv_rows_from_text("x,z\n1,2\n3,4\n", "r.csv", {"2", "3"}, "", classes).items.count == 2);
}

TEST_CASE("csv: the classes are the labels present, integers by value") {
  CsvOptions o;
  o.test_split = 0;
  // A label of 255 among three classes present makes three classes, not 256.
  Dataset d = from("y,a\n0,1\n1,2\n255,3\n1,4\n", o);
  CHECK(d.class_names == std::vector<std::string>{"0", "1", "255"});
  CHECK(d.train.labels == std::vector<std::uint32_t>{0, 1, 2, 1});
  // Classes numbered from 1 (wine, glass), by value: 2 before 10; "07" and "+7" are the class 7.
  d = from("y,a\n10,1\n2,2\n07,3\n+7,4\n-1,5\n", o);
  CHECK(d.class_names == std::vector<std::string>{"-1", "2", "7", "10"});
  CHECK(d.train.labels == std::vector<std::uint32_t>{3, 1, 2, 2, 0});
  // One label that is not an integer makes every label a name, sorted as text.
  d = from("y,a\n10,1\n2,2\ncat,3\n", o);
  CHECK(d.class_names == std::vector<std::string>{"10", "2", "cat"});
}

TEST_CASE("csv: at most 1000 classes, refused at the label that would be one too many") {
  CsvOptions o;
  o.test_split = 0;
  std::string text = "y,a\n";
  for (std::size_t i = 0; i < kMaxClasses; ++i) text += "c" + std::to_string(i) + ",1\n";
  CHECK(from(text, o).num_classes() == kMaxClasses);
  text += "c0,2\nnew,3\n";  // line 1003
  CHECK(csv_error(text, o) == "d.csv:1003: column 1 'y': label 'new' is one more than the 1000 classes xgrad handles "
                             "(is --label-col right?)");
  // A class name of at most kMaxClassNameBytes.
  CHECK(from("y,a\n" + std::string(kMaxClassNameBytes, 'n') + ",1\nb,2\n", o).num_classes() == 2);
  CHECK(csv_error("y,a\n" + std::string(kMaxClassNameBytes + 1, 'n') + ",1\nb,2\n", o) ==
        "d.csv:2: column 1 'y': a label of 1025 bytes; a class name has at most 1024 (is --label-col right?)");
  // 100,000 distinct labels in a 0.9 MB file stop there too, long before a 100,000 x 100,000 anything.
  std::string many = "y,a\n";
  for (int i = 0; i < 100000; ++i) many += "x" + std::to_string(i) + ",1\n";
  CHECK(csv_error(many, o).find("d.csv:1002: column 1 'y': label 'x1000' is one more than the 1000 classes") == 0);
}

TEST_CASE("csv: at most 100000 columns, the boundary on both sides") {
  CsvOptions o;
  o.test_split = 0;
  std::string row;  // kMaxCsvColumns cells: a label and 99,999 features
  for (std::size_t c = 0; c < kMaxCsvColumns; ++c) row += (c ? ",0" : "0");
  const Dataset d = from(row + "\n1" + row.substr(1) + "\n", o);
  CHECK(d.feature_names.size() == kMaxCsvColumns - 1);
  CHECK(d.train.count == 2);
  CHECK(csv_error(row + ",0\n1" + row.substr(1) + ",0\n", o) == "d.csv:1: more than 100000 columns");
  CHECK(csv_error(row + "\n1" + row.substr(1) + ",0\n", o) == "d.csv:2: more than 100000 columns");
}

TEST_CASE("csv: a line longer than the limit is refused naming the line, at the limit it is read") {
  CsvOptions o;
  o.test_split = 0;
  // A feature cell of leading zeros: the number 5, in a line of exactly kMaxCsvLineBytes.
  const std::string head = "y,a\n0,1\n1,";
  const std::string cell = std::string(kMaxCsvLineBytes - 3, '0') + "5";
  const Dataset d = from(head + cell + "\n", o);
  CHECK(d.train.values == std::vector<float>{1, 5});
  CHECK(csv_error(head + "0" + cell + "\n", o) ==
        "d.csv:3: line longer than 4194304 bytes; is this a text file with one row per line?");
}

TEST_CASE("csv: text that is not UTF-8 is refused at load time, naming the file and the line") {
  CsvOptions o;
  o.test_split = 0;
  CHECK(csv_error("y,a\n0,1\ncaf\xE9,2\n", o) == "d.csv:3: not valid UTF-8 text (byte 0xE9 at offset 3); hint: save the file as UTF-8");
  CHECK(csv_error("y,caf\xE9\n0,1\n1,2\n", o).find("d.csv:1: not valid UTF-8 text") == 0);
  CHECK(csv_error("y,a\n0,1\n1,2\n2,\xFF\n", o).find("d.csv:4: not valid UTF-8 text (byte 0xFF") == 0);
  // UTF-8 names and labels are fine.
  const Dataset d = from("esp\xC3\xA8" "ce,a\ncaf\xC3\xA9,1\nth\xC3\xA9,2\n", o);
  CHECK(d.class_names == std::vector<std::string>{"caf\xC3\xA9", "th\xC3\xA9"});
}
