#include "datasets/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <system_error>
#include <utility>

#include "core/error.hpp"
#include "core/random.hpp"
#include "datasets/text_lines.hpp"

namespace xg {
namespace {

// A cell as it appears in messages: quoted, and cut if very long.
std::string shown(const std::string& cell) {
  if (cell.size() <= 40) return "'" + cell + "'";
  return "'" + cell.substr(0, 37) + "...'";
}

[[noreturn]] void fail_at(const std::string& source, std::size_t line, const std::string& what) {
  throw InputError(source + ":" + std::to_string(line) + ": " + what);
}

// The cell without the spaces and tabs around it.
std::string trim_blanks(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

// Appends a cell to a row, refusing the one beyond kMaxCsvColumns.
void add_cell(std::vector<std::string>& cells, const std::string& cell, const std::string& source, std::size_t line_number) {
  if (cells.size() == kMaxCsvColumns) {
    fail_at(source, line_number, "more than " + std::to_string(kMaxCsvColumns) + " columns");
  }
  cells.push_back(cell);
}

// Splits one line (without its line end) into cells.
std::vector<std::string> split_line(const std::string& line, const std::string& source, std::size_t line_number) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cell += c;
      }
    } else if (c == '"' && trim_blanks(cell).empty() && !was_quoted) {
      quoted = was_quoted = true;
      cell.clear();
    } else if (c == ',') {
      add_cell(cells, was_quoted ? cell : trim_blanks(cell), source, line_number);
      cell.clear();
      was_quoted = false;
    } else if (was_quoted) {
      if (c != ' ' && c != '\t') fail_at(source, line_number, "column " + std::to_string(cells.size() + 1) + ": text after a closing quote");
    } else {
      cell += c;
    }
  }
  if (quoted) fail_at(source, line_number, "column " + std::to_string(cells.size() + 1) + ": a quote is not closed (fields cannot span lines)");
  add_cell(cells, was_quoted ? cell : trim_blanks(cell), source, line_number);
  return cells;
}

// Parses a whole cell as a number (a leading '+' allowed); false if it is not
// one. A number too large for a double becomes ±infinity (refused later).
bool parse_number(const std::string& cell, double& value) {
  const char* first = cell.data();
  const char* last = first + cell.size();
  const bool negative = first != last && *first == '-';
  if (first != last && *first == '+') ++first;
  if (first == last) return false;
  const std::from_chars_result result = std::from_chars(first, last, value);
  if (result.ptr != last) return false;
  if (result.ec == std::errc::result_out_of_range) {
    value = negative ? -HUGE_VAL : HUGE_VAL;  // overflow; an underflow to 0 would be fine but reads as "too large" too
    return true;
  }
  return result.ec == std::errc();
}

std::string column_name(const CsvTable& t, std::size_t c) {
  return "column " + std::to_string(c + 1) + (t.has_header ? " " + shown(t.columns[c]) : "");
}

std::size_t find_label_column(const CsvTable& t, const std::string& spec, const std::string& source) {
  if (spec.empty()) return 0;
  for (std::size_t c = 0; t.has_header && c < t.columns.size(); ++c)
    if (t.columns[c] == spec) return c;
  double number = 0;
  if (parse_number(spec, number) && number >= 1 && number <= double(t.columns.size()) && number == std::floor(number)) {
    return std::size_t(number) - 1;
  }
  throw InputError("--label-col: " + shown(spec) + " is neither a column name of " + source + " nor a column number 1.." +
                   std::to_string(t.columns.size()));
}

// An integer label in its plain form ("+07" -> "7", "-0" -> "0"), or "" when
// `label` is not an integer of at most 18 digits.
std::string plain_integer(const std::string& label) {
  const std::size_t digits = label.find_first_not_of("+-");  // one sign at most
  if (digits > 1 || digits == std::string::npos) return "";
  if (label.find_first_not_of("0123456789", digits) != std::string::npos) return "";
  const std::size_t first = std::min(label.find_first_not_of('0', digits), label.size() - 1);
  if (label.size() - first > 18) return "";
  const std::string magnitude = label.substr(first);
  return (label[0] == '-' && magnitude != "0" ? "-" : "") + magnitude;
}

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t") == std::string::npos; }

// The next line of `lines` that is not blank; false at the end.
bool next_row(LineReader& lines, std::string& line) {
  while (lines.next(line))
    if (!is_blank(line)) return true;
  return false;
}

