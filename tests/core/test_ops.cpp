// Finite-difference gradient checks for every differentiable op of core/ops
// (double-precision reference, inputs kept off the kinks), and the ops' shape errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/gradcheck.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "tests/support/gradcheck.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("gradcheck: matmul") {
  Rng rng(1);
  Tensor a = random_tensor({5, 7}, rng), b = random_tensor({7, 3}, rng), w = random_tensor({5, 3}, rng, false);
  auto loss = [&] { return weighted_sum(matmul(a, b), w); };
  check_gradient(loss, a, "d/da");
  check_gradient(loss, b, "d/db");
}

TEST_CASE("gradcheck: matmul_nt") {
  Rng rng(2);
  Tensor a = random_tensor({4, 6}, rng), b = random_tensor({3, 6}, rng), w = random_tensor({4, 3}, rng, false);
  auto loss = [&] { return weighted_sum(matmul_nt(a, b), w); };
  check_gradient(loss, a, "d/da");
  check_gradient(loss, b, "d/db");
}

TEST_CASE("gradcheck: linear") {
  Rng rng(3);
  Tensor x = random_tensor({6, 5}, rng), wt = random_tensor({4, 5}, rng), b = random_tensor({4}, rng),
         w = random_tensor({6, 4}, rng, false);
  auto loss = [&] { return weighted_sum(linear(x, wt, b), w); };
  check_gradient(loss, x, "d/dx");
  check_gradient(loss, wt, "d/dW");
  check_gradient(loss, b, "d/db");
}

TEST_CASE("gradcheck: an input read by two linear layers gets both input gradients") {
  // The first linear backward to run stores its dx (the gradient was still all
  // zeros: Node::grad_to_overwrite), the second must add to it. Also after a
  // backward that left a gradient in x: then both add.
  Rng rng(33);
  Tensor x = random_tensor({6, 5}, rng), w1 = random_tensor({4, 5}, rng), b1 = random_tensor({4}, rng),
         w2 = random_tensor({3, 5}, rng), b2 = random_tensor({3}, rng);
  Tensor s1 = random_tensor({6, 4}, rng, false), s2 = random_tensor({6, 3}, rng, false);
  auto loss = [&] { return add(weighted_sum(linear(x, w1, b1), s1), weighted_sum(linear(x, w2, b2), s2)); };
  check_gradient(loss, x, "d/dx");
  x.zero_grad();
  loss().backward();
  const Array first = x.grad();
  loss().backward();  // no zero_grad: the second backward adds the same gradient again
  for (std::size_t i = 0; i < first.size(); ++i) CHECK(x.grad().data()[i] == doctest::Approx(2.0f * first.data()[i]));
}

TEST_CASE("gradcheck: add_bias") {
  Rng rng(4);
  Tensor x = random_tensor({5, 3}, rng), b = random_tensor({3}, rng), w = random_tensor({5, 3}, rng, false);
  auto loss = [&] { return weighted_sum(add_bias(x, b), w); };
  check_gradient(loss, x, "d/dx");
  check_gradient(loss, b, "d/db");
}

TEST_CASE("gradcheck: relu, inputs kept off the kink") {
  Rng rng(5);
  Tensor x = off_kink_tensor({6, 4}, rng), w = random_tensor({6, 4}, rng, false);
  check_gradient([&] { return weighted_sum(relu(x), w); }, x, "d/dx");
  // x's gradient written by relu first (stored) or second (added), as its other consumer comes first or not
  Tensor h = off_kink_tensor({6, 4}, rng);
  check_gradient([&] { return add(weighted_sum(relu(h), w), sum(mul(h, h))); }, h, "relu and h*h, d/dh");
  check_gradient([&] { return add(sum(mul(h, h)), weighted_sum(relu(h), w)); }, h, "h*h and relu, d/dh");
}

TEST_CASE("relu at NaN, -0 and 0 gives PyTorch's values and gradients") {
  // torch 1.13: relu([nan, -0., 0., -1., 2.]) = [nan, -0., 0., 0., 2.], and the
  // gradient of its sum is [1, 0, 0, 0, 1].
  Tensor x(Array{std::nanf(""), -0.0f, 0.0f, -1.0f, 2.0f}, true);
  Tensor y = relu(x);
  CHECK(std::isnan(y.value()(0)));
  CHECK((y.value()(1) == 0.0f && std::signbit(y.value()(1))));
  CHECK((y.value()(2) == 0.0f && !std::signbit(y.value()(2))));
  CHECK(y.value()(3) == 0.0f);
  CHECK(y.value()(4) == 2.0f);
  sum(y).backward();
  const std::vector<float> expected = {1.0f, 0.0f, 0.0f, 0.0f, 1.0f};
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(x.grad()(i) == expected[i]);
}

