// core/conv: conv2d, max_pool2d and avg_pool2d against direct loops, finite-difference
// gradient checks (stride, padding, odd sizes, a batch split into several
// GEMM groups), the same bits at any thread count, and the shape errors.
#include <doctest/doctest.h>


#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include "core/conv.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "tests/support/gradcheck.hpp"
#include "tests/support/threads.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

// The textbook six loops in double precision: y (B,O,Ho,Wo).
std::vector<double> direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, std::size_t stride, std::size_t pad) {
  const std::size_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const std::size_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
  std::vector<double> y(B * O * Ho * Wo);
  for (std::size_t n = 0; n < B; ++n)
    for (std::size_t o = 0; o < O; ++o)
      for (std::size_t oh = 0; oh < Ho; ++oh)
        for (std::size_t ow = 0; ow < Wo; ++ow) {
          double acc = b.data()[o];
          for (std::size_t c = 0; c < C; ++c)
            for (std::size_t i = 0; i < kh; ++i)
              for (std::size_t j = 0; j < kw; ++j) {
                const long ih = long(oh * stride + i) - long(pad), iw = long(ow * stride + j) - long(pad);
                if (ih < 0 || iw < 0 || ih >= long(H) || iw >= long(W)) continue;
                acc += double(w.data()[((o * C + c) * kh + i) * kw + j]) * x.data()[((n * C + c) * H + ih) * W + iw];
              }
          y[((n * O + o) * Ho + oh) * Wo + ow] = acc;
        }
  return y;
}

void check_against_direct(const Shape& xs, const Shape& ws, std::size_t stride, std::size_t pad, std::uint64_t seed) {
  Rng rng(seed);
  Tensor x = random_tensor(xs, rng, false), w = random_tensor(ws, rng, false), b = random_tensor({ws[0]}, rng, false);
  const Tensor y = conv2d(x, w, b, stride, pad);
  const std::vector<double> expected = direct_conv2d(x, w, b, stride, pad);
  REQUIRE(y.size() == expected.size());
  CHECK(y.dim(2) == (xs[2] + 2 * pad - ws[2]) / stride + 1);
  CHECK(y.dim(3) == (xs[3] + 2 * pad - ws[3]) / stride + 1);
  double worst = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, std::fabs(y.data()[i] - expected[i]));
  CHECK(worst < 1e-4);
}

}  // namespace

TEST_CASE("conv2d equals the direct six loops") {
  SUBCASE("3x3, padding 1, stride 1") { check_against_direct({2, 3, 7, 6}, {4, 3, 3, 3}, 1, 1, 1); }
  SUBCASE("odd sizes, stride 2, no padding") { check_against_direct({3, 2, 9, 7}, {5, 2, 3, 2}, 2, 0, 2); }
  SUBCASE("stride 3, padding 2, 1x1 output columns") { check_against_direct({1, 1, 5, 4}, {2, 1, 4, 4}, 3, 2, 3); }
  // same-width outputs (stride 1, kw = 2·padding + 1) take im2col's one-copy path
  SUBCASE("1x3 kernel, padding 1: rows of padding above and below") { check_against_direct({2, 2, 5, 6}, {3, 2, 1, 3}, 1, 1, 5); }
  SUBCASE("5x5 kernel over a 4x4 image, padding 2") { check_against_direct({1, 2, 4, 4}, {2, 2, 5, 5}, 1, 2, 6); }
  // patch 72 x 900 pixels: 16 images per GEMM, so 20 images take two groups
  SUBCASE("a batch split into GEMM groups") { check_against_direct({20, 8, 30, 30}, {3, 8, 3, 3}, 1, 1, 4); }
}

TEST_CASE("gradcheck: conv2d with stride, padding and odd sizes") {
  struct Case {
    Shape x, w;
    std::size_t stride, pad;
  };
  const Case cases[] = {{{2, 2, 5, 5}, {3, 2, 3, 3}, 1, 1}, {{2, 3, 7, 6}, {2, 3, 3, 2}, 2, 0}, {{1, 2, 6, 5}, {2, 2, 2, 3}, 3, 2},
                        {{2, 2, 5, 6}, {3, 2, 1, 3}, 1, 1}, {{1, 2, 4, 4}, {2, 2, 5, 5}, 1, 2}};
  std::uint64_t seed = 10;
  for (const Case& c : cases) {
    CAPTURE(shape_string(c.x));
    Rng rng(++seed);
    Tensor x = random_tensor(c.x, rng), w = random_tensor(c.w, rng), b = random_tensor({c.w[0]}, rng);
    const Tensor probe = conv2d(x, w, b, c.stride, c.pad);
    Tensor weights = random_tensor(Shape(probe.value().shape().begin(), probe.value().shape().end()), rng, false);
    auto loss = [&] { return weighted_sum(conv2d(x, w, b, c.stride, c.pad), weights); };
    check_gradient(loss, x, "d/dx");
    check_gradient(loss, w, "d/dw");
    check_gradient(loss, b, "d/db");
  }
}

