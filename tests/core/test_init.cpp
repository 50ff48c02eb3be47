// core/init: the initialisers draw from torch.nn.init's distributions (bounds
// and standard deviations for each fan mode and gain), seeded.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "core/init.hpp"
#include "core/random.hpp"

using namespace xg;

TEST_CASE("initialisers draw from torch.nn.init's distributions, seeded") {
  Array w = Array::from_shape({300, 400});  // (out, in): fan_in 400, fan_out 300
  auto stats = [&](double& max_abs, double& stddev) {
    double sq = 0.0;
    max_abs = 0.0;
    for (float v : w) {
      sq += double(v) * v;
      max_abs = std::max(max_abs, std::fabs(double(v)));
    }
    stddev = std::sqrt(sq / double(w.size()));
  };
  double max_abs, sd;
  // Each sd is checked within 1% of its expected value (.scale(0): relative, not the
  // absolute 0.01 doctest would allow around such small numbers); 120k draws: σ ≈ 0.2%.
  Rng rng(1);
  const float gain = calculate_gain("relu");
  kaiming_uniform(w, rng, gain);
  stats(max_abs, sd);
  const double b = std::sqrt(2.0) * std::sqrt(3.0 / 400.0);
  CHECK(max_abs <= b);
  CHECK(max_abs > 0.99 * b);
  CHECK(sd == doctest::Approx(b / std::sqrt(3.0)).epsilon(0.01).scale(0));
  kaiming_normal(w, rng, gain, FanMode::FanOut);
  stats(max_abs, sd);
  CHECK(sd == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.01).scale(0));
  xavier_uniform(w, rng);
  stats(max_abs, sd);
  CHECK(max_abs <= std::sqrt(6.0 / 700.0));
  CHECK(sd == doctest::Approx(std::sqrt(2.0 / 700.0)).epsilon(0.01).scale(0));
  xavier_normal(w, rng, calculate_gain("tanh"));
  stats(max_abs, sd);
  CHECK(sd == doctest::Approx(5.0 / 3.0 * std::sqrt(2.0 / 700.0)).epsilon(0.01).scale(0));
  fill_zeros(w);
  stats(max_abs, sd);
  CHECK(max_abs == 0.0);
  Array a = Array::from_shape({3, 4}), b2 = Array::from_shape({3, 4});
  Rng r1(7), r2(7);
  xavier_uniform(a, r1);
  xavier_uniform(b2, r2);
  CHECK(a == b2);
  CHECK(calculate_gain("leaky_relu", 0.2f) == doctest::Approx(std::sqrt(2.0 / 1.04)));
}
