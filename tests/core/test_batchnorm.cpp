// core/batchnorm: batch_norm2d against loops in double (training and eval), a
// large mean that E[x²] − E[x]² would lose, the running statistics against hand
// computation, finite-difference gradient checks (x, γ, β; odd sizes; both
// modes), the same bits at any thread count, and the shape errors.
#include <doctest/doctest.h>


#include <cmath>
#include <cstring>
#include <vector>

#include "core/batchnorm.hpp"
#include "core/random.hpp"
#include "tests/support/gradcheck.hpp"
#include "tests/support/threads.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

Array filled(std::size_t n, float v) {
  Array a = Array::from_shape({n});
  a.fill(v);
  return a;
}

// y of training mode in double: the textbook definition, channel by channel.
std::vector<double> reference(const Tensor& x, const Tensor& g, const Tensor& b, double eps = 1e-5) {
  const std::size_t B = x.dim(0), C = x.dim(1), P = x.dim(2) * x.dim(3);
  std::vector<double> y(x.size());
  for (std::size_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    for (std::size_t n = 0; n < B; ++n)
      for (std::size_t k = 0; k < P; ++k) mean += x.data()[(n * C + c) * P + k];
    mean /= double(B * P);
    for (std::size_t n = 0; n < B; ++n)
      for (std::size_t k = 0; k < P; ++k) var += std::pow(x.data()[(n * C + c) * P + k] - mean, 2);
    var /= double(B * P);
    for (std::size_t n = 0; n < B; ++n)
      for (std::size_t k = 0; k < P; ++k) {
        const std::size_t i = (n * C + c) * P + k;
        y[i] = g.data()[c] * (x.data()[i] - mean) / std::sqrt(var + eps) + b.data()[c];
      }
  }
  return y;
}

double worst_difference(const Tensor& y, const std::vector<double>& expected) {
  double worst = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, std::fabs(y.data()[i] - expected[i]));
  return worst;
}

}  // namespace

TEST_CASE("batch_norm2d in training mode equals the definition in double") {
  Rng rng(1);
  Tensor x = random_tensor({3, 2, 5, 3}, rng, false, 2.0f), g = random_tensor({2}, rng, false), b = random_tensor({2}, rng, false);
  Array mean = filled(2, 0.0f), var = filled(2, 1.0f);
  const Tensor y = batch_norm2d(x, g, b, mean, var, true);
  CHECK(y.value().shape() == x.value().shape());
  CHECK(worst_difference(y, reference(x, g, b)) < 1e-5);
}

TEST_CASE("batch_norm2d: a large mean keeps the variance (two passes, not E[x²] − E[x]²)") {
  // x = 10000 + {±0.01}: E[x²] − E[x]² in float would give 0 or garbage; the variance is 1e-4
  Array a = Array::from_shape({2, 1, 2, 2});
  for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = 10000.0f + (i % 2 ? 0.0078125f : -0.0078125f);
  Tensor x(a), g(filled(1, 1.0f)), b(filled(1, 0.0f));
  Array mean = filled(1, 0.0f), var = filled(1, 1.0f);
  const Tensor y = batch_norm2d(x, g, b, mean, var, true, 1.0f, 0.0f);  // momentum 1: the running stats are the batch's
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(y.data()[i] == doctest::Approx(i % 2 ? 1.0 : -1.0).epsilon(1e-6));
  CHECK(mean.data()[0] == 10000.0f);
  CHECK(var.data()[0] == doctest::Approx(0.0078125 * 0.0078125 * 8.0 / 7.0).epsilon(1e-6));  // unbiased: N/(N-1)
}

TEST_CASE("batch_norm2d: the running statistics move as torch.nn.BatchNorm2d's, with the unbiased variance") {
  // One channel of N = 4 values {1, 2, 3, 6}: mean 3, biased variance 3.5, unbiased 14/3.
  Array a = Array::from_shape({2, 1, 1, 2});
  const float values[] = {1, 2, 3, 6};
  std::copy(values, values + 4, a.begin());
  Tensor x(a), g(filled(1, 1.0f), true), b(filled(1, 0.0f), true);
  Array mean = filled(1, 0.0f), var = filled(1, 1.0f);
  const Tensor y = batch_norm2d(x, g, b, mean, var, true);
  CHECK(mean.data()[0] == doctest::Approx(0.9 * 0 + 0.1 * 3.0).epsilon(1e-7));
  CHECK(var.data()[0] == doctest::Approx(0.9 * 1 + 0.1 * 14.0 / 3.0).epsilon(1e-7));
  CHECK(y.data()[0] == doctest::Approx((1 - 3) / std::sqrt(3.5 + 1e-5)).epsilon(1e-6));  // normalised by the biased one
  // a second batch moves them again from where they are
  batch_norm2d(x, g, b, mean, var, true);
  CHECK(mean.data()[0] == doctest::Approx(0.9 * 0.3 + 0.1 * 3.0).epsilon(1e-7));
  CHECK(var.data()[0] == doctest::Approx(0.9 * (0.9 + 0.1 * 14.0 / 3.0) + 0.1 * 14.0 / 3.0).epsilon(1e-7));
}

