// layers/dropout: the Dropout module keeps a fraction 1-p scaled by 1/(1-p),
// draws its mask from its seed, and is the identity in eval mode.
#include <doctest/doctest.h>

#include <stdexcept>

#include "layers/dropout.hpp"

using namespace xg;

TEST_CASE("Dropout keeps a fraction 1-p, scales by 1/(1-p), is seeded, and is the identity in eval()") {
  const float p = 0.3f;
  Tensor x(xt::ones<float>(Shape{200, 500}));
  Dropout drop(p, 5);
  Tensor y = drop(x);
  std::size_t kept = 0;
  for (float v : y.value()) {
    if (v != 0.0f) {
      ++kept;
      CHECK(v == doctest::Approx(1.0f / (1.0f - p)));
    }
  }
  const double fraction = double(kept) / double(x.size());
  CHECK(fraction == doctest::Approx(1.0 - p).epsilon(0.01).scale(0));  // within 0.007; 100k draws: σ ≈ 0.0015
  Dropout same(p, 5);
  CHECK(same(x).value() == y.value());
  drop.eval();
  Tensor z = drop(x);
  CHECK(z.node() == x.node());
  CHECK_THROWS_AS(Dropout(1.0f), std::invalid_argument);
}