TEST_CASE("gradcheck: conv2d over several GEMM groups") {
  Rng rng(20);
  Tensor x = random_tensor({20, 8, 30, 30}, rng), w = random_tensor({2, 8, 3, 3}, rng), b = random_tensor({2}, rng);
  Tensor weights = random_tensor({20, 2, 30, 30}, rng, false);
  auto loss = [&] { return weighted_sum(conv2d(x, w, b, 1, 1), weights); };
  check_gradient(loss, w, "d/dw");
  check_gradient(loss, b, "d/db");
  // dx: every element's numeric slope would take 2 · 144,000 passes; check the
  // last image (in the second group) against a run of that image alone.
  x.zero_grad();
  loss().backward();
  Tensor alone(Array(xt::view(x.value(), xt::range(19, 20), xt::all(), xt::all(), xt::all())), true);
  Tensor alone_weights(Array(xt::view(weights.value(), xt::range(19, 20), xt::all(), xt::all(), xt::all())));
  weighted_sum(conv2d(alone, w, b, 1, 1), alone_weights).backward();
  double worst = 0;
  for (std::size_t i = 0; i < alone.size(); ++i)
    worst = std::max(worst, double(std::fabs(alone.grad().data()[i] - x.grad().data()[19 * 8 * 900 + i])));
  CHECK(worst < 1e-6);
}

TEST_CASE("max_pool2d: window maxima, the first on ties, sizes rounded down") {
  // x (1,1,3,5): 2x2 windows with stride 2 -> (1,1,1,2); the last row and column are dropped.
  Array a = {{{{1, 5, 5, 0, 9}, {2, 3, 7, 7, 9}, {9, 9, 9, 9, 9}}}};
  Tensor x(a, true);
  Tensor y = max_pool2d(x, 2, 2);
  REQUIRE(y.value().shape() == std::vector<std::size_t>{1, 1, 1, 2});
  CHECK(y.data()[0] == 5);
  CHECK(y.data()[1] == 7);
  sum(y).backward();
  Array expected = {{{{0, 1, 0, 0, 0}, {0, 0, 1, 0, 0}, {0, 0, 0, 0, 0}}}};  // the first 5, the first 7
  CHECK(x.grad() == expected);
}

TEST_CASE("max_pool2d: a NaN in a window propagates, as in PyTorch") {
  Array a = {{{{1, NAN}, {3, 2}}}};
  CHECK(std::isnan(max_pool2d(Tensor(a), 2, 2).item()));
}

TEST_CASE("max_pool2d equals the direct loops: ties, NaNs, planes of many SIMD groups") {
  // Values from {-2, ..., 2} (ties everywhere) and a few NaNs; the winner is the first
  // maximum in PyTorch's row-by-row order, or the last NaN of the window.
  for (const auto& [kernel, stride] : {std::pair<std::size_t, std::size_t>{2, 2}, {3, 2}, {2, 1}, {3, 3}}) {
    CAPTURE(kernel);
    CAPTURE(stride);
    Rng rng(70 + kernel * 10 + stride);
    const std::size_t B = 2, C = 3, H = 13, W = 11, Ho = (H - kernel) / stride + 1, Wo = (W - kernel) / stride + 1;
    Array a = Array::from_shape({B, C, H, W});
    for (float& v : a) v = float(rng.below(5)) - 2.0f;
    for (int k = 0; k < 6; ++k) a.data()[rng.below(std::uint32_t(a.size()))] = NAN;
    Tensor x(a, true);
    Tensor y = max_pool2d(x, kernel, stride);
    REQUIRE(y.value().shape() == std::vector<std::size_t>{B, C, Ho, Wo});
    sum(y).backward();
    Array winners = Array::from_shape(a.shape());
    winners.fill(0.0f);
    for (std::size_t plane = 0; plane < B * C; ++plane)
      for (std::size_t oh = 0; oh < Ho; ++oh)
        for (std::size_t ow = 0; ow < Wo; ++ow) {
          std::size_t at = (plane * H + oh * stride) * W + ow * stride;
          for (std::size_t i = 0; i < kernel; ++i)
            for (std::size_t j = 0; j < kernel; ++j) {
              const std::size_t k = (plane * H + oh * stride + i) * W + ow * stride + j;
              if (a.data()[k] > a.data()[at] || std::isnan(a.data()[k])) at = k;
            }
          const float got = y.data()[(plane * Ho + oh) * Wo + ow];
          CHECK((got == a.data()[at] || (std::isnan(got) && std::isnan(a.data()[at]))));
          winners.data()[at] += 1.0f;
        }
    CHECK(x.grad() == winners);
  }
}

