#pragma once
// Confusion matrix for a K-class classifier, and the metrics read off it.
//
//   counts (K,K), row-major: rows = true class, columns = predicted class.
//
// For class c:  tp = counts[c][c]
//               fp = column c minus tp   (predicted c, was something else)
//               fn = row c minus tp      (was c, predicted something else)
//   precision = tp / (tp + fp)     recall = tp / (tp + fn)
//   f1        = 2 p r / (p + r)  = 2 tp / (2 tp + fp + fn)
// A ratio whose denominator is zero is 0, as sklearn does with
// zero_division=0 (it also warns; we do not). Macro averages are the
// unweighted means over all K classes, including classes with no items;
// weighted averages weight each class by its support (its row's count), as
// sklearn's average="weighted": sum_c support_c · metric_c / total.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

class ConfusionMatrix {
 public:
  // Throws std::invalid_argument when num_classes is 0.
  explicit ConfusionMatrix(std::size_t num_classes);

  // Counts one item. Throws std::out_of_range naming the class index when
  // truth or predicted is >= num_classes().
  void add(std::size_t truth, std::size_t predicted);

  // scores is (rows, classes) row-major logits or probabilities; truth has
  // `rows` labels. predicted = argmax of the row, the first maximum on ties
  // (a NaN score never wins the comparison). Throws std::invalid_argument
  // when classes != num_classes(), std::out_of_range for a bad label; on a
  // throw nothing of the batch has been counted.
  void add_batch(const float* scores, std::size_t rows, std::size_t classes,
                 const std::uint32_t* truth);

  // Adds other's counts (e.g. one matrix per evaluation shard). Throws
  // std::invalid_argument when the class counts differ.
  void merge(const ConfusionMatrix& other);

  std::size_t num_classes() const;
  std::size_t count(std::size_t truth, std::size_t predicted) const;
  std::size_t total() const;

  double accuracy() const;                // trace / total, 0 when empty
  double precision(std::size_t c) const;  // tp/(tp+fp), 0 when no predictions of c
  double recall(std::size_t c) const;     // tp/(tp+fn), 0 when no items of c
  double f1(std::size_t c) const;         // harmonic mean, 0 when p+r == 0
  double macro_precision() const;
  double macro_recall() const;
  double macro_f1() const;
  double weighted_precision() const;  // 0 when empty
  double weighted_recall() const;     // equals accuracy() (sum_c tp_c / total)
  double weighted_f1() const;

  struct Confusion {
    std::size_t truth, predicted, count;
  };
  // The n largest off-diagonal cells with count > 0, largest first, ties
  // broken by (truth, predicted) ascending.
  std::vector<Confusion> most_confused(std::size_t n) const;

  // Text for the terminal. Every `names` argument must have num_classes()
  // entries (std::invalid_argument otherwise).
  //
  // format_matrix: one row per true class (full name, left-aligned), one
  // right-aligned column per predicted class, headed by its name cut to at
  // most 8 characters ("Ankle b."); when two cut names would collide, the
  // columns are numbered instead and each row name gets its number. With
  // `highlight` (stdout is a terminal) the diagonal is green bold and the
  // largest off-diagonal cell(s) red; without it there are no escape codes.
  // Every line has the same display width.
  std::string format_matrix(const std::vector<std::string>& names,
                            bool highlight = false) const;

  // sklearn's classification_report(digits=4), same layout: per-class
  // precision, recall, F1 and support, then the accuracy, the macro averages
  // and the support-weighted averages.
  std::string format_report(const std::vector<std::string>& names) const;

  // "Most confused: Shirt -> T-shirt/top (123), Pullover -> Coat (98)" for
  // the top n cells of most_confused(n); "Most confused: none" when there are
  // no errors.
  std::string format_most_confused(const std::vector<std::string>& names,
                                   std::size_t n) const;

 private:
  std::size_t row_sum(std::size_t c) const;
  std::size_t column_sum(std::size_t c) const;
  void check_names(const std::vector<std::string>& names, const char* caller) const;

  std::size_t num_classes_;
  std::vector<std::size_t> counts_;  // (num_classes_, num_classes_), row-major
};

}  // namespace xg