// Adds the row `cells` (line `number`) to `t`: the label cell as a class name,
// every other cell as a number.
void add_row(CsvTable& t, const std::vector<std::string>& cells, std::size_t number, const std::string& source,
             std::map<std::string, std::uint32_t>& label_ids) {
  if (cells.size() != t.columns.size()) {
    fail_at(source, number, "has " + std::to_string(cells.size()) + " cells, expected " + std::to_string(t.columns.size()) +
                                " like the " + (t.has_header ? "header" : "first row"));
  }
  for (std::size_t c = 0; c < cells.size(); ++c) {
    const std::string& cell = cells[c];
    if (c == t.label) {
      if (cell.empty()) fail_at(source, number, column_name(t, c) + ": the label is empty");
      if (cell.size() > kMaxClassNameBytes) {
        fail_at(source, number, column_name(t, c) + ": a label of " + std::to_string(cell.size()) + " bytes; a class name has at most " +
                                    std::to_string(kMaxClassNameBytes) + " (is --label-col right?)");
      }
      const std::string integer = plain_integer(cell);
      const std::string& name = integer.empty() ? cell : integer;
      auto it = label_ids.find(name);
      if (it == label_ids.end()) {
        if (t.label_names.size() == kMaxClasses) {
          fail_at(source, number, column_name(t, c) + ": label " + shown(cell) + " is one more than the " +
                                      std::to_string(kMaxClasses) + " classes xgrad handles (is --label-col right?)");
        }
        it = label_ids.emplace(name, std::uint32_t(t.label_names.size())).first;
        t.label_names.push_back(name);
      }
      t.label_ids.push_back(it->second);
      continue;
    }
    double value = 0;
    if (cell.empty()) fail_at(source, number, column_name(t, c) + ": empty cell, expected a number");
    if (!parse_number(cell, value)) fail_at(source, number, column_name(t, c) + ": " + shown(cell) + " is not a number");
    if (!std::isfinite(value) || std::fabs(value) > 3.0e38) {
      fail_at(source, number, column_name(t, c) + ": " + shown(cell) + " is not a finite float32 number");
    }
    t.values.push_back(float(value));
  }
  t.line_numbers.push_back(number);
}

}  // namespace

CsvTable parse_csv(std::istream& in, const std::string& source,
                   const std::function<std::size_t(const CsvTable&)>& choose_label) {
  LineReader lines(in, source, kMaxCsvLineBytes);
  std::string line;
  // The first two rows decide the header: a non-number in the first row where the second row has a number.
  if (!next_row(lines, line)) throw InputError(source + ": empty file, expected CSV rows of numbers with a label column");
  const std::size_t first_number = lines.line_number();
  const std::vector<std::string> first = split_line(line, source, first_number);
  CsvTable table;
  table.first_line = line;
  std::vector<std::string> second;
  std::size_t second_number = 0;
  if (next_row(lines, line)) {
    second_number = lines.line_number();
    second = split_line(line, source, second_number);
  }
  double v = 0;
  for (std::size_t c = 0; c < std::min(first.size(), second.size()) && !table.has_header; ++c) {
    if (!parse_number(first[c], v) && parse_number(second[c], v)) table.has_header = true;
  }
  for (std::size_t c = 0; c < first.size(); ++c) {
    const bool named = table.has_header && !first[c].empty();
    table.columns.push_back(named ? first[c] : std::to_string(c + 1));
  }
  table.label = choose_label(table);

  // Then every data row, converted as it is read.
  std::map<std::string, std::uint32_t> label_ids;  // label_names -> index
  if (!table.has_header) add_row(table, first, first_number, source, label_ids);
  if (second_number) add_row(table, second, second_number, source, label_ids);
  while (next_row(lines, line)) add_row(table, split_line(line, source, lines.line_number()), lines.line_number(), source, label_ids);
  if (table.rows() == 0) throw InputError(source + ": has a header but no data rows");
  return table;
}

CsvTable parse_csv(const std::string& text, const std::string& source,
                   const std::function<std::size_t(const CsvTable&)>& choose_label) {
  std::istringstream in(text);
  return parse_csv(in, source, choose_label);
}

namespace {

// The class index of each row's label: the label's position in `classes`.
// `where` says whose classes they are, for the message about a label that is
// not one of them.
std::vector<std::uint32_t> class_indices(const CsvTable& t, const std::vector<std::string>& classes,
                                         const std::string& source, const std::string& where) {
  std::map<std::string, std::uint32_t> class_of;
  for (std::size_t c = 0; c < classes.size(); ++c) class_of.emplace(classes[c], std::uint32_t(c));
  constexpr std::uint32_t kMissing = ~std::uint32_t(0);
  std::vector<std::uint32_t> class_of_label(t.label_names.size(), kMissing);
  for (std::size_t l = 0; l < t.label_names.size(); ++l) {
    const auto it = class_of.find(t.label_names[l]);
    if (it != class_of.end()) class_of_label[l] = it->second;
  }
  std::vector<std::uint32_t> y;
  y.reserve(t.rows());
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const std::uint32_t label = t.label_ids[r];
    if (class_of_label[label] == kMissing) {
      fail_at(source, t.line_numbers[r], column_name(t, t.label) + ": label " + shown(t.label_names[label]) + " does not occur " + where);
    }
    y.push_back(class_of_label[label]);
  }
  return y;
}