TEST_CASE("gradcheck: max_pool2d, overlapping and odd windows") {
  // Distinct values far apart (steps of 0.05 > 2h): nudging one never changes which is the maximum.
  for (const auto& [kernel, stride] : {std::pair<std::size_t, std::size_t>{2, 2}, {3, 2}, {2, 1}, {3, 3}}) {
    CAPTURE(kernel);
    CAPTURE(stride);
    Rng rng(30 + kernel * 10 + stride);
    Array a = Array::from_shape({2, 3, 7, 5});
    std::vector<std::uint32_t> order(a.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = std::uint32_t(i);
    rng.shuffle(order);
    for (std::size_t i = 0; i < a.size(); ++i) a.data()[order[i]] = 0.05f * float(i) - 5.0f;
    Tensor x(a, true);
    const Tensor probe = max_pool2d(x, kernel, stride);
    Tensor weights = random_tensor(Shape(probe.value().shape().begin(), probe.value().shape().end()), rng, false);
    check_gradient([&] { return weighted_sum(max_pool2d(x, kernel, stride), weights); }, x, "d/dx");
    // with a second consumer of x, max_pool2d's gradient is stored first or added second
    Tensor other = random_tensor({2, 3, 7, 5}, rng, false);  // small weights: x is up to 5 in size, and
    for (float& v : other.value()) v *= 0.01f;                 // the loss's float32 rounding must stay small
    check_gradient([&] { return add(weighted_sum(max_pool2d(x, kernel, stride), weights), weighted_sum(x, other)); }, x,
                   "max_pool2d and another use of x, d/dx");
  }
}

TEST_CASE("gradcheck: reshape") {
  Rng rng(40);
  Tensor x = random_tensor({2, 3, 4}, rng), weights = random_tensor({6, 4}, rng, false);
  check_gradient([&] { return weighted_sum(reshape(x, {6, 4}), weights); }, x, "d/dx");
  CHECK_THROWS_WITH_AS(reshape(x, {5, 5}), "reshape: input (2, 3, 4) has 24 elements, shape (5, 5) has 25",
                       std::invalid_argument);
}

TEST_CASE("conv2d -> relu -> max_pool2d: the fused ReLU (forward in the GEMM, backward in the pooling) gives the same bits") {
  // conv2d(..., relu_follows) makes relu(y) in each image's GEMM and relu() takes
  // it; max_pool2d's backward, dropping intermediate gradients, stores u's
  // gradient with relu's mask instead of x's. Against conv2d, relu and max_pool2d
  // apart with every gradient kept: values and every leaf's gradient, to the bit.
  // Windows that overlap (3 by 2: an element wins several windows, its gradients
  // add up), disjoint ones and odd sizes; a channel all below 0, an element of
  // exactly 0 (relu's kink: the gradient stops) and a NaN (relu and max-pooling
  // pass its gradient on).
  for (const auto& [kernel, stride] : {std::pair<std::size_t, std::size_t>{2, 2}, {3, 2}, {2, 1}}) {
    for (int threads : {1, 2}) {
      CAPTURE(kernel);
      CAPTURE(stride);
      CAPTURE(threads);
      const xg::testing::ScopedThreads scope(threads);
      Rng rng(60 + kernel * 10 + stride);
      Tensor x = random_tensor({6, 3, 11, 9}, rng), w = random_tensor({5, 3, 3, 3}, rng), b = random_tensor({5}, rng);
      b.value().data()[1] = -100.0f;  // channel 1 all negative: relu 0 everywhere, no gradient reaches it
      const std::vector<Tensor> leaves{x, w, b};
      const Tensor probe = max_pool2d(Tensor::zeros({6, 5, 11, 9}), kernel, stride);
      const Tensor weights = random_tensor(Shape(probe.value().shape().begin(), probe.value().shape().end()), rng, false);
      std::vector<std::vector<float>> kept;
      std::vector<float> kept_value;
      for (const IntermediateGrads mode : {IntermediateGrads::Keep, IntermediateGrads::Drop}) {
        const bool fused = mode == IntermediateGrads::Drop;
        for (Tensor t : leaves) t.zero_grad();
        Tensor u = conv2d(x, w, b, 1, 1, fused);
        Tensor h = relu(u);
        CHECK(std::string(h.node()->op) == "relu");
        CHECK(std::string(h.node()->parents[0]->op) == "conv2d");  // the graph is the same
        h.node()->value.data()[17] = std::nanf("");  // a NaN among relu's outputs: it wins its windows
        h.node()->value.data()[40] = 0.0f;           // and an exact 0
        Tensor pooled = max_pool2d(h, kernel, stride);
        Tensor loss = weighted_sum(pooled, weights);
        loss.backward(mode);
        CHECK(h.node()->backward_made == fused);
        CHECK(h.has_grad() == !fused);  // never stored when its backward was fused
        const std::vector<float> value(h.data(), h.data() + h.size());
        if (!fused) kept_value = value;
        else CHECK(std::memcmp(value.data(), kept_value.data(), value.size() * sizeof(float)) == 0);
        for (std::size_t i = 0; i < leaves.size(); ++i) {
          CAPTURE(i);
          const std::vector<float> got(leaves[i].grad().begin(), leaves[i].grad().end());
          if (!fused) {
            kept.push_back(got);
          } else {
            REQUIRE(got.size() == kept[i].size());
            CHECK(std::memcmp(got.data(), kept[i].data(), got.size() * sizeof(float)) == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("max_pool2d after a ReLU read twice keeps relu's own backward") {
  // h = relu(u) feeds the pooling and a sum: its gradient is the sum of both, so
  // the pooling may not store u's in its place.
  Rng rng(70);
  Tensor u = random_tensor({2, 2, 6, 6}, rng);
  Tensor h = relu(u);
  Tensor weights = random_tensor({2, 2, 3, 3}, rng, false);
  Tensor loss = add(weighted_sum(max_pool2d(h, 2, 2), weights), sum(h));
  loss.backward(IntermediateGrads::Drop);
  CHECK_FALSE(h.node()->backward_made);
  const std::vector<float> dropped(u.grad().begin(), u.grad().end());
  u.zero_grad();
  Tensor h2 = relu(u);
  add(weighted_sum(max_pool2d(h2, 2, 2), weights), sum(h2)).backward(IntermediateGrads::Keep);
  CHECK(std::memcmp(dropped.data(), u.grad().data(), dropped.size() * sizeof(float)) == 0);
}

TEST_CASE("conv2d and max_pool2d: the same bits with 1 and 2 threads") {
  Rng rng(50);
  Tensor x = random_tensor({40, 4, 28, 28}, rng), w = random_tensor({8, 4, 3, 3}, rng), b = random_tensor({8}, rng);
  Tensor weights = random_tensor({40, 8, 14, 14}, rng, false);
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2}) {
    const xg::testing::ScopedThreads scope(threads);
    x.zero_grad(), w.zero_grad(), b.zero_grad();
    Tensor loss = weighted_sum(max_pool2d(relu(conv2d(x, w, b, 1, 1)), 2, 2), weights);
    loss.backward();
    std::vector<float> bits{loss.item()};
    for (const Tensor* t : {&x, &w, &b}) bits.insert(bits.end(), t->grad().begin(), t->grad().end());
    runs.push_back(bits);
  }
  CHECK(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * sizeof(float)) == 0);
}

TEST_CASE("conv2d and max_pool2d: shape errors name the op and the shapes") {
  Rng rng(60);
  Tensor x = random_tensor({1, 2, 4, 4}, rng), w = random_tensor({3, 1, 3, 3}, rng), b = random_tensor({3}, rng);
  CHECK_THROWS_WITH_AS(conv2d(x, w, b), "conv2d: input (1, 2, 4, 4), weight (3, 1, 3, 3) and bias (3) do not fit "
                                        "(input (B, C, H, W), weight (out, C, kh, kw), bias (out))",
                       std::invalid_argument);
  Tensor big = random_tensor({3, 2, 5, 5}, rng);
  CHECK_THROWS_WITH_AS(conv2d(x, big, b), "conv2d: kernel 5x5 does not fit input (1, 2, 4, 4) with padding 0",
                       std::invalid_argument);
  CHECK_NOTHROW(conv2d(x, big, b, 1, 1));
  CHECK_THROWS_WITH_AS(max_pool2d(x, 5, 5), "max_pool2d: a 5x5 window does not fit input (1, 2, 4, 4)", std::invalid_argument);
  CHECK_THROWS_AS(max_pool2d(random_tensor({4, 4}, rng), 2, 2), std::invalid_argument);
}

TEST_CASE("avg_pool2d: window means, overlapping windows, sizes rounded down") {
  // x (1,1,3,5): 2x2 windows with stride 2 -> (1,1,1,2); the last row and column are dropped.
  Array a = {{{{1, 5, 5, 0, 9}, {2, 4, 7, 8, 9}, {9, 9, 9, 9, 9}}}};
  Tensor x(a, true);
  Tensor y = avg_pool2d(x, 2, 2);
  REQUIRE(y.value().shape() == std::vector<std::size_t>{1, 1, 1, 2});
  CHECK(y.data()[0] == 3.0f);  // (1 + 5 + 2 + 4) / 4
  CHECK(y.data()[1] == 5.0f);  // (5 + 0 + 7 + 8) / 4
  sum(y).backward();
  Array expected = {{{{0.25f, 0.25f, 0.25f, 0.25f, 0}, {0.25f, 0.25f, 0.25f, 0.25f, 0}, {0, 0, 0, 0, 0}}}};
  CHECK(x.grad() == expected);
  // 2x2 windows with stride 1 overlap: the middle pixels are in two windows of one row.
  Tensor z(Array{{{{1, 2, 3}, {4, 5, 6}}}}, true);
  Tensor m = avg_pool2d(z, 2, 1);
  CHECK(m.data()[0] == 3.0f);
  CHECK(m.data()[1] == 4.0f);
  sum(m).backward();
  CHECK(z.grad() == Array{{{{0.25f, 0.5f, 0.25f}, {0.25f, 0.5f, 0.25f}}}});
}

TEST_CASE("avg_pool2d: against direct loops in double") {
  Rng rng(71);
  Tensor x = random_tensor({3, 2, 9, 7}, rng);
  const std::size_t k = 3, s = 2, Ho = (9 - k) / s + 1, Wo = (7 - k) / s + 1;
  Tensor y = avg_pool2d(x, k, s);
  REQUIRE(y.value().shape() == std::vector<std::size_t>{3, 2, Ho, Wo});
  double worst = 0;
  for (std::size_t plane = 0; plane < 6; ++plane)
    for (std::size_t oh = 0; oh < Ho; ++oh)
      for (std::size_t ow = 0; ow < Wo; ++ow) {
        double mean = 0;
        for (std::size_t i = 0; i < k; ++i)
          for (std::size_t j = 0; j < k; ++j) mean += x.data()[(plane * 9 + oh * s + i) * 7 + ow * s + j];
        mean /= double(k * k);
        worst = std::max(worst, std::fabs(mean - double(y.data()[(plane * Ho + oh) * Wo + ow])));
      }
  CHECK(worst < 1e-6);
}

TEST_CASE("gradcheck: avg_pool2d, overlapping and odd windows") {
  // Linear in x: no kink, any values.
  for (const auto& [kernel, stride] : {std::pair<std::size_t, std::size_t>{2, 2}, {3, 2}, {2, 1}, {3, 3}, {5, 2}}) {
    CAPTURE(kernel);
    CAPTURE(stride);
    Rng rng(80 + kernel * 10 + stride);
    Tensor x = random_tensor({2, 3, 7, 5}, rng);
    const Tensor probe = avg_pool2d(x, kernel, stride);
    Tensor weights = random_tensor(Shape(probe.value().shape().begin(), probe.value().shape().end()), rng, false);
    check_gradient([&] { return weighted_sum(avg_pool2d(x, kernel, stride), weights); }, x, "d/dx");
  }
}

TEST_CASE("avg_pool2d: the same bits with 1 and 2 threads, and shape errors") {
  Rng rng(90);
  Tensor x = random_tensor({40, 8, 28, 28}, rng);  // enough work to wake the second thread
  Tensor weights = random_tensor({40, 8, 13, 13}, rng, false);
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2}) {
    const xg::testing::ScopedThreads scope(threads);
    x.zero_grad();
    Tensor loss = weighted_sum(avg_pool2d(x, 3, 2), weights);
    loss.backward();
    std::vector<float> bits{loss.item()};
    bits.insert(bits.end(), x.grad().begin(), x.grad().end());
    runs.push_back(bits);
  }
  CHECK(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * sizeof(float)) == 0);
  Tensor small = random_tensor({1, 2, 4, 4}, rng);
  CHECK_THROWS_WITH_AS(avg_pool2d(small, 5, 5), "avg_pool2d: a 5x5 window does not fit input (1, 2, 4, 4)", std::invalid_argument);
  CHECK_THROWS_AS(avg_pool2d(small, 2, 0), std::invalid_argument);
  CHECK_THROWS_AS(avg_pool2d(random_tensor({4, 4}, rng), 2, 2), std::invalid_argument);
}
