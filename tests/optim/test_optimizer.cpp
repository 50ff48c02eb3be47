// optim/optimizer: an optimizer's state (SGD's velocities, Adam's moments and
// step count) taken with state() and given to a fresh optimizer with
// load_state() continues the run bit for bit; state of the wrong shape is
// refused naming the entry. (Checkpoints store it: tests/train/test_checkpoint.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"

using namespace xg;

namespace {

bool same_bits(const Array& a, const Array& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.size(), b.data(), [](float x, float y) {
           return std::memcmp(&x, &y, sizeof x) == 0;
         });
}

}  // namespace

TEST_CASE("optimizer: state() and load_state() continue SGD and Adam exactly") {
  auto run = [](auto make_optimizer) {
    Rng rng(3);
    auto a = make_mlp({4, 5, 3}, rng);
    Rng rng2(3);
    auto b = make_mlp({4, 5, 3}, rng2);
    auto opt_a = make_optimizer(a->parameters());
    auto step = [](Sequential& model, Optimizer& opt, int k) {
      opt.zero_grad();
      Array x = xt::zeros<float>({std::size_t(2), std::size_t(4)});
      for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float((i * 7 + std::size_t(k)) % 5) - 2.0f;
      Tensor loss = softmax_cross_entropy(model(Tensor(x)), {std::uint32_t(k % 3), 1});
      loss.backward();
      opt.step();
    };
    for (int k = 0; k < 3; ++k) step(*a, *opt_a, k);
    // b takes a's weights and optimizer state, then both go on.
    const auto pa = a->named_parameters(), pb = b->named_parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) pb[i].second.node()->value = pa[i].second.value();
    auto opt_b = make_optimizer(b->parameters());
    opt_b->load_state(opt_a->state());
    CHECK(!opt_a->state().empty());
    for (int k = 3; k < 6; ++k) {
      step(*a, *opt_a, k);
      step(*b, *opt_b, k);
    }
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(same_bits(pa[i].second.value(), pb[i].second.value()));
    // State of the wrong shape is refused, naming the entry.
    Optimizer::State bad = opt_a->state();
    bad.back().second = xt::zeros<float>({std::size_t(7)});
    CHECK_THROWS_WITH_AS(opt_b->load_state(bad), doctest::Contains(bad.back().first.c_str()), InputError);
  };
  SUBCASE("SGD with momentum") {
    run([](std::vector<Tensor> p) { return std::make_unique<SGD>(std::move(p), 0.1f, 0.9f); });
  }
  SUBCASE("SGD with Nesterov momentum and weight decay") {
    run([](std::vector<Tensor> p) { return std::make_unique<SGD>(std::move(p), 0.1f, SGDOptions{0.9f, 0.0f, true, 0.01f}); });
  }
  SUBCASE("AdamW") {
    run([](std::vector<Tensor> p) { return std::make_unique<AdamW>(std::move(p), 0.01f, AdamOptions{}); });
  }
  SUBCASE("Adam with amsgrad") {
    AdamOptions o;
    o.amsgrad = true;
    run([o](std::vector<Tensor> p) { return std::make_unique<Adam>(std::move(p), 0.01f, o); });
  }
}

TEST_CASE("optimizer: load_state refuses values no step could have produced, naming the entry") {
  Rng rng(3);
  auto model = make_mlp({4, 5, 3}, rng);
  auto take_a_step = [&](Optimizer& opt) {
    opt.zero_grad();
    Array x = xt::ones<float>({std::size_t(2), std::size_t(4)});
    softmax_cross_entropy((*model)(Tensor(x)), {0, 1}).backward();
    opt.step();
  };
  // Sets element `k` of the entry `name` in a copy of `state`.
  auto with = [](Optimizer::State state, const std::string& name, std::size_t k, float value) {
    for (auto& [n, array] : state)
      if (n == name) array.data()[k] = value;
    return state;
  };
  SUBCASE("SGD: a NaN or infinite velocity") {
    SGD sgd(model->parameters(), 0.1f, 0.9f);
    take_a_step(sgd);
    const Optimizer::State good = sgd.state();
    for (float bad : {NAN, INFINITY}) {
      CHECK_THROWS_WITH_AS(sgd.load_state(with(good, "velocity.1", 2, bad)), doctest::Contains("'velocity.1'"), InputError);
    }
    sgd.load_state(good);
  }
  SUBCASE("Adam: a step that is NaN, negative, fractional, 3e38 or 0, a NaN m, a negative v") {
    AdamOptions o;
    o.amsgrad = true;
    Adam adam(model->parameters(), 0.01f, o);
    take_a_step(adam);
    const Optimizer::State good = adam.state();
    const std::pair<std::size_t, float> bad_steps[] = {{1, NAN}, {1, -3.0f}, {1, 7.5f}, {0, 3e38f}, {0, -1.0f}, {1, 1048576.0f}};
    for (const auto& [k, value] : bad_steps) {
      CAPTURE(value);
      CHECK_THROWS_WITH_AS(adam.load_state(with(good, "step", k, value)), doctest::Contains("'step'"), InputError);
    }
    CHECK_THROWS_WITH_AS(adam.load_state(with(good, "step", 1, 0.0f)), doctest::Contains("'step'"), InputError);  // t = 0
    CHECK_THROWS_WITH_AS(adam.load_state(with(good, "m.0", 0, NAN)), doctest::Contains("'m.0'"), InputError);
    CHECK_THROWS_WITH_AS(adam.load_state(with(good, "v.2", 1, -1.0f)), doctest::Contains("'v.2'"), InputError);
    CHECK_THROWS_WITH_AS(adam.load_state(with(good, "v_max.3", 0, -1.0f)), doctest::Contains("'v_max.3'"), InputError);
    adam.load_state(with(good, "step", 0, 5.0f));  // t = 5 * 2^20 + 1 is a fine step count
    adam.load_state(good);
  }
}

TEST_CASE("step_left_parameters_finite: an optimizer without its own check reads the weights (Adam)") {
  Tensor w(Array{1.0f, 2.0f}, true);
  Adam adam({w}, 0.1f);
  sum(mul(w, w)).backward();
  adam.step();
  CHECK(adam.step_left_parameters_finite());
  w.value()(1) = std::numeric_limits<float>::infinity();
  CHECK_FALSE(adam.step_left_parameters_finite());
}