// The classes of a training file: its distinct labels, sorted; by value when
// every label is an integer (so "2" comes before "10").
std::vector<std::string> infer_classes(const std::vector<std::string>& label_names) {
  std::vector<std::string> classes = label_names;
  if (std::all_of(classes.begin(), classes.end(), [](const std::string& l) { return !plain_integer(l).empty(); })) {
    std::sort(classes.begin(), classes.end(),
              [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
  } else {
    std::sort(classes.begin(), classes.end());
  }
  return classes;
}

// The rows of `t` as a table split (its values moved out of `t`), with the
// labels' class indices in `classes` (no label column: all 0).
Split to_split(CsvTable& t, const std::string& source, const std::vector<std::string>& classes, const std::string& where) {
  Split set;
  set.count = t.rows();
  set.shape = {t.label == kNoLabel ? t.columns.size() : t.columns.size() - 1};
  set.values = std::move(t.values);
  if (t.label == kNoLabel) set.labels.assign(set.count, 0);
  else set.labels = class_indices(t, classes, source, where);
  return set;
}

// A second file (a test file, or data for a trained model) must have the same columns.
void check_same_columns(const CsvTable& t, const std::string& source, const std::vector<std::string>& columns,
                        bool has_header, const std::string& reference) {
  if (t.columns.size() != columns.size()) {
    throw InputError(source + ": has " + std::to_string(t.columns.size()) + " columns but " + reference + " has " +
                     std::to_string(columns.size()));
  }
  if (!t.has_header || !has_header) return;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (t.columns[c] != columns[c]) {
      throw InputError(source + ": column " + std::to_string(c + 1) + " is " + shown(t.columns[c]) + " but in " + reference +
                       " it is " + shown(columns[c]));
    }
  }
}

// Feature names that are all numbers are positions: the model's training file
// had no header, so there are no names to compare.
bool has_feature_names(const std::vector<std::string>& features) {
  double number = 0;
  return !std::all_of(features.begin(), features.end(), [&](const std::string& name) { return parse_number(name, number); });
}

// `t`, whose label column is `label`, must have a model's feature columns
// around it: the same count and, with names on both sides, the same names.
void check_model_features(const CsvTable& t, std::size_t label, const std::vector<std::string>& features,
                          const std::string& source) {
  if (t.columns.size() != features.size() + 1) {
    throw InputError(source + ": has " + std::to_string(t.columns.size() - 1) + " feature columns but the model takes " +
                     std::to_string(features.size()));
  }
  std::vector<std::string> columns;  // the model's, with t's label column where t has it
  for (std::size_t c = 0, f = 0; c < t.columns.size(); ++c) columns.push_back(c == label ? t.columns[c] : features[f++]);
  check_same_columns(t, source, columns, has_feature_names(features), "the model's training file");
}

// For a file read as one column: "" or a hint naming the delimiter its first line seems to use.
std::string delimiter_hint(const CsvTable& t) {
  const std::string& first_line = t.first_line;
  for (const auto& [delimiter, name] : {std::pair<char, const char*>{';', "';'"}, {'\t', "tab"}}) {
    if (first_line.find(delimiter) != std::string::npos) {
      return std::string(" (it looks ") + name + "-separated; xgrad reads comma-separated CSV only: save it with commas)";
    }
  }
  return "";
}


// The data set of a training file and, when `test_in` is given, a test file.
Dataset csv_dataset(std::istream& train_in, const std::string& train_source, std::istream* test_in,
                    const std::string& test_source, const CsvOptions& options) {
  if (!(options.test_split >= 0.0 && options.test_split < 1.0)) {
    throw InputError("--test-split must be in [0, 1), got " + std::to_string(options.test_split));
  }
  Dataset data;
  data.name = data.source = train_source;
  CsvTable train_table = parse_csv(train_in, train_source, [&](const CsvTable& t) {
    if (t.columns.size() < 2) {
      throw InputError(train_source + ": has 1 column; expected a label column and at least one feature column" +
                       delimiter_hint(t));
    }
    const std::size_t label = find_label_column(t, options.label_column, train_source);
    if (!options.features.empty()) check_model_features(t, label, options.features, train_source);
    return label;
  });
  const std::size_t label = train_table.label;
  for (std::size_t c = 0; c < train_table.columns.size(); ++c)
    if (c != label) data.feature_names.push_back(train_table.columns[c]);

  if (options.classes.empty() && train_table.label_names.size() < 2) {
    throw InputError(train_source + ": " + column_name(train_table, label) + ": every row has the label " +
                     shown(train_table.label_names.front()) + "; a classifier needs at least two classes (is --label-col right?)");
  }
  data.class_names = options.classes.empty() ? infer_classes(train_table.label_names) : options.classes;
  Split all = to_split(train_table, train_source, data.class_names,
                       options.classes.empty() ? "in " + train_source : "among the model's classes");

  if (test_in) {
    CsvTable test_table = parse_csv(*test_in, test_source, [&](const CsvTable& t) {
      check_same_columns(t, test_source, train_table.columns, train_table.has_header, train_source);
      return label;
    });
    data.test = to_split(test_table, test_source, data.class_names,
                         options.classes.empty() ? "in " + train_source : "among the model's classes");
    data.train = std::move(all);
    return data;
  }
  // A seeded shuffle picks the test rows: the last round(n * split) of the shuffled order.
  std::vector<std::uint32_t> order(all.count);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(options.seed);
  rng.shuffle(order);
  std::size_t test_count = std::size_t(std::llround(double(order.size()) * options.test_split));
  if (options.test_split > 0 && test_count == 0) test_count = 1;
  if (test_count >= order.size()) {
    throw InputError(train_source + ": " + std::to_string(order.size()) + " rows are too few for --test-split " +
                     std::to_string(options.test_split) + " (the training split would be empty)");
  }
  // Each split keeps the file's order, so test item N is the N-th held-out row of the file.
  const auto cut = order.end() - std::ptrdiff_t(test_count);
  std::vector<std::uint32_t> train_rows(order.begin(), cut), test_rows(cut, order.end());
  std::sort(train_rows.begin(), train_rows.end());
  std::sort(test_rows.begin(), test_rows.end());
  data.train = select(all, train_rows);
  data.test = select(all, test_rows);
  return data;
}

CsvRows csv_rows(std::istream& in, const std::string& source, const std::vector<std::string>& feature_names,
                 const std::string& label_column, const std::vector<std::string>& classes) {
  const std::size_t features = feature_names.size();
  CsvTable t = parse_csv(in, source, [&](const CsvTable& header) {
    if (header.columns.size() == features) {  // no label column: every cell is a feature
      check_same_columns(header, source, feature_names, has_feature_names(feature_names), "the model's features");
      return kNoLabel;
    }
    if (header.columns.size() != features + 1) {
      throw InputError(source + ": has " + std::to_string(header.columns.size()) + " columns; the model takes " +
                       std::to_string(features) + " features (with or without the label column)" +
                       (header.columns.size() == 1 ? delimiter_hint(header) : std::string()));
    }
    const std::size_t label = find_label_column(header, label_column, source);
    check_model_features(header, label, feature_names, source);
    return label;
  });
  CsvRows rows;
  rows.labelled = t.label != kNoLabel;
  rows.line_numbers = t.line_numbers;
  rows.items = to_split(t, source, classes, "among the model's classes");
  return rows;
}

// `path`, opened after checking that it is a regular file of at most kMaxCsvBytes.
std::ifstream open_csv_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw InputError(path + ": file does not exist");
  if (!fs::is_regular_file(status)) throw InputError(path + ": not a regular file, expected a CSV file");
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) throw InputError(path + ": cannot read the file size: " + ec.message());
  if (size > kMaxCsvBytes) throw InputError(path + ": " + std::to_string(size) + " bytes is larger than the 1 GiB CSV limit");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading");
  return in;
}

}  // namespace

