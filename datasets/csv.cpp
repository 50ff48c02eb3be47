#include "datasets/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <system_error>
#include <utility>

#include "core/error.hpp"
#include "core/random.hpp"

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

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
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
    } else if (c == '"' && trim(cell).empty() && !was_quoted) {
      quoted = was_quoted = true;
      cell.clear();
    } else if (c == ',') {
      cells.push_back(was_quoted ? cell : trim(cell));
      if (cells.size() > kMaxCsvColumns) fail_at(source, line_number, "more than 100000 columns");
      cell.clear();
      was_quoted = false;
    } else if (was_quoted) {
      if (c != ' ' && c != '\t') fail_at(source, line_number, "column " + std::to_string(cells.size() + 1) + ": text after a closing quote");
    } else {
      cell += c;
    }
  }
  if (quoted) fail_at(source, line_number, "column " + std::to_string(cells.size() + 1) + ": a quote is not closed (fields cannot span lines)");
  cells.push_back(was_quoted ? cell : trim(cell));
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

bool is_small_integer(const std::string& s) {
  if (s.empty() || s.size() > 3) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

namespace {

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t") == std::string::npos; }

// Calls f(line, line_number) for each non-blank line (its line end removed)
// until f returns false.
template <class F>
void for_each_line(const std::string& text, const std::string& source, F&& f) {
  std::size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0, line_number = 0;
  std::string line;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    line.assign(text, pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find('\0') != std::string::npos) fail_at(source, line_number, "holds a NUL byte; this is not a text CSV file");
    if (is_blank(line)) continue;
    if (!f(line, line_number)) return;
  }
}

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& source,
                   const std::function<std::size_t(const CsvTable&)>& choose_label) {
  // The first two rows decide the header: a non-number in the first row where the second row has a number.
  std::vector<std::vector<std::string>> first_rows;
  for_each_line(text, source, [&](const std::string& line, std::size_t number) {
    first_rows.push_back(split_line(line, source, number));
    return first_rows.size() < 2;
  });
  if (first_rows.empty()) throw InputError(source + ": empty file, expected CSV rows of numbers with a label column");
  CsvTable table;
  if (first_rows.size() == 2) {
    double v = 0;
    const std::vector<std::string>& first = first_rows[0];
    const std::vector<std::string>& second = first_rows[1];
    for (std::size_t c = 0; c < std::min(first.size(), second.size()) && !table.has_header; ++c) {
      if (!parse_number(first[c], v) && parse_number(second[c], v)) table.has_header = true;
    }
  }
  const std::size_t columns = first_rows[0].size();
  for (std::size_t c = 0; c < columns; ++c) {
    const bool named = table.has_header && !first_rows[0][c].empty();
    table.columns.push_back(named ? first_rows[0][c] : std::to_string(c + 1));
  }
  table.label = choose_label(table);

  // Then every data row, converted as it is read: the label cell kept as text, the others as numbers.
  const char* like = table.has_header ? "header" : "first row";
  bool header_skipped = !table.has_header;
  std::vector<std::string> cells;
  for_each_line(text, source, [&](const std::string& line, std::size_t number) {
    if (!header_skipped) return header_skipped = true;
    cells = split_line(line, source, number);
    if (cells.size() != columns) {
      fail_at(source, number, "has " + std::to_string(cells.size()) + " cells, expected " + std::to_string(columns) +
                                  " like the " + like);
    }
    for (std::size_t c = 0; c < columns; ++c) {
      const std::string& cell = cells[c];
      if (c == table.label) {
        if (cell.empty()) fail_at(source, number, column_name(table, c) + ": the label is empty");
        table.labels.push_back(cell);
        continue;
      }
      double value = 0;
      if (cell.empty()) fail_at(source, number, column_name(table, c) + ": empty cell, expected a number");
      if (!parse_number(cell, value)) fail_at(source, number, column_name(table, c) + ": " + shown(cell) + " is not a number");
      if (!std::isfinite(value) || std::fabs(value) > 3.0e38) {
        fail_at(source, number, column_name(table, c) + ": " + shown(cell) + " is not a finite float32 number");
      }
      table.values.push_back(float(value));
    }
    table.line_numbers.push_back(number);
    return true;
  });
  if (table.rows() == 0) throw InputError(source + ": has a header but no data rows");
  return table;
}