TEST_CASE("gradcheck: sum and mean") {
  Rng rng(6);
  Tensor x = random_tensor({3, 4}, rng), w = random_tensor({3, 4}, rng, false);
  check_gradient([&] { return sum(mul(x, x)); }, x, "sum");
  check_gradient([&] { return mean(mul(x, w)); }, x, "mean");
}

TEST_CASE("gradcheck: add, mul, scale") {
  Rng rng(7);
  Tensor a = random_tensor({4, 3}, rng), b = random_tensor({4, 3}, rng), w = random_tensor({4, 3}, rng, false);
  check_gradient([&] { return weighted_sum(add(a, b), w); }, a, "add d/da");
  check_gradient([&] { return weighted_sum(add(a, b), w); }, b, "add d/db");
  check_gradient([&] { return weighted_sum(mul(a, b), w); }, a, "mul d/da");
  check_gradient([&] { return weighted_sum(mul(a, b), w); }, b, "mul d/db");
  check_gradient([&] { return weighted_sum(scale(a, -2.5f), w); }, a, "scale");
  Tensor v = random_tensor({7}, rng), wv = random_tensor({7}, rng, false);
  check_gradient([&] { return weighted_sum(scale(v, 3.0f), wv); }, v, "scale, rank 1");
}

TEST_CASE("gradcheck: a two-layer MLP's loss, every parameter") {
  Rng rng(9);
  Tensor x = random_tensor({8, 6}, rng, false);
  Tensor w1 = random_tensor({5, 6}, rng), b1 = random_tensor({5}, rng);
  Tensor w2 = random_tensor({3, 5}, rng), b2 = random_tensor({3}, rng);
  const std::vector<std::uint32_t> labels{0, 1, 2, 0, 1, 2, 0, 1};
  auto loss = [&] { return softmax_cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), labels); };
  // Keep hidden pre-activations away from ReLU's kink for this draw.
  {
    NoGradGuard no_grad;
    Tensor h = linear(x, w1, b1);
    float nearest = 1.0f;
    for (float v : h.value()) nearest = std::min(nearest, std::abs(v));
    REQUIRE(nearest > 0.02f);
  }
  check_gradient(loss, w1, "W1");
  check_gradient(loss, b1, "b1");
  check_gradient(loss, w2, "W2");
  check_gradient(loss, b2, "b2");
}

// The bits of every element of a tensor's gradient.
std::vector<float> grad_of(const Tensor& t) { return std::vector<float>(t.grad().begin(), t.grad().end()); }

