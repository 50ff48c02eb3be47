// ConfusionMatrix: every metric against fractions worked out by hand, and the
// terminal formatting (alignment, escape codes).
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "metrics/confusion_matrix.hpp"

namespace {

// Builds a matrix with cells[t][p] items of true class t predicted as p.
xg::ConfusionMatrix from_cells(const std::vector<std::vector<std::size_t>>& cells) {
  xg::ConfusionMatrix cm(cells.size());
  for (std::size_t t = 0; t < cells.size(); ++t)
    for (std::size_t p = 0; p < cells[t].size(); ++p)
      for (std::size_t i = 0; i < cells[t][p]; ++i) cm.add(t, p);
  return cm;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

// `s` without its ANSI colour codes (ESC [ digits and ';' m). (No std::regex: GCC 12
// warns inside <regex> in the sanitizer build, and CI builds with -Werror.)
std::string strip_ansi(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      std::size_t end = i + 2;
      while (end < s.size() && (std::isdigit(static_cast<unsigned char>(s[end])) || s[end] == ';')) ++end;
      if (end < s.size() && s[end] == 'm') {
        i = end;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// True when `s` holds `code`, then spaces, then `number` followed by the reset code ESC [0m.
bool has_coloured(const std::string& s, const std::string& code, const std::string& number) {
  for (std::size_t at = s.find(code); at != std::string::npos; at = s.find(code, at + 1)) {
    std::size_t i = at + code.size();
    while (i < s.size() && s[i] == ' ') ++i;
    if (s.compare(i, number.size() + 4, number + "\x1b[0m") == 0) return true;
  }
  return false;
}

const std::vector<std::string> kFashion = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                           "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                           "Bag",         "Ankle boot"};

// A plausible Fashion-MNIST test-set matrix (1000 items per class), with one
// 6-digit cell to stretch a column.
xg::ConfusionMatrix fake_fashion() {
  const std::vector<std::vector<std::size_t>> cells = {
      {850, 1, 15, 30, 4, 1, 92, 0, 7, 0},     {3, 962, 2, 24, 5, 0, 3, 0, 1, 0},
      {17, 1, 802, 11, 98, 0, 68, 0, 3, 0},    {26, 9, 12, 884, 35, 0, 30, 0, 4, 0},
      {1, 1, 87, 32, 830, 0, 47, 0, 2, 0},     {0, 0, 0, 1, 0, 951, 0, 32, 2, 14},
      {123, 2, 94, 28, 76, 0, 664, 0, 13, 0},  {0, 0, 0, 0, 0, 19, 0, 955, 0, 26},
      {4, 1, 3, 6, 2, 3, 6, 4, 971, 0},        {0, 0, 0, 0, 0, 7, 1, 39, 0, 953}};
  xg::ConfusionMatrix cm = from_cells(cells);
  for (int i = 0; i < 123456; ++i) cm.add(8, 8);  // Bag column needs 6 digits
  return cm;
}

}  // namespace

TEST_CASE("ConfusionMatrix: counts, total and every metric for a 3-class case") {
  //            pred 0  1  2    row sum
  //  true 0      5   1  0      6
  //  true 1      2   3  1      6
  //  true 2      0   2  4      6
  //  col sum     7   6  5     18, trace 12
  xg::ConfusionMatrix cm = from_cells({{5, 1, 0}, {2, 3, 1}, {0, 2, 4}});
  CHECK(cm.num_classes() == 3);
  CHECK(cm.count(0, 0) == 5);
  CHECK(cm.count(1, 0) == 2);
  CHECK(cm.count(2, 1) == 2);
  CHECK(cm.count(0, 2) == 0);
  CHECK(cm.total() == 18);
  CHECK(cm.accuracy() == doctest::Approx(12.0 / 18.0));

  CHECK(cm.precision(0) == doctest::Approx(5.0 / 7.0));
  CHECK(cm.precision(1) == doctest::Approx(3.0 / 6.0));
  CHECK(cm.precision(2) == doctest::Approx(4.0 / 5.0));
  CHECK(cm.recall(0) == doctest::Approx(5.0 / 6.0));
  CHECK(cm.recall(1) == doctest::Approx(3.0 / 6.0));
  CHECK(cm.recall(2) == doctest::Approx(4.0 / 6.0));
  // f1 = 2tp / (2tp + fp + fn)
  CHECK(cm.f1(0) == doctest::Approx(10.0 / 13.0));
  CHECK(cm.f1(1) == doctest::Approx(6.0 / 12.0));
  CHECK(cm.f1(2) == doctest::Approx(8.0 / 11.0));

  CHECK(cm.macro_precision() == doctest::Approx((5.0 / 7.0 + 0.5 + 0.8) / 3.0));
  CHECK(cm.macro_recall() == doctest::Approx((5.0 / 6.0 + 0.5 + 4.0 / 6.0) / 3.0));
  CHECK(cm.macro_f1() == doctest::Approx((10.0 / 13.0 + 0.5 + 8.0 / 11.0) / 3.0));
}

TEST_CASE("ConfusionMatrix: zero divisions give 0, never NaN") {
  SUBCASE("empty matrix") {
    xg::ConfusionMatrix cm(3);
    CHECK(cm.total() == 0);
    CHECK(cm.accuracy() == 0.0);
    for (std::size_t c = 0; c < 3; ++c) {
      CHECK(cm.precision(c) == 0.0);
      CHECK(cm.recall(c) == 0.0);
      CHECK(cm.f1(c) == 0.0);
    }
    CHECK(cm.macro_precision() == 0.0);
    CHECK(cm.macro_recall() == 0.0);
    CHECK(cm.macro_f1() == 0.0);
    CHECK(cm.most_confused(5).empty());
  }
  SUBCASE("a class never predicted, a class with no items, p + r == 0") {
    //            pred 0  1  2
    //  true 0      2   1  0     class 1: predicted once, never true -> p = 0/1, r = 0/0
    //  true 1      0   0  0     class 2: one item, never predicted  -> p = 0/0, r = 0/1
    //  true 2      1   0  0     both: p + r == 0 -> f1 = 0
    xg::ConfusionMatrix cm = from_cells({{2, 1, 0}, {0, 0, 0}, {1, 0, 0}});
    CHECK(cm.precision(0) == doctest::Approx(2.0 / 3.0));
    CHECK(cm.recall(0) == doctest::Approx(2.0 / 3.0));
    CHECK(cm.f1(0) == doctest::Approx(2.0 / 3.0));
    for (std::size_t c : {1, 2}) {
      CHECK(cm.precision(c) == 0.0);
      CHECK(cm.recall(c) == 0.0);
      CHECK(cm.f1(c) == 0.0);
    }
    // classes without items still count in the unweighted mean
    CHECK(cm.macro_precision() == doctest::Approx(2.0 / 9.0));
    CHECK(cm.macro_recall() == doctest::Approx(2.0 / 9.0));
    CHECK(cm.macro_f1() == doctest::Approx(2.0 / 9.0));
    CHECK(cm.accuracy() == doctest::Approx(2.0 / 4.0));
    CHECK_FALSE(std::isnan(cm.macro_f1()));
  }
}

TEST_CASE("ConfusionMatrix: 2-class case matches sklearn's precision_recall_fscore_support") {
  // y_true = [0,0,0,0,1,1,1,1,1,1]
  // y_pred = [0,0,0,1,0,0,1,1,1,1]
  // sklearn.metrics.precision_recall_fscore_support(y_true, y_pred) gives
  //   precision [0.6, 0.8], recall [0.75, 0.66666667],
  //   f1 [0.66666667, 0.72727273], support [4, 6]
  // and average="macro": (0.7, 0.70833333, 0.6969697); accuracy_score 0.7.
  const std::vector<std::uint32_t> y_true = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  const std::vector<std::uint32_t> y_pred = {0, 0, 0, 1, 0, 0, 1, 1, 1, 1};
  xg::ConfusionMatrix cm(2);
  for (std::size_t i = 0; i < y_true.size(); ++i) cm.add(y_true[i], y_pred[i]);

  CHECK(cm.precision(0) == doctest::Approx(0.6));
  CHECK(cm.precision(1) == doctest::Approx(0.8));
  CHECK(cm.recall(0) == doctest::Approx(0.75));
  CHECK(cm.recall(1) == doctest::Approx(0.66666667));
  CHECK(cm.f1(0) == doctest::Approx(0.66666667));
  CHECK(cm.f1(1) == doctest::Approx(0.72727273));
  CHECK(cm.count(0, 0) + cm.count(0, 1) == 4);
  CHECK(cm.count(1, 0) + cm.count(1, 1) == 6);
  CHECK(cm.macro_precision() == doctest::Approx(0.7));
  CHECK(cm.macro_recall() == doctest::Approx(0.70833333));
  CHECK(cm.macro_f1() == doctest::Approx(0.6969697));
  CHECK(cm.accuracy() == doctest::Approx(0.7));

  std::string report = cm.format_report({"neg", "pos"});
  INFO(report);
  // sklearn classification_report(digits=4) rows
  CHECK(report.find("      neg     0.6000    0.7500    0.6667         4\n") != std::string::npos);
  CHECK(report.find("      pos     0.8000    0.6667    0.7273         6\n") != std::string::npos);
  CHECK(report.find("macro avg     0.7000    0.7083    0.6970        10\n") != std::string::npos);
  CHECK(report.find(" accuracy                         0.7000        10\n") != std::string::npos);
}

TEST_CASE("ConfusionMatrix: most_confused orders by count, ties by (truth, predicted)") {
  // off-diagonal: (1,0)=2, (2,1)=2, (0,1)=1, (1,2)=1
  xg::ConfusionMatrix cm = from_cells({{5, 1, 0}, {2, 3, 1}, {0, 2, 4}});
  std::vector<xg::ConfusionMatrix::Confusion> top = cm.most_confused(10);
  REQUIRE(top.size() == 4);
  CHECK((top[0].truth == 1 && top[0].predicted == 0 && top[0].count == 2));
  CHECK((top[1].truth == 2 && top[1].predicted == 1 && top[1].count == 2));
  CHECK((top[2].truth == 0 && top[2].predicted == 1 && top[2].count == 1));
  CHECK((top[3].truth == 1 && top[3].predicted == 2 && top[3].count == 1));
  CHECK(cm.most_confused(2).size() == 2);
  CHECK(cm.most_confused(0).empty());

  const std::vector<std::string> names = {"cat", "dog", "fox"};
  CHECK(cm.format_most_confused(names, 3) ==
        "Most confused: dog -> cat (2), fox -> dog (2), cat -> dog (1)");
  CHECK(from_cells({{1, 0}, {0, 1}}).format_most_confused({"a", "b"}, 3) ==
        "Most confused: none");
}

TEST_CASE("ConfusionMatrix: add_batch predicts the argmax, the first one on ties") {
  xg::ConfusionMatrix cm(3);
  // scores is (4, 3)
  const std::vector<float> scores = {
      0.1f, 0.7f, 0.2f,   // argmax 1
      -1.f, -3.f, -0.5f,  // argmax 2 (logits may be negative)
      0.4f, 0.4f, 0.2f,   // tie 0/1 -> 0
      0.0f, 0.5f, 0.5f,   // tie 1/2 -> 1
  };
  const std::vector<std::uint32_t> truth = {1, 0, 1, 2};
  cm.add_batch(scores.data(), 4, 3, truth.data());
  CHECK(cm.total() == 4);
  CHECK(cm.count(1, 1) == 1);
  CHECK(cm.count(0, 2) == 1);
  CHECK(cm.count(1, 0) == 1);
  CHECK(cm.count(2, 1) == 1);

  SUBCASE("wrong width or a bad label throws and counts nothing") {
    CHECK_THROWS_AS(cm.add_batch(scores.data(), 6, 2, truth.data()), std::invalid_argument);
    const std::vector<std::uint32_t> bad = {0, 1, 3, 0};
    CHECK_THROWS_AS(cm.add_batch(scores.data(), 4, 3, bad.data()), std::out_of_range);
    CHECK(cm.total() == 4);
  }
}

TEST_CASE("ConfusionMatrix: out-of-range classes throw, naming the index") {
  xg::ConfusionMatrix cm(3);
  CHECK_THROWS_AS(cm.add(3, 0), std::out_of_range);
  CHECK_THROWS_AS(cm.add(0, 7), std::out_of_range);
  CHECK_THROWS_WITH(cm.add(3, 0), doctest::Contains("true class 3"));
  CHECK_THROWS_WITH(cm.add(0, 7), doctest::Contains("predicted class 7"));
  CHECK_THROWS_AS(cm.count(0, 3), std::out_of_range);
  CHECK_THROWS_AS(cm.precision(3), std::out_of_range);
  CHECK_THROWS_AS(cm.recall(3), std::out_of_range);
  CHECK_THROWS_AS(cm.f1(3), std::out_of_range);
  CHECK(cm.total() == 0);
  CHECK_THROWS_AS(xg::ConfusionMatrix(0), std::invalid_argument);
  CHECK_THROWS_AS(cm.format_matrix({"a", "b"}), std::invalid_argument);
  CHECK_THROWS_AS(cm.format_report({"a", "b", "c", "d"}), std::invalid_argument);
  CHECK_THROWS_AS(cm.format_most_confused({}, 1), std::invalid_argument);
}

TEST_CASE("ConfusionMatrix: merge adds counts cell by cell") {
  xg::ConfusionMatrix a = from_cells({{1, 2}, {0, 3}});
  xg::ConfusionMatrix b = from_cells({{4, 0}, {5, 1}});
  a.merge(b);
  CHECK(a.count(0, 0) == 5);
  CHECK(a.count(0, 1) == 2);
  CHECK(a.count(1, 0) == 5);
  CHECK(a.count(1, 1) == 4);
  CHECK(a.total() == 16);
  CHECK(b.total() == 10);
  xg::ConfusionMatrix c(3);
  CHECK_THROWS_AS(a.merge(c), std::invalid_argument);
}

TEST_CASE("ConfusionMatrix: format_matrix aligns columns for names of any length") {
  xg::ConfusionMatrix cm = fake_fashion();
  std::string plain = cm.format_matrix(kFashion, false);
  INFO(plain);
  CHECK(plain.find('\x1b') == std::string::npos);
  std::vector<std::string> lines = lines_of(plain);
  REQUIRE(lines.size() == 11);  // header + one row per class
  for (const std::string& line : lines) CHECK(code_points(line) == code_points(lines[0]));
  CHECK(code_points(lines[0]) <= 100);
  // rows carry full names, the header abbreviations of at most 8 characters
  for (std::size_t c = 0; c < kFashion.size(); ++c)
    CHECK(lines[c + 1].rfind(kFashion[c], 0) == 0);
  CHECK(lines[0].find("Ankle b.") != std::string::npos);
  CHECK(lines[0].find("T-shirt/top") == std::string::npos);
  CHECK(lines[9].find("124427") != std::string::npos);  // 971 + 123456

  SUBCASE("highlight adds escape codes and nothing else") {
    std::string colored = cm.format_matrix(kFashion, true);
    CHECK(colored.find("\x1b[") != std::string::npos);
    CHECK(has_coloured(colored, "\x1b[1;32m", "850"));  // diagonal green
    CHECK(colored.find("\x1b[1;31m") != std::string::npos);             // largest error red
    CHECK(has_coloured(colored, "\x1b[1;31m", "123"));  // Shirt -> T-shirt/top
    CHECK(strip_ansi(colored) == plain);
  }
  SUBCASE("colliding abbreviations fall back to numbered columns") {
    xg::ConfusionMatrix small = from_cells({{1, 0}, {0, 1}});
    std::string text = small.format_matrix({"Sneaker low", "Sneaker high"});
    std::vector<std::string> rows = lines_of(text);
    INFO(text);
    REQUIRE(rows.size() == 3);
    CHECK(rows[1].rfind("0 Sneaker low", 0) == 0);
    CHECK(rows[2].rfind("1 Sneaker high", 0) == 0);
    for (const std::string& row : rows) CHECK(row.size() == rows[0].size());
  }
  SUBCASE("multi-byte names align by display width") {
    xg::ConfusionMatrix small = from_cells({{12, 3}, {0, 7}});
    std::string text = small.format_matrix({"Éclair", "Crème brûlée"});
    INFO(text);
    for (const std::string& row : lines_of(text))
      CHECK(code_points(row) == code_points(lines_of(text)[0]));
  }
}

TEST_CASE("ConfusionMatrix: format_report lists every class, then macro avg and accuracy") {
  xg::ConfusionMatrix cm = from_cells({{5, 1, 0}, {2, 3, 1}, {0, 2, 4}});
  std::string report = cm.format_report({"cat", "dog", "fox"});
  INFO(report);
  CHECK(report.find("precision") != std::string::npos);
  CHECK(report.find("support") != std::string::npos);
  CHECK(report.find("      cat     0.7143    0.8333    0.7692         6\n") != std::string::npos);
  CHECK(report.find("      dog     0.5000    0.5000    0.5000         6\n") != std::string::npos);
  CHECK(report.find("      fox     0.8000    0.6667    0.7273         6\n") != std::string::npos);
  // macro p = 0.67143, r = 0.66667, f1 = 0.66545
  CHECK(report.find("macro avg     0.6714    0.6667    0.6655        18\n") != std::string::npos);
  CHECK(report.find(" accuracy                         0.6667        18\n") != std::string::npos);
  CHECK(report.find("accuracy") < report.find("macro avg"));  // sklearn's order
  CHECK(report.find("macro avg") < report.find("weighted avg"));
}

TEST_CASE("ConfusionMatrix: the weighted averages weight each class by its support, as sklearn's average='weighted'") {
  // Supports 55, 30, 15. By hand (sklearn's formulas, sum_c support_c * metric_c / 100):
  //   precision 50/61, 20/27, 10/12 -> 0.8197, 0.7407, 0.8333; weighted (55·0.81967 + 30·0.74074 + 15·0.83333)/100 = 0.7980
  //   recall    50/55, 20/30, 10/15 -> weighted (50 + 20 + 10)/100 = 0.8000, the accuracy
  //   f1        0.8621, 0.7018, 0.7407 -> weighted 0.7958
  xg::ConfusionMatrix cm = from_cells({{50, 3, 2}, {10, 20, 0}, {1, 4, 10}});
  CHECK(cm.weighted_precision() == doctest::Approx((55 * 50.0 / 61 + 30 * 20.0 / 27 + 15 * 10.0 / 12) / 100));
  CHECK(cm.weighted_recall() == doctest::Approx(cm.accuracy()));
  auto f1 = [](double p, double r) { return 2 * p * r / (p + r); };
  CHECK(cm.weighted_f1() == doctest::Approx((55 * f1(50.0 / 61, 50.0 / 55) + 30 * f1(20.0 / 27, 20.0 / 30) +
                                             15 * f1(10.0 / 12, 10.0 / 15)) / 100));
  // sklearn.metrics.classification_report(y_true, y_pred, target_names=["cat", "dog", "fox"], digits=4):
  CHECK(cm.format_report({"cat", "dog", "fox"}) ==
        "              precision    recall  f1-score   support\n"
        "\n"
        "         cat     0.8197    0.9091    0.8621        55\n"
        "         dog     0.7407    0.6667    0.7018        30\n"
        "         fox     0.8333    0.6667    0.7407        15\n"
        "\n"
        "    accuracy                         0.8000       100\n"
        "   macro avg     0.7979    0.7475    0.7682       100\n"
        "weighted avg     0.7980    0.8000    0.7958       100\n");
  xg::ConfusionMatrix empty(2);
  CHECK(empty.weighted_precision() == 0.0);
}
