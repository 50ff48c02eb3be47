// optim/optimizer: an optimizer's state (SGD's velocities, Adam's moments and
// step count) taken with state() and given to a fresh optimizer with
// load_state() continues the run bit for bit; state of the wrong shape is
// refused naming the entry. (Checkpoints store it: tests/train/test_checkpoint.cpp.)
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "core/error.hpp"
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
