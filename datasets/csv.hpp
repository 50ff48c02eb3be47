#pragma once
// Tabular data from CSV files: one row per item, numeric feature columns and
// one label column (a class name or number).
//
//   - Comma-separated; a field may be double-quoted ("a, b" and "say ""hi""").
//     Lines end in \n or \r\n; blank lines are skipped; a UTF-8 BOM is ignored.
//     The file must be UTF-8 text, read one line at a time: a line may hold at
//     most kMaxCsvLineBytes bytes and kMaxCsvColumns cells.
//   - The first row is a header when it holds a non-number in a column whose
//     next row is a number; without a header, columns are named by position.
//   - Every feature cell must be a finite number. Every row has the header's
//     number of cells.
//   - Labels (dataset.hpp, "Class labels"): the classes are the distinct labels
//     of the training file, sorted; when every label is an integer they sort by
//     value and "07" is the class "7". At least 2 classes, at most kMaxClasses.
//
// The file is untrusted: errors are InputErrors naming the file, the line and
// the column ("iris.csv:12: column 3 'petal_length': 'abc' is not a number").
#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"

namespace xg {

constexpr std::size_t kNoLabel = ~std::size_t(0);

// The content of one CSV file: the label column's cells as class names,
// every other cell as a number. No table of strings is kept, so a file takes
// about 4 bytes per cell in memory.
struct CsvTable {
  bool has_header = false;
  std::vector<std::string> columns;       // header names, or "1", "2", ... (1-based positions)
  std::size_t label = kNoLabel;           // the label column (kNoLabel: none, every column is a feature)
  std::vector<float> values;              // each data row's cells but the label, row after row
  std::vector<std::string> label_names;   // the distinct labels, in the order they first occur (trimmed,
                                          // unquoted; an integer in its plain form: "+07" is "7")
  std::vector<std::uint32_t> label_ids;   // each data row's label, an index into label_names
  std::vector<std::size_t> line_numbers;  // 1-based line of each data row, for messages
  std::string first_line;                 // the first non-blank line as it is, for hints
  std::size_t rows() const { return line_numbers.size(); }
};

// Largest CSV file accepted (1 GiB), longest line (4 MiB: the most columns,
// 100,000, of up to 40 characters each) and most cells per row.
constexpr std::uint64_t kMaxCsvBytes = std::uint64_t(1) << 30;
constexpr std::size_t kMaxCsvLineBytes = std::size_t(4) << 20;
constexpr std::size_t kMaxCsvColumns = 100000;

// Reads `in` line by line (`source` names it in errors): finds the header and
// the columns, asks `choose_label` (which may throw) for the label column, then
// checks and converts every row. More than kMaxClasses distinct labels are refused.
CsvTable parse_csv(std::istream& in, const std::string& source,
                   const std::function<std::size_t(const CsvTable&)>& choose_label);
CsvTable parse_csv(const std::string& text, const std::string& source,
                   const std::function<std::size_t(const CsvTable&)>& choose_label);

struct CsvOptions {
  std::string label_column;  // a header name or a 1-based column number; "" = the first column
  std::string test_file;     // a separate test CSV with the same columns; "" = split the training file
  double test_split = 0.2;   // fraction held out for testing when there is no test file, in [0, 1)
  std::uint64_t seed = 0;    // seeds the split
  // Empty: the classes come from the training file's labels (the distinct
  // labels, sorted; by value when every label is an integer).
  // Given (a trained model's classes): each label must be one of them.
  std::vector<std::string> classes;
  // Given (a trained model's features): the training file's feature columns
  // must be as many and, when both have names, the same names in order.
  std::vector<std::string> features;
};

// Reads `path` (and the test file), picks the label column, converts the
// features and splits (seeded): a Dataset of table splits (shape {features})
// with feature_names. The standardisation is compute_normalization(train).
// Throws InputError for empty files, ragged rows, non-numeric/NaN/Inf cells,
// over-long lines, text that is not UTF-8, a single class or more than
// kMaxClasses, an unknown label column, a test file with other columns, or a
// test label the training file does not have.
Dataset load_csv_dataset(const std::string& path, const CsvOptions& options);

// The same from text already in memory (for tests and the fuzzer).
Dataset csv_dataset_from_text(const std::string& train_text, const std::string& train_source,
                                 const std::string& test_text, const std::string& test_source,
                                 const CsvOptions& options);

// Rows to predict with a model trained on CSV data: a file with the model's
// feature columns and, optionally, its label column (then the file has one
// column more, and the label is checked against `classes`). With headers, the
// column names must be the model's.
struct CsvRows {
  Split items;                            // shape {features}; labels 0 when unlabelled
  bool labelled = false;                  // the file has the label column
  std::vector<std::size_t> line_numbers;  // of each item, for the output
};
CsvRows load_csv_rows(const std::string& path, const std::vector<std::string>& feature_names,
                      const std::string& label_column, const std::vector<std::string>& classes);
CsvRows csv_rows_from_text(const std::string& text, const std::string& source, const std::vector<std::string>& feature_names,
                           const std::string& label_column, const std::vector<std::string>& classes);

// True when `path` names a CSV file (ends in .csv, any case).
bool is_csv_path(const std::string& path);

}  // namespace xg
