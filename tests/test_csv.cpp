// The CSV reader: header detection, label column, split, standardisation, and
// errors that name the line and the column.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.hpp"
#include "datasets/csv.hpp"
#include "test_support.hpp"

using namespace xg;

namespace {

CsvDataset from(const std::string& text, CsvOptions options = {}) {
  return csv_dataset_from_text(text, "d.csv", "", "", options);
}

std::string error_of(const std::string& text, CsvOptions options = {}) {
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
  const CsvDataset d = from("species,a,b\nsetosa,1,2\nvirginica,3,4\n\"setosa\", 5 ,6\r\n\n", o);
  CHECK(d.feature_names == std::vector<std::string>{"a", "b"});
  CHECK(d.class_names == std::vector<std::string>{"setosa", "virginica"});
  CHECK(d.train.count == 3);
  CHECK(d.test.count == 0);
  CHECK(d.train.x == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(d.train.labels == std::vector<std::uint32_t>{0, 1, 0});
  CHECK(d.mean[0] == doctest::Approx(3.0));
  CHECK(d.std[0] == doctest::Approx(std::sqrt(8.0 / 3.0)));
}

TEST_CASE("csv: no header, integer labels keep their values, --label-col by number and by name") {
  CsvOptions o;
  o.test_split = 0;
  o.label_column = "3";
  const CsvDataset d = from("1.5,2,0\n3,4e1,2\n5,6,0\n", o);
  CHECK(d.class_names == std::vector<std::string>{"0", "1", "2"});
  CHECK(d.train.labels == std::vector<std::uint32_t>{0, 2, 0});
  CHECK(d.train.x == std::vector<float>{1.5f, 2, 3, 40, 5, 6});
  CHECK(d.feature_names == std::vector<std::string>{"1", "2"});
  o.label_column = "y";
  const CsvDataset named = from("x,y\n1,a\n2,b\n", o);
  CHECK(named.class_names == std::vector<std::string>{"a", "b"});
  CHECK(named.feature_names == std::vector<std::string>{"x"});
}

TEST_CASE("csv: --test-split is seeded and disjoint, and a constant feature gets std 1") {
  std::string text = "y,a,b\n";
  for (int i = 0; i < 100; ++i) text += std::to_string(i % 2) + "," + std::to_string(i) + ",7\n";
  CsvOptions o;
  o.test_split = 0.25;
  o.seed = 3;
  const CsvDataset a = from(text, o), b = from(text, o);
  CHECK(a.train.count == 75);
  CHECK(a.test.count == 25);
  CHECK(a.test.x == b.test.x);
  o.seed = 4;
  CHECK(from(text, o).test.x != a.test.x);
  std::vector<float> all;
  for (std::size_t i = 0; i < a.train.count; ++i) all.push_back(a.train.x[i * 2]);
  for (std::size_t i = 0; i < a.test.count; ++i) all.push_back(a.test.x[i * 2]);
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 100; ++i) CHECK(all[std::size_t(i)] == float(i));
  CHECK(a.std[1] == 1.0f);
  CHECK(a.mean[1] == 7.0f);
}

TEST_CASE("csv: a separate test file uses the training classes") {
  xg::testing::TempDir dir;
  std::ofstream(dir.file("train.csv")) << "y,x\ncat,1\ndog,2\n";
  std::ofstream(dir.file("test.csv")) << "y,x\ndog,3\n";
  CsvOptions o;
  o.test_file = dir.file("test.csv");
  const CsvDataset d = load_csv_dataset(dir.file("train.csv"), o);
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
  CHECK(error_of("") == "d.csv: empty file, expected CSV rows of numbers with a label column");
  CHECK(error_of("\n\n  \n").find("empty file") != std::string::npos);
  CHECK(error_of("y,a,b\n0,1,2\n1,3\n").find("d.csv:3: has 2 cells, expected 3") != std::string::npos);
  CHECK(error_of("y,a,b\n0,1,2\n1,x,3\n").find("d.csv:3: column 2 'a': 'x' is not a number") != std::string::npos);
  CHECK(error_of("y,a,b\n0,1,2\n1,nan,3\n").find("d.csv:3: column 2 'a': 'nan' is not a finite") != std::string::npos);
  CHECK(error_of("y,a,b\n0,1,2\n1,2,inf\n").find("d.csv:3: column 3 'b': 'inf' is not a finite") != std::string::npos);
  CHECK(error_of("y,a,b\n0,1,2\n1,2,1e39\n").find("d.csv:3: column 3 'b'") != std::string::npos);
  CHECK(error_of("y,a\n0,1\n1,\n").find("d.csv:3: column 2 'a': empty cell") != std::string::npos);
  CHECK(error_of("y,a\n0,1\n0,2\n").find("at least two classes") != std::string::npos);
  CHECK(error_of("y,a\n0,1\n1,\"2\n").find("d.csv:3: column 2: a quote is not closed") != std::string::npos);
  CHECK(error_of("y,a\n").find("no data rows") == std::string::npos);  // one row: no header detected
  CHECK(error_of("y\n0\n1\n").find("1 column") != std::string::npos);
  CsvOptions o;
  o.label_column = "nope";
  CHECK(error_of("y,a\n0,1\n1,2\n", o).find("--label-col: 'nope'") != std::string::npos);
  o.label_column = "";
  o.test_split = 1.5;
  CHECK(error_of("y,a\n0,1\n1,2\n", o).find("--test-split") != std::string::npos);
  o.test_split = 0.9;
  CHECK(error_of("y,a\n0,1\n1,2\n", o).find("too few") != std::string::npos);
}
