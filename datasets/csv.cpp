#include "datasets/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <system_error>

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

// Parses a whole cell as a float; false if it is not a number.
bool parse_number(const std::string& cell, double& value) {
  if (cell.empty()) return false;
  errno = 0;
  char* end = nullptr;
  value = std::strtod(cell.c_str(), &end);
  return end == cell.c_str() + cell.size();
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

// Converts rows to features (every column but `label`) and label strings.
void convert(const CsvTable& t, std::size_t label, const std::string& source, std::vector<float>& x,
             std::vector<std::string>& labels) {
  const std::size_t columns = t.columns.size();
  x.reserve(t.rows.size() * (columns - 1));
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const std::vector<std::string>& row = t.rows[r];
    for (std::size_t c = 0; c < columns; ++c) {
      if (c == label) {
        if (row[c].empty()) fail_at(source, t.line_numbers[r], column_name(t, c) + ": the label is empty");
        labels.push_back(row[c]);
        continue;
      }
      double value = 0;
      if (row[c].empty()) fail_at(source, t.line_numbers[r], column_name(t, c) + ": empty cell, expected a number");
      if (!parse_number(row[c], value)) fail_at(source, t.line_numbers[r], column_name(t, c) + ": " + shown(row[c]) + " is not a number");
      if (!std::isfinite(value) || std::fabs(value) > 3.0e38) {
        fail_at(source, t.line_numbers[r], column_name(t, c) + ": " + shown(row[c]) + " is not a finite float32 number");
      }
      x.push_back(float(value));
    }
  }
}

bool is_small_integer(const std::string& s) {
  if (s.empty() || s.size() > 3) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& source) {
  CsvTable table;
  std::vector<std::vector<std::string>> rows;
  std::size_t pos = 0, line_number = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find('\0') != std::string::npos) fail_at(source, line_number, "holds a NUL byte; this is not a text CSV file");
    if (trim(line).empty()) continue;
    rows.push_back(split_line(line, source, line_number));
    table.line_numbers.push_back(line_number);
  }
  if (rows.empty()) throw InputError(source + ": empty file, expected CSV rows of numbers with a label column");

  // Header: a non-number in the first row where the second row has a number.
  if (rows.size() >= 2) {
    const std::vector<std::string>& first = rows[0];
    const std::vector<std::string>& second = rows[1];
    double v = 0;
    for (std::size_t c = 0; c < std::min(first.size(), second.size()) && !table.has_header; ++c) {
      if (!parse_number(first[c], v) && parse_number(second[c], v)) table.has_header = true;
    }
  }
  const std::size_t columns = rows[0].size();
  if (table.has_header) {
    table.columns = rows[0];
    for (std::size_t c = 0; c < columns; ++c) {
      if (table.columns[c].empty()) table.columns[c] = std::to_string(c + 1);
    }
    rows.erase(rows.begin());
    table.line_numbers.erase(table.line_numbers.begin());
  } else {
    for (std::size_t c = 0; c < columns; ++c) table.columns.push_back(std::to_string(c + 1));
  }
  if (rows.empty()) throw InputError(source + ": has a header but no data rows");
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != columns) {
      fail_at(source, table.line_numbers[r], "has " + std::to_string(rows[r].size()) + " cells, expected " +
                                                  std::to_string(columns) + " like the " +
                                                  (table.has_header ? std::string("header") : std::string("first row")));
    }
  }
  if (columns < 2) throw InputError(source + ": has 1 column; expected a label column and at least one feature column");
  table.rows = std::move(rows);
  return table;
}