namespace {

// The class index of each label: its position in `classes` (a small integer
// like "07" also matches the class "7"). `where` says whose classes they are,
// for the message about a label that is not one of them.
std::vector<std::uint32_t> class_indices(const CsvTable& t, const std::vector<std::string>& classes,
                                         const std::string& source, const std::string& where) {
  const std::vector<std::string>& labels = t.labels;
  std::map<std::string, std::uint32_t> class_of;
  for (std::size_t c = 0; c < classes.size(); ++c) class_of.emplace(classes[c], std::uint32_t(c));
  std::vector<std::uint32_t> y;
  y.reserve(labels.size());
  for (std::size_t r = 0; r < labels.size(); ++r) {
    auto it = class_of.find(labels[r]);
    if (it == class_of.end() && is_small_integer(labels[r])) it = class_of.find(std::to_string(std::atoi(labels[r].c_str())));
    if (it == class_of.end()) {
      fail_at(source, t.line_numbers[r], column_name(t, t.label) + ": label " + shown(labels[r]) + " does not occur " + where);
    }
    y.push_back(it->second);
  }
  return y;
}

// The classes of a training file: "0".."max" when every label is an integer
// 0..999, otherwise the distinct labels, sorted.
std::vector<std::string> infer_classes(const std::vector<std::string>& labels) {
  std::vector<std::string> classes;
  if (std::all_of(labels.begin(), labels.end(), is_small_integer)) {
    int largest = 0;
    for (const std::string& l : labels) largest = std::max(largest, std::atoi(l.c_str()));
    for (int c = 0; c <= largest; ++c) classes.push_back(std::to_string(c));
  } else {
    classes = labels;
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
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
std::string delimiter_hint(const std::string& text) {
  const std::string first_line = text.substr(0, text.find('\n'));
  for (const auto& [delimiter, name] : {std::pair<char, const char*>{';', "';'"}, {'\t', "tab"}}) {
    if (first_line.find(delimiter) != std::string::npos) {
      return std::string(" (it looks ") + name + "-separated; xgrad reads comma-separated CSV only: save it with commas)";
    }
  }
  return "";
}

}  // namespace

Dataset csv_dataset_from_text(const std::string& train_text, const std::string& train_source,
                              const std::string& test_text, const std::string& test_source, const CsvOptions& options) {
  if (!(options.test_split >= 0.0 && options.test_split < 1.0)) {
    throw InputError("--test-split must be in [0, 1), got " + std::to_string(options.test_split));
  }
  Dataset data;
  data.name = data.source = train_source;
  CsvTable train_table = parse_csv(train_text, train_source, [&](const CsvTable& t) {
    if (t.columns.size() < 2) {
      throw InputError(train_source + ": has 1 column; expected a label column and at least one feature column" +
                       delimiter_hint(train_text));
    }
    const std::size_t label = find_label_column(t, options.label_column, train_source);
    if (!options.features.empty()) check_model_features(t, label, options.features, train_source);
    return label;
  });
  const std::size_t label = train_table.label;
  for (std::size_t c = 0; c < train_table.columns.size(); ++c)
    if (c != label) data.feature_names.push_back(train_table.columns[c]);

  data.class_names = options.classes.empty() ? infer_classes(train_table.labels) : options.classes;
  const std::string first_label = train_table.labels.front();
  Split all = to_split(train_table, train_source, data.class_names,
                       options.classes.empty() ? "in " + train_source : "among the model's classes");
  if (options.classes.empty() &&
      std::all_of(all.labels.begin(), all.labels.end(), [&](std::uint32_t y) { return y == all.labels[0]; })) {
    throw InputError(train_source + ": " + column_name(train_table, label) + ": every row has the label " + shown(first_label) +
                     "; a classifier needs at least two classes (is --label-col right?)");
  }

  if (!test_source.empty()) {
    CsvTable test_table = parse_csv(test_text, test_source, [&](const CsvTable& t) {
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

CsvRows csv_rows_from_text(const std::string& text, const std::string& source, const std::vector<std::string>& feature_names,
                           const std::string& label_column, const std::vector<std::string>& classes) {
  const std::size_t features = feature_names.size();
  CsvTable t = parse_csv(text, source, [&](const CsvTable& header) {
    if (header.columns.size() == features) {  // no label column: every cell is a feature
      check_same_columns(header, source, feature_names, has_feature_names(feature_names), "the model's features");
      return kNoLabel;
    }
    if (header.columns.size() != features + 1) {
      throw InputError(source + ": has " + std::to_string(header.columns.size()) + " columns; the model takes " +
                       std::to_string(features) + " features (with or without the label column)" +
                       (header.columns.size() == 1 ? delimiter_hint(text) : std::string()));
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

namespace {
std::string read_text_file(const std::string& path) {
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
  std::string text(std::size_t(size), '\0');
  in.read(text.data(), std::streamsize(size));
  if (std::uint64_t(in.gcount()) != size) throw InputError(path + ": read error");
  return text;
}
}  // namespace

Dataset load_csv_dataset(const std::string& path, const CsvOptions& options) {
  const std::string train_text = read_text_file(path);
  const std::string test_text = options.test_file.empty() ? std::string() : read_text_file(options.test_file);
  return csv_dataset_from_text(train_text, path, test_text, options.test_file, options);
}

CsvRows load_csv_rows(const std::string& path, const std::vector<std::string>& feature_names,
                      const std::string& label_column, const std::vector<std::string>& classes) {
  return csv_rows_from_text(read_text_file(path), path, feature_names, label_column, classes);
}

bool is_csv_path(const std::string& path) {
  if (path.size() < 4) return false;
  std::string ext = path.substr(path.size() - 4);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".csv";
}

}  // namespace xg
