// optim/adam: Adam's first step (the bias-corrected moments make it lr times
// the gradient's sign). (Ten steps of every option against PyTorch:
// tests/oracles/layers_losses_optim.)
#include <doctest/doctest.h>

#include "core/ops.hpp"
#include "optim/adam.hpp"

using namespace xg;

TEST_CASE("Adam's first step moves each weight by lr against the gradient's sign") {
  Tensor w(Array{1.0f, -1.0f, 3.0f}, true);
  Adam adam({w}, 0.01f);
  sum(mul(w, Tensor(Array{0.5f, -2.0f, 1e-3f}))).backward();
  adam.step();  // m̂ = g, v̂ = g²: the update is lr · g/|g| (up to eps)
  CHECK(w.value()(0) == doctest::Approx(0.99));
  CHECK(w.value()(1) == doctest::Approx(-0.99));
  CHECK(w.value()(2) == doctest::Approx(2.99));
  CHECK(adam.steps() == 1);
}