Dataset csv_dataset_from_text(const std::string& train_text, const std::string& train_source,
                              const std::string& test_text, const std::string& test_source, const CsvOptions& options) {
  std::istringstream train_in(train_text), test_in(test_text);
  return csv_dataset(train_in, train_source, test_source.empty() ? nullptr : &test_in, test_source, options);
}

Dataset load_csv_dataset(const std::string& path, const CsvOptions& options) {
  std::ifstream train_in = open_csv_file(path);
  if (options.test_file.empty()) return csv_dataset(train_in, path, nullptr, "", options);
  std::ifstream test_in = open_csv_file(options.test_file);
  return csv_dataset(train_in, path, &test_in, options.test_file, options);
}

CsvRows csv_rows_from_text(const std::string& text, const std::string& source, const std::vector<std::string>& feature_names,
                           const std::string& label_column, const std::vector<std::string>& classes) {
  std::istringstream in(text);
  return csv_rows(in, source, feature_names, label_column, classes);
}

CsvRows load_csv_rows(const std::string& path, const std::vector<std::string>& feature_names,
                      const std::string& label_column, const std::vector<std::string>& classes) {
  std::ifstream in = open_csv_file(path);
  return csv_rows(in, path, feature_names, label_column, classes);
}

bool is_csv_path(const std::string& path) {
  if (path.size() < 4) return false;
  std::string ext = path.substr(path.size() - 4);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".csv";
}

}  // namespace xg
