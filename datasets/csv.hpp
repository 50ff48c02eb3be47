#pragma once
// Tabular data from CSV files: one row per item, numeric feature columns and
// one label column (a class name or number).
//
//   - Comma-separated; a field may be double-quoted ("a, b" and "say ""hi""").
//     Lines end in \n or \r\n; blank lines are skipped; a UTF-8 BOM is ignored.
//   - The first row is a header when it holds a non-number in a column whose
//     next row is a number; without a header, columns are named by position.
//   - Every feature cell must be a finite number. Every row has the header's
//     number of cells.
//   - Labels: when every label is an integer 0..999 the classes are "0".."max";
//     otherwise the classes are the distinct label strings, sorted.
//
// The file is untrusted: errors are InputErrors naming the file, the line and
// the column ("iris.csv:12: column 3 'petal_length': 'abc' is not a number").
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

// The raw content of one CSV file.
struct CsvTable {
  bool has_header = false;
  std::vector<std::string> columns;            // header names, or "1", "2", ... (1-based positions)
  std::vector<std::vector<std::string>> rows;  // the data rows' cells, trimmed, unquoted
  std::vector<std::size_t> line_numbers;       // 1-based line of each row, for messages
};

// Largest CSV file accepted (1 GiB) and most columns per row.
constexpr std::uint64_t kMaxCsvBytes = std::uint64_t(1) << 30;
constexpr std::size_t kMaxCsvColumns = 100000;

// Splits `text` into rows and cells; `source` names the file in errors.
CsvTable parse_csv(const std::string& text, const std::string& source);

// Features and labels, row after row.
struct TabularSet {
  std::size_t count = 0, features = 0;
  std::vector<float> x;                // count * features, row-major, raw (not standardised)
  std::vector<std::uint32_t> labels;   // count
};

struct CsvDataset {
  std::string name;                        // the training file as given
  std::vector<std::string> feature_names;  // features
  std::vector<std::string> class_names;
  TabularSet train, test;
  // Per-feature standardisation from the training split: x_norm = (x - mean) / std
  // (std 1 for a constant feature).
  std::vector<float> mean, std;
  std::size_t num_classes() const { return class_names.size(); }
};

struct CsvOptions {
  std::string label_column;  // a header name or a 1-based column number; "" = the first column
  std::string test_file;     // a separate test CSV with the same columns; "" = split the training file
  double test_split = 0.2;   // fraction held out for testing when there is no test file, in [0, 1)
  std::uint64_t seed = 0;    // seeds the split
};

// Reads `path` (and the test file), picks the label column, converts the
// features, splits (seeded) and computes the standardisation. Throws
// InputError for empty files, ragged rows, non-numeric/NaN/Inf cells, a
// single class, an unknown label column, or a test label the training file
// does not have.
CsvDataset load_csv_dataset(const std::string& path, const CsvOptions& options);

// The same from text already in memory (for tests and the fuzzer).
CsvDataset csv_dataset_from_text(const std::string& train_text, const std::string& train_source,
                                 const std::string& test_text, const std::string& test_source,
                                 const CsvOptions& options);

// True when `path` names a CSV file (ends in .csv, any case).
bool is_csv_path(const std::string& path);

}  // namespace xg