TEST_CASE("backward dropping intermediate gradients gives the parameters the same gradients, to the bit") {
  // x -> linear -> relu -> linear -> relu -> linear -> loss: with Drop, each
  // linear layer after a ReLU makes that ReLU's backward in its input-gradient
  // GEMM (the ReLU's own gradient is never stored); with Keep, every node keeps
  // its gradient. Hidden layers of 256 and 100 units, a batch of 64 (rows and
  // columns past whole tiles), and a second graph where a ReLU's output feeds two
  // layers (no fusion: its gradient is the sum of both) and a pre-activation
  // feeds a ReLU and a sum (fused, then added to).
  Rng rng(21);
  Tensor x = random_tensor({64, 30}, rng);
  Tensor w1 = random_tensor({256, 30}, rng), b1 = random_tensor({256}, rng);
  Tensor w2 = random_tensor({100, 256}, rng), b2 = random_tensor({100}, rng);
  Tensor w3 = random_tensor({10, 100}, rng), b3 = random_tensor({10}, rng);
  std::vector<std::uint32_t> labels(64);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::uint32_t(i % 10);
  const std::vector<Tensor> leaves{x, w1, b1, w2, b2, w3, b3};

  SUBCASE("a plain stack: both ReLUs fused") {
    std::vector<std::vector<float>> kept;
    Tensor h1, h2;
    for (const IntermediateGrads mode : {IntermediateGrads::Keep, IntermediateGrads::Drop}) {
      for (Tensor t : leaves) t.zero_grad();
      h1 = relu(linear(x, w1, b1));
      h2 = relu(linear(h1, w2, b2));
      softmax_cross_entropy(linear(h2, w3, b3), labels).backward(mode);
      const bool dropped = mode == IntermediateGrads::Drop;
      CHECK(h1.node()->backward_made == dropped);
      CHECK(h2.node()->backward_made == dropped);
      CHECK(h1.has_grad() == !dropped);  // never stored when its backward was fused
      for (std::size_t i = 0; i < leaves.size(); ++i) {
        CAPTURE(i);
        if (!dropped) {
          kept.push_back(grad_of(leaves[i]));
        } else {
          const std::vector<float> got = grad_of(leaves[i]);
          REQUIRE(got.size() == kept[i].size());
          CHECK(std::memcmp(got.data(), kept[i].data(), got.size() * sizeof(float)) == 0);
        }
      }
    }
  }

  SUBCASE("a ReLU read twice is not fused; a pre-activation read twice gets both gradients") {
    std::vector<std::vector<float>> kept;
    for (const IntermediateGrads mode : {IntermediateGrads::Keep, IntermediateGrads::Drop}) {
      for (Tensor t : leaves) t.zero_grad();
      Tensor h1 = relu(linear(x, w1, b1));
      Tensor u2 = linear(h1, w2, b2), v2 = linear(h1, w2, b2);  // h1 read by two layers
      Tensor logits = add(linear(relu(u2), w3, b3), linear(relu(v2), w3, b3));
      // u2 read by its ReLU and by the penalty: whichever backward runs first, u2
      // gets both gradients (fused and stored, then added to; or added to, unfused).
      Tensor loss = add(softmax_cross_entropy(logits, labels), scale(sum(u2), 0.001f));
      loss.backward(mode);
      CHECK_FALSE(h1.node()->backward_made);
      for (std::size_t i = 0; i < leaves.size(); ++i) {
        CAPTURE(i);
        if (mode == IntermediateGrads::Keep) {
          kept.push_back(grad_of(leaves[i]));
        } else {
          const std::vector<float> got = grad_of(leaves[i]);
          CHECK(std::memcmp(got.data(), kept[i].data(), got.size() * sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("a graph run backward again with Keep after Drop runs every node's backward") {
  Rng rng(22);
  Tensor x = random_tensor({8, 6}, rng);
  Tensor w1 = random_tensor({5, 6}, rng), b1 = random_tensor({5}, rng);
  Tensor w2 = random_tensor({3, 5}, rng), b2 = random_tensor({3}, rng);
  Tensor h = relu(linear(x, w1, b1));
  Tensor loss = sum(linear(h, w2, b2));
  loss.backward(IntermediateGrads::Drop);
  CHECK(h.node()->backward_made);
  CHECK_FALSE(dropping_intermediate_grads());  // the option ends with the pass
  const std::vector<float> once = grad_of(w1);
  loss.backward(IntermediateGrads::Keep);  // accumulates into the leaves: twice the gradient
  CHECK_FALSE(h.node()->backward_made);
  CHECK(h.has_grad());
  const std::vector<float> twice = grad_of(w1);
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(twice[i] == 2.0f * once[i]);
}

TEST_CASE("shape errors name the op and both shapes") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  try {
    matmul(a, b);
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "matmul: inner dimensions differ, (2, 3) · (4, 5)");
  }
  CHECK_THROWS_AS(add(a, b), std::invalid_argument);
  CHECK_THROWS_AS(Tensor::zeros({2, 2}).backward(), std::invalid_argument);
}


TEST_CASE("gradcheck: sigmoid, tanh") {
  Rng rng(11);
  Tensor x = random_tensor({5, 4}, rng, true, 3.0f), w = random_tensor({5, 4}, rng, false);
  check_gradient([&] { return weighted_sum(sigmoid(x), w); }, x, "sigmoid");
  check_gradient([&] { return weighted_sum(xg::tanh(x), w); }, x, "tanh");
}

TEST_CASE("gradcheck: leaky_relu, inputs kept off the kink") {
  Rng rng(12);
  Tensor x = off_kink_tensor({6, 3}, rng), w = random_tensor({6, 3}, rng, false);
  check_gradient([&] { return weighted_sum(leaky_relu(x, 0.2f), w); }, x, "leaky_relu");
}

TEST_CASE("gradcheck: dropout (a fixed seed gives the same mask each call) and masked_scale") {
  Rng rng(13);
  Tensor x = random_tensor({8, 5}, rng), w = random_tensor({8, 5}, rng, false);
  check_gradient(
      [&] {
        Rng mask_rng(99);
        return weighted_sum(dropout(x, 0.3f, mask_rng), w);
      },
      x, "dropout");
  Array mask = random_tensor({8, 5}, rng, false).value();
  check_gradient([&] { return weighted_sum(masked_scale(x, mask), w); }, x, "masked_scale");
}

TEST_CASE("gradcheck: sum_squares and sum_abs") {
  Rng rng(14);
  Tensor a = off_kink_tensor({4, 3}, rng);
  check_gradient([&] { return sum_squares(a); }, a, "sum_squares");
  check_gradient([&] { return sum_abs(a); }, a, "sum_abs");
}
