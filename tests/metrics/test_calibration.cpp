// metrics/calibration: top-k accuracy (ties to the lower class, as argmax) and
// calibration bins with the expected calibration error, worked out by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "metrics/calibration.hpp"

using namespace xg;

TEST_CASE("top_k_accuracy: the label among the k largest scores, ties to the lower class index") {
  const Array scores = {{0.1f, 0.7f, 0.2f}, {0.5f, 0.3f, 0.2f}, {0.3f, 0.3f, 0.4f}, {0.2f, 0.2f, 0.2f}};
  const std::vector<std::uint32_t> labels{2, 0, 1, 2};
  // Ranks of each label: row 0: 2nd; row 1: 1st; row 2: 0.3 ties 0.3 at class 0, which goes first: 3rd;
  // row 3: three-way tie, class 2 is last: 3rd.
  CHECK(top_k_accuracy(scores, labels, 1) == doctest::Approx(0.25));
  CHECK(top_k_accuracy(scores, labels, 2) == doctest::Approx(0.5));
  CHECK(top_k_accuracy(scores, labels, 3) == doctest::Approx(1.0));
  CHECK(top_k_accuracy(scores, labels, 10) == doctest::Approx(1.0));
  CHECK(top_k_accuracy(Array::from_shape({0, 3}), {}, 1) == 0.0);
}

TEST_CASE("calibration: items binned by their top probability, per-bin confidence and accuracy, ECE") {
  // Confidences 0.95 (right), 0.92 (wrong), 0.55 (right), 0.35 (wrong: predicted 1, label 0).
  const Array p = {{0.95f, 0.03f, 0.02f}, {0.05f, 0.92f, 0.03f}, {0.2f, 0.25f, 0.55f}, {0.33f, 0.35f, 0.32f}};
  const std::vector<std::uint32_t> labels{0, 2, 2, 0};
  const Calibration c = calibration(p, labels, 10);
  REQUIRE(c.bins.size() == 10);
  CHECK(c.bins[0].lo == 0.0);
  CHECK(c.bins[9].hi == doctest::Approx(1.0));
  CHECK(c.bins[3].lo == doctest::Approx(0.3));
  std::size_t total = 0;
  for (const CalibrationBin& b : c.bins) total += b.count;
  CHECK(total == 4);
  CHECK(c.bins[9].count == 2);  // 0.95 and 0.92
  CHECK(c.bins[9].confidence == doctest::Approx(0.935));
  CHECK(c.bins[9].accuracy == doctest::Approx(0.5));
  CHECK(c.bins[5].count == 1);
  CHECK(c.bins[5].accuracy == 1.0);
  CHECK(c.bins[3].count == 1);
  CHECK(c.bins[3].accuracy == 0.0);
  CHECK(c.bins[0].count == 0);
  // ECE = Σ count/N |accuracy - confidence| = 2/4·0.435 + 1/4·0.45 + 1/4·0.35
  CHECK(c.ece == doctest::Approx(0.5 * 0.435 + 0.25 * 0.45 + 0.25 * 0.35).epsilon(1e-6));
  // A confidence of exactly 1 lands in the last bin.
  const Calibration sure = calibration(Array{{1.0f, 0.0f}}, {0}, 4);
  CHECK(sure.bins[3].count == 1);
  CHECK(sure.ece == doctest::Approx(0.0));
}

TEST_CASE("top_k_accuracy and calibration refuse labels that do not fit the scores") {
  const xg::Array scores = {{0.1f, 0.9f}, {0.8f, 0.2f}};
  CHECK_THROWS_AS(xg::top_k_accuracy(scores, {0, 2}, 1), std::invalid_argument);  // class 2 of 2
  CHECK_THROWS_AS(xg::top_k_accuracy(scores, {0}, 1), std::invalid_argument);     // one label for two rows
  CHECK_THROWS_AS(xg::calibration(scores, {1, 5}), std::invalid_argument);
  CHECK_THROWS_AS(xg::calibration(scores, {1, 0, 1}), std::invalid_argument);
  CHECK(xg::top_k_accuracy(scores, {1, 0}, 1) == doctest::Approx(1.0));
}