CsvDataset csv_dataset_from_text(const std::string& train_text, const std::string& train_source,
                                 const std::string& test_text, const std::string& test_source,
                                 const CsvOptions& options) {
  if (!(options.test_split >= 0.0 && options.test_split < 1.0)) {
    throw InputError("--test-split must be in [0, 1), got " + std::to_string(options.test_split));
  }
  CsvDataset data;
  data.name = train_source;
  const CsvTable train_table = parse_csv(train_text, train_source);
  const std::size_t label = find_label_column(train_table, options.label_column, train_source);
  for (std::size_t c = 0; c < train_table.columns.size(); ++c)
    if (c != label) data.feature_names.push_back(train_table.columns[c]);
  const std::size_t features = data.feature_names.size();

  std::vector<float> x;
  std::vector<std::string> labels;
  convert(train_table, label, train_source, x, labels);

  // Classes: small integers keep their values, anything else is sorted by name.
  const bool numeric = std::all_of(labels.begin(), labels.end(), is_small_integer);
  std::map<std::string, std::uint32_t> class_of;
  if (numeric) {
    int largest = 0;
    for (const std::string& l : labels) largest = std::max(largest, std::atoi(l.c_str()));
    for (int c = 0; c <= largest; ++c) data.class_names.push_back(std::to_string(c));
  } else {
    data.class_names = labels;
    std::sort(data.class_names.begin(), data.class_names.end());
    data.class_names.erase(std::unique(data.class_names.begin(), data.class_names.end()), data.class_names.end());
  }
  for (std::size_t c = 0; c < data.class_names.size(); ++c) class_of[data.class_names[c]] = std::uint32_t(c);
  auto class_index = [&](const std::string& l) -> std::uint32_t {
    if (numeric && is_small_integer(l)) return std::uint32_t(std::atoi(l.c_str()));
    return class_of.at(l);
  };
  std::vector<std::uint32_t> y;
  for (const std::string& l : labels) y.push_back(class_index(l));
  {
    std::vector<std::uint32_t> distinct = y;
    std::sort(distinct.begin(), distinct.end());
    if (std::unique(distinct.begin(), distinct.end()) - distinct.begin() < 2) {
      throw InputError(train_source + ": " + column_name(train_table, label) + ": every row has the label " + shown(labels[0]) +
                       "; a classifier needs at least two classes (is --label-col right?)");
    }
  }

  auto take = [&](const std::vector<std::size_t>& rows, TabularSet& set) {
    set.count = rows.size();
    set.features = features;
    set.x.reserve(rows.size() * features);
    for (std::size_t r : rows) {
      set.x.insert(set.x.end(), x.begin() + std::ptrdiff_t(r * features), x.begin() + std::ptrdiff_t((r + 1) * features));
      set.labels.push_back(y[r]);
    }
  };

  if (!test_source.empty()) {
    std::vector<std::size_t> all(labels.size());
    std::iota(all.begin(), all.end(), std::size_t(0));
    take(all, data.train);
    const CsvTable test_table = parse_csv(test_text, test_source);
    if (test_table.columns.size() != train_table.columns.size()) {
      throw InputError(test_source + ": has " + std::to_string(test_table.columns.size()) + " columns but " + train_source +
                       " has " + std::to_string(train_table.columns.size()));
    }
    std::vector<float> test_x;
    std::vector<std::string> test_labels;
    convert(test_table, label, test_source, test_x, test_labels);
    data.test.count = test_labels.size();
    data.test.features = features;
    data.test.x = std::move(test_x);
    for (std::size_t r = 0; r < test_labels.size(); ++r) {
      const std::string& l = test_labels[r];
      const bool known = numeric ? is_small_integer(l) && std::size_t(std::atoi(l.c_str())) < data.class_names.size()
                                 : class_of.count(l) > 0;
      if (!known) {
        fail_at(test_source, test_table.line_numbers[r],
                column_name(test_table, label) + ": label " + shown(l) + " does not occur in " + train_source);
      }
      data.test.labels.push_back(class_index(l));
    }
  } else {
    // A seeded shuffle, then the last round(n * split) rows are the test split.
    std::vector<std::uint32_t> order(labels.size());
    std::iota(order.begin(), order.end(), 0u);
    Rng rng(options.seed);
    rng.shuffle(order);
    std::size_t test_count = std::size_t(std::llround(double(order.size()) * options.test_split));
    if (options.test_split > 0 && test_count == 0) test_count = 1;
    if (test_count >= order.size()) {
      throw InputError(train_source + ": " + std::to_string(order.size()) + " rows are too few for --test-split " +
                       std::to_string(options.test_split) + " (the training split would be empty)");
    }
    std::vector<std::size_t> train_rows(order.begin(), order.end() - std::ptrdiff_t(test_count));
    std::vector<std::size_t> test_rows(order.end() - std::ptrdiff_t(test_count), order.end());
    take(train_rows, data.train);
    take(test_rows, data.test);
  }

  // Standardisation from the training split only, in double precision.
  data.mean.assign(features, 0.0f);
  data.std.assign(features, 1.0f);
  for (std::size_t f = 0; f < features; ++f) {
    double sum = 0.0, squares = 0.0;
    for (std::size_t r = 0; r < data.train.count; ++r) sum += data.train.x[r * features + f];
    const double mean = sum / double(data.train.count);
    for (std::size_t r = 0; r < data.train.count; ++r) {
      const double d = data.train.x[r * features + f] - mean;
      squares += d * d;
    }
    const double stddev = std::sqrt(squares / double(data.train.count));
    data.mean[f] = float(mean);
    data.std[f] = stddev > 1e-12 && std::isfinite(stddev) ? float(stddev) : 1.0f;
  }
  return data;
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

CsvDataset load_csv_dataset(const std::string& path, const CsvOptions& options) {
  const std::string train_text = read_text_file(path);
  const std::string test_text = options.test_file.empty() ? std::string() : read_text_file(options.test_file);
  return csv_dataset_from_text(train_text, path, test_text, options.test_file, options);
}

bool is_csv_path(const std::string& path) {
  if (path.size() < 4) return false;
  std::string ext = path.substr(path.size() - 4);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".csv";
}

}  // namespace xg