TEST_CASE("batch_norm2d in eval mode normalises with the running statistics and leaves them alone") {
  Rng rng(2);
  Tensor x = random_tensor({2, 3, 4, 3}, rng, true), g = random_tensor({3}, rng), b = random_tensor({3}, rng);
  Array mean = Array::from_shape({3}), var = Array::from_shape({3});
  mean.data()[0] = 0.5f, mean.data()[1] = -1.0f, mean.data()[2] = 0.0f;
  var.data()[0] = 2.0f, var.data()[1] = 0.25f, var.data()[2] = 1.0f;
  const Array mean_before = mean, var_before = var;
  const Tensor y = batch_norm2d(x, g, b, mean, var, false);
  CHECK(mean == mean_before);
  CHECK(var == var_before);
  const std::size_t P = 12;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = i / P % 3;
    const double expected = g.data()[c] * (x.data()[i] - mean.data()[c]) / std::sqrt(double(var.data()[c]) + 1e-5) + b.data()[c];
    CHECK(y.data()[i] == doctest::Approx(expected).epsilon(1e-5));
  }
  // one value per channel is fine in eval mode (nothing is estimated)
  CHECK_NOTHROW(batch_norm2d(random_tensor({1, 3, 1, 1}, rng), g, b, mean, var, false));
}

TEST_CASE("gradcheck: batch_norm2d in training mode, x, gamma and beta, odd sizes") {
  const Shape cases[] = {{3, 2, 5, 3}, {1, 3, 3, 1}, {2, 1, 2, 1}, {5, 2, 2, 3}};
  std::uint64_t seed = 10;
  for (const Shape& shape : cases) {
    CAPTURE(shape_string(shape));
    Rng rng(++seed);
    Tensor x = random_tensor(shape, rng, true, 2.0f), g = random_tensor({shape[1]}, rng), b = random_tensor({shape[1]}, rng);
    Tensor weights = random_tensor(shape, rng, false);
    Array mean = filled(shape[1], 0.0f), var = filled(shape[1], 1.0f);
    auto loss = [&] { return weighted_sum(batch_norm2d(x, g, b, mean, var, true), weights); };
    check_gradient(loss, x, "d/dx");
    check_gradient(loss, g, "d/dgamma");
    check_gradient(loss, b, "d/dbeta");
  }
}

TEST_CASE("gradcheck: batch_norm2d in eval mode, the running statistics constant") {
  Rng rng(20);
  Tensor x = random_tensor({2, 3, 3, 5}, rng), g = random_tensor({3}, rng), b = random_tensor({3}, rng);
  Tensor weights = random_tensor({2, 3, 3, 5}, rng, false);
  Array mean = Array::from_shape({3}), var = Array::from_shape({3});
  for (std::size_t c = 0; c < 3; ++c) mean.data()[c] = rng.uniform(-1.0f, 1.0f), var.data()[c] = rng.uniform(0.5f, 2.0f);
  auto loss = [&] { return weighted_sum(batch_norm2d(x, g, b, mean, var, false), weights); };
  check_gradient(loss, x, "d/dx");
  check_gradient(loss, g, "d/dgamma");
  check_gradient(loss, b, "d/dbeta");
}

TEST_CASE("batch_norm2d: the same bits with 1 and 2 threads") {
  Rng rng(30);
  Tensor x = random_tensor({16, 8, 14, 14}, rng), g = random_tensor({8}, rng), b = random_tensor({8}, rng);
  Tensor weights = random_tensor({16, 8, 14, 14}, rng, false);
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2}) {
    const xg::testing::ScopedThreads scope(threads);
    x.zero_grad(), g.zero_grad(), b.zero_grad();
    Array mean = filled(8, 0.0f), var = filled(8, 1.0f);
    Tensor loss = weighted_sum(batch_norm2d(x, g, b, mean, var, true), weights);
    loss.backward();
    std::vector<float> bits{loss.item()};
    bits.insert(bits.end(), mean.begin(), mean.end());
    bits.insert(bits.end(), var.begin(), var.end());
    for (const Tensor* t : {&x, &g, &b}) bits.insert(bits.end(), t->grad().begin(), t->grad().end());
    runs.push_back(bits);
  }
  REQUIRE(runs[0].size() == runs[1].size());
  CHECK(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * sizeof(float)) == 0);
}

TEST_CASE("batch_norm2d: shape errors name the op and the shapes") {
  Rng rng(40);
  Tensor x = random_tensor({2, 3, 4, 4}, rng), g = random_tensor({3}, rng), b = random_tensor({3}, rng);
  Array mean = filled(3, 0.0f), var = filled(3, 1.0f), short_var = filled(2, 1.0f);
  CHECK_THROWS_WITH_AS(batch_norm2d(random_tensor({2, 3}, rng), g, b, mean, var, true),
                       "batch_norm2d: x must be images (B, C, H, W), got shape (2, 3)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(batch_norm2d(x, g, b, mean, short_var, true),
                       "batch_norm2d: weight, bias and running statistics must have shape (3) for input (2, 3, 4, 4), got (2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(batch_norm2d(random_tensor({1, 3, 1, 1}, rng), g, b, mean, var, true),
                       "batch_norm2d: training needs more than one value per channel, got input (1, 3, 1, 1)",
                       std::invalid_argument);
}
