// layers/linear: PyTorch's initialisation (bounds, variance, seeding) and
// shape errors that name the layer.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/random.hpp"
#include "layers/linear.hpp"
#include "layers/sequential.hpp"

using namespace xg;

TEST_CASE("Linear's init is PyTorch's: uniform in ±1/sqrt(in), seeded") {
  // torch.nn.Linear: kaiming_uniform(a=sqrt(5)) for the weight, i.e. gain sqrt(2/(1+5)) and bound
  // gain·sqrt(3/fan_in) = 1/sqrt(fan_in); the bias is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) too.
  // fan_in 100 ≠ fan_out 50, so a bound taken from the wrong fan shows.
  Rng a(42), b(42), c(43);
  Linear l1(100, 50, a), l2(100, 50, b), l3(100, 50, c);
  const double bound = 1.0 / std::sqrt(100.0);
  double sum = 0.0, lowest = 0.0, highest = 0.0;
  for (float v : l1.weight.value()) {
    sum += v;
    lowest = std::min(lowest, double(v));
    highest = std::max(highest, double(v));
  }
  const double n = double(l1.weight.value().size()), mean = sum / n;
  double squares = 0.0;
  for (float v : l1.weight.value()) squares += (v - mean) * (v - mean);
  // U(-b, b) has variance b²/3 = 1/(3 fan_in); 5000 draws estimate it within ~1.3% (one σ).
  CHECK(squares / n == doctest::Approx(bound * bound / 3.0).epsilon(0.05).scale(0));
  CHECK(std::abs(mean) < 0.04 * bound);  // σ of the mean: b/sqrt(3·5000) ≈ 0.008 b
  // The draws fill the interval: inside ±b, and reaching close to both ends.
  CHECK(lowest >= -float(bound));  // float(bound): the bound Linear draws with
  CHECK(highest <= float(bound));
  CHECK(lowest < -0.99 * bound);
  CHECK(highest > 0.99 * bound);
  double bias_lowest = 0.0, bias_highest = 0.0;
  for (float v : l1.bias.value()) {
    bias_lowest = std::min(bias_lowest, double(v));
    bias_highest = std::max(bias_highest, double(v));
  }
  CHECK(bias_lowest >= -float(bound));
  CHECK(bias_highest <= float(bound));
  CHECK(bias_lowest < -0.8 * bound);  // 50 draws: each end is missed with probability 0.9^50 ≈ 0.5%
  CHECK(bias_highest > 0.8 * bound);
  CHECK(l1.weight.value() == l2.weight.value());
  CHECK(l1.weight.value() != l3.weight.value());
}

TEST_CASE("shape errors name the layer") {
  Rng rng(0);
  auto mlp = make_mlp({784, 256, 128, 10}, rng);
  Tensor x = Tensor::zeros({2, 128});
  CHECK_THROWS_WITH_AS(mlp->forward(x), "Linear#0 expects 784 input features, got 128", std::invalid_argument);
  // the second Linear sits at position 2, named like its parameters "2.weight"
  Linear& second = static_cast<Linear&>((*mlp)[2]);
  CHECK_THROWS_WITH_AS(second.forward(Tensor::zeros({2, 784})), "Linear#2 expects 256 input features, got 784",
                       std::invalid_argument);
}
