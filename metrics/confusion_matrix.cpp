#include "metrics/confusion_matrix.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "core/tensor.hpp"

namespace xg {

namespace {

// Terminal columns taken by a UTF-8 string: one per code point (every byte
// that is not a continuation byte 10xxxxxx). Wide CJK glyphs count as one.
std::size_t display_width(const std::string& s) {
  std::size_t width = 0;
  for (unsigned char ch : s) width += (ch & 0xC0) != 0x80;
  return width;
}

// The first `width` code points of s.
std::string utf8_prefix(const std::string& s, std::size_t width) {
  std::size_t seen = 0, i = 0;
  for (; i < s.size(); ++i) {
    bool starts_code_point = (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
    if (starts_code_point && seen++ == width) break;
  }
  return s.substr(0, i);
}

std::string pad_left(const std::string& s, std::size_t width) {  // right-aligns s
  std::size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}

std::string pad_right(const std::string& s, std::size_t width) {  // left-aligns s
  std::size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// "Ankle boot" -> "Ankle b.", "T-shirt/top" -> "T-shirt."; names that fit are kept.
std::string abbreviate(const std::string& name, std::size_t max_width) {
  if (display_width(name) <= max_width) return name;
  std::string cut = utf8_prefix(name, max_width - 1);
  while (!cut.empty() && (cut.back() == ' ' || cut.back() == '/' || cut.back() == '-'))
    cut.pop_back();
  return cut + ".";
}

std::string fixed4(double x, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%*.4f", width, x);
  return buf;
}

double ratio(std::size_t num, std::size_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

constexpr std::size_t kHeaderMaxWidth = 8;  // predicted-class names in the header
constexpr const char* kGreenBold = "\x1b[1;32m";
constexpr const char* kRedBold = "\x1b[1;31m";
constexpr const char* kReset = "\x1b[0m";

}  // namespace

ConfusionMatrix::ConfusionMatrix(std::size_t num_classes)
    : num_classes_(num_classes), counts_(num_classes * num_classes, 0) {
  if (num_classes == 0)
    throw std::invalid_argument("ConfusionMatrix: num_classes must be at least 1");
}

void ConfusionMatrix::add(std::size_t truth, std::size_t predicted) {
  if (truth >= num_classes_)
    throw std::out_of_range("ConfusionMatrix::add: true class " + std::to_string(truth) +
                            " is out of range for " + std::to_string(num_classes_) +
                            " classes (valid: 0.." + std::to_string(num_classes_ - 1) + ")");
  if (predicted >= num_classes_)
    throw std::out_of_range("ConfusionMatrix::add: predicted class " + std::to_string(predicted) +
                            " is out of range for " + std::to_string(num_classes_) +
                            " classes (valid: 0.." + std::to_string(num_classes_ - 1) + ")");
  ++counts_[truth * num_classes_ + predicted];
}

// scores (rows, classes), truth (rows)
void ConfusionMatrix::add_batch(const float* scores, std::size_t rows, std::size_t classes,
                                const std::uint32_t* truth) {
  if (classes != num_classes_)
    throw std::invalid_argument("ConfusionMatrix::add_batch: scores have " +
                                std::to_string(classes) + " columns but the matrix has " +
                                std::to_string(num_classes_) + " classes");
  for (std::size_t r = 0; r < rows; ++r)  // validate first: a bad label counts nothing
    if (truth[r] >= num_classes_)
      throw std::out_of_range("ConfusionMatrix::add_batch: row " + std::to_string(r) +
                              " has true class " + std::to_string(truth[r]) +
                              ", out of range for " + std::to_string(num_classes_) + " classes");
  for (std::size_t r = 0; r < rows; ++r) {
    ++counts_[truth[r] * num_classes_ + argmax(scores + r * classes, classes)];
  }
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  if (other.num_classes_ != num_classes_)
    throw std::invalid_argument("ConfusionMatrix::merge: cannot merge a " +
                                std::to_string(other.num_classes_) + "-class matrix into a " +
                                std::to_string(num_classes_) + "-class one");
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
}

std::size_t ConfusionMatrix::num_classes() const { return num_classes_; }

std::size_t ConfusionMatrix::count(std::size_t truth, std::size_t predicted) const {
  if (truth >= num_classes_ || predicted >= num_classes_)
    throw std::out_of_range("ConfusionMatrix::count: cell (" + std::to_string(truth) + ", " +
                            std::to_string(predicted) + ") is out of range for " +
                            std::to_string(num_classes_) + " classes");
  return counts_[truth * num_classes_ + predicted];
}

std::size_t ConfusionMatrix::total() const {
  std::size_t sum = 0;
  for (std::size_t n : counts_) sum += n;
  return sum;
}

std::size_t ConfusionMatrix::row_sum(std::size_t c) const {
  std::size_t sum = 0;
  for (std::size_t p = 0; p < num_classes_; ++p) sum += counts_[c * num_classes_ + p];
  return sum;
}

std::size_t ConfusionMatrix::column_sum(std::size_t c) const {
  std::size_t sum = 0;
  for (std::size_t t = 0; t < num_classes_; ++t) sum += counts_[t * num_classes_ + c];
  return sum;
}

double ConfusionMatrix::accuracy() const {
  std::size_t correct = 0;
  for (std::size_t c = 0; c < num_classes_; ++c) correct += counts_[c * num_classes_ + c];
  return ratio(correct, total());
}

double ConfusionMatrix::precision(std::size_t c) const {
  std::size_t tp = count(c, c);  // checks c before column_sum reads with it
  return ratio(tp, column_sum(c));
}

double ConfusionMatrix::recall(std::size_t c) const {
  std::size_t tp = count(c, c);  // checks c before row_sum reads with it
  return ratio(tp, row_sum(c));
}

double ConfusionMatrix::f1(std::size_t c) const {
  double p = precision(c), r = recall(c);
  return p + r == 0.0 ? 0.0 : 2.0 * p * r / (p + r);
}

double ConfusionMatrix::macro_precision() const {
  double sum = 0;
  for (std::size_t c = 0; c < num_classes_; ++c) sum += precision(c);
  return sum / static_cast<double>(num_classes_);
}

double ConfusionMatrix::macro_recall() const {
  double sum = 0;
  for (std::size_t c = 0; c < num_classes_; ++c) sum += recall(c);
  return sum / static_cast<double>(num_classes_);
}

double ConfusionMatrix::macro_f1() const {
  double sum = 0;
  for (std::size_t c = 0; c < num_classes_; ++c) sum += f1(c);
  return sum / static_cast<double>(num_classes_);
}

namespace {
// sum_c support_c · metric(c) / total, 0 when there are no items.
template <typename Metric>
double support_weighted(const ConfusionMatrix& m, Metric metric) {
  double sum = 0.0;
  for (std::size_t c = 0; c < m.num_classes(); ++c) {
    std::size_t support = 0;
    for (std::size_t p = 0; p < m.num_classes(); ++p) support += m.count(c, p);
    sum += double(support) * metric(c);
  }
  return m.total() ? sum / double(m.total()) : 0.0;
}
}  // namespace

double ConfusionMatrix::weighted_precision() const {
  return support_weighted(*this, [&](std::size_t c) { return precision(c); });
}

double ConfusionMatrix::weighted_recall() const {
  return support_weighted(*this, [&](std::size_t c) { return recall(c); });
}

double ConfusionMatrix::weighted_f1() const {
  return support_weighted(*this, [&](std::size_t c) { return f1(c); });
}

std::vector<ConfusionMatrix::Confusion> ConfusionMatrix::most_confused(std::size_t n) const {
  std::vector<Confusion> cells;
  for (std::size_t t = 0; t < num_classes_; ++t)
    for (std::size_t p = 0; p < num_classes_; ++p)
      if (t != p && counts_[t * num_classes_ + p] > 0)
        cells.push_back({t, p, counts_[t * num_classes_ + p]});
  // cells are already in (truth, predicted) order, so a stable sort keeps that on ties
  std::stable_sort(cells.begin(), cells.end(),
                   [](const Confusion& a, const Confusion& b) { return a.count > b.count; });
  if (cells.size() > n) cells.resize(n);
  return cells;
}

void ConfusionMatrix::check_names(const std::vector<std::string>& names,
                                  const char* caller) const {
  if (names.size() != num_classes_)
    throw std::invalid_argument(std::string("ConfusionMatrix::") + caller + ": got " +
                                std::to_string(names.size()) + " class names for " +
                                std::to_string(num_classes_) + " classes");
}

std::string ConfusionMatrix::format_matrix(const std::vector<std::string>& names,
                                           bool highlight) const {
  check_names(names, "format_matrix");
  const std::size_t k = num_classes_;

  // Header names cut to 8 columns; if two cuts collide, number the classes.
  std::vector<std::string> headers(k), labels(names);
  for (std::size_t c = 0; c < k; ++c) headers[c] = abbreviate(names[c], kHeaderMaxWidth);
  if (std::set<std::string>(headers.begin(), headers.end()).size() != k) {
    for (std::size_t c = 0; c < k; ++c) {
      headers[c] = std::to_string(c);
      labels[c] = pad_left(std::to_string(c), std::to_string(k - 1).size()) + " " + names[c];
    }
  }

  const std::string corner = "true\\pred";
  std::size_t label_width = display_width(corner);
  for (const std::string& label : labels) label_width = std::max(label_width, display_width(label));

  // Each column is as wide as its header or its largest count.
  std::vector<std::size_t> widths(k);
  std::size_t largest_off_diagonal = 0;
  for (std::size_t p = 0; p < k; ++p) {
    widths[p] = display_width(headers[p]);
    for (std::size_t t = 0; t < k; ++t) {
      std::size_t n = counts_[t * k + p];
      widths[p] = std::max(widths[p], std::to_string(n).size());
      if (t != p) largest_off_diagonal = std::max(largest_off_diagonal, n);
    }
  }

  std::string out = pad_right(corner, label_width);
  for (std::size_t p = 0; p < k; ++p) out += "  " + pad_left(headers[p], widths[p]);
  out += '\n';
  for (std::size_t t = 0; t < k; ++t) {
    out += pad_right(labels[t], label_width);
    for (std::size_t p = 0; p < k; ++p) {
      std::size_t n = counts_[t * k + p];
      std::string cell = pad_left(std::to_string(n), widths[p]);  // pad first: escapes take no columns
      if (highlight && t == p)
        cell = kGreenBold + cell + kReset;
      else if (highlight && n > 0 && n == largest_off_diagonal)
        cell = kRedBold + cell + kReset;
      out += "  " + cell;
    }
    out += '\n';
  }
  return out;
}

std::string ConfusionMatrix::format_report(const std::vector<std::string>& names) const {
  check_names(names, "format_report");
  // Same layout as sklearn's classification_report(digits=4): right-aligned
  // names, then four columns of width 9 each preceded by one space.
  std::size_t name_width = std::string("weighted avg").size();
  for (const std::string& name : names) name_width = std::max(name_width, display_width(name));

  auto line = [&](const std::string& name, const std::string& p, const std::string& r,
                  const std::string& f, std::size_t support) {
    return pad_left(name, name_width) + "  " + pad_left(p, 9) + " " + pad_left(r, 9) + " " +
           pad_left(f, 9) + " " + pad_left(std::to_string(support), 9) + "\n";
  };

  std::string out = std::string(name_width, ' ') + "  " + pad_left("precision", 9) + " " +
                    pad_left("recall", 9) + " " + pad_left("f1-score", 9) + " " +
                    pad_left("support", 9) + "\n\n";
  for (std::size_t c = 0; c < num_classes_; ++c)
    out += line(names[c], fixed4(precision(c), 9), fixed4(recall(c), 9), fixed4(f1(c), 9),
                row_sum(c));
  out += "\n";
  out += line("accuracy", "", "", fixed4(accuracy(), 9), total());
  out += line("macro avg", fixed4(macro_precision(), 9), fixed4(macro_recall(), 9),
              fixed4(macro_f1(), 9), total());
  out += line("weighted avg", fixed4(weighted_precision(), 9), fixed4(weighted_recall(), 9),
              fixed4(weighted_f1(), 9), total());
  return out;
}

std::string ConfusionMatrix::format_most_confused(const std::vector<std::string>& names,
                                                  std::size_t n) const {
  check_names(names, "format_most_confused");
  std::vector<Confusion> cells = most_confused(n);
  if (cells.empty()) return "Most confused: none";
  std::string out = "Most confused: ";
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[cells[i].truth] + " -> " + names[cells[i].predicted] + " (" +
           std::to_string(cells[i].count) + ")";
  }
  return out;
}

}  // namespace xg
