// train/parameter_gradcheck: every parameter of a correct MLP and CNN passes, a
// deliberately wrong backward fails where it matters, a nudge that crosses a
// ReLU's kink is compared with an allowance, at h/10, or set aside, and the
// table says so. (`xgrad gradcheck`: tests/apps/test_gradcheck_command.cpp.)
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/ops.hpp"
#include "layers/activations.hpp"
#include "layers/conv.hpp"
#include "layers/linear.hpp"
#include "layers/sequential.hpp"
#include "train/parameter_gradcheck.hpp"

using namespace xg;

namespace {

// A test-only op with a WRONG derivative: y = x², but backward passes dy · x
// instead of dy · 2x. It is defined here, through the library's public
// make_result, so no broken op ships in the binary.
void wrong_square_backward(Node& n) {
  if (n.parents[0]->requires_grad) n.parents[0]->grad_buffer() += n.grad * n.parents[0]->value;  // should be 2x
}

class WrongSquare : public Module {
 public:
  WrongSquare() : Module("WrongSquare") {}
  Tensor forward(const Tensor& x) override {
    return make_result("wrong_square", Array(x.value() * x.value()), {x}, wrong_square_backward);
  }
  std::string describe() const override { return "WrongSquare"; }
};

// A test-only identity whose backward passes half the gradient: every
// parameter before it gets half its true gradient.
void half_gradient_backward(Node& n) {
  if (n.parents[0]->requires_grad) n.parents[0]->grad_buffer() += 0.5f * n.grad;  // should be 1 · dy
}

class HalfGradient : public Module {
 public:
  HalfGradient() : Module("HalfGradient") {}
  Tensor forward(const Tensor& x) override {
    return make_result("half_gradient", Array(x.value()), {x}, half_gradient_backward);
  }
  std::string describe() const override { return "HalfGradient"; }
};

// Conv2d(1, 4, 3, padding 1) [HalfGradient] -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(64, 3), on 8x8 images.
std::shared_ptr<Sequential> small_cnn(Rng& rng, bool wrong) {
  auto model = std::make_shared<Sequential>();
  model->add(std::make_shared<Conv2d>(1, 4, 3, rng, 1, 1));
  if (wrong) model->add(std::make_shared<HalfGradient>());
  model->add(std::make_shared<ReLU>());
  model->add(std::make_shared<MaxPool2d>(2));
  model->add(std::make_shared<Flatten>());
  model->add(std::make_shared<Linear>(64, 3, rng));
  return model;
}

Array random_batch(std::size_t rows, std::size_t cols, Rng& rng) {
  Array x = Array::from_shape({rows, cols});
  for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
  return x;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("parameter gradcheck: every parameter of a correct MLP passes") {
  Rng rng(3);
  auto model = make_mlp({12, 7, 5, 3}, rng);
  const Array x = random_batch(6, 12, rng);
  const std::vector<std::uint32_t> y{0, 1, 2, 0, 1, 2};
  GradcheckSettings s;
  s.samples = 0;  // every element
  Rng pick(1);
  const auto checks = check_parameter_gradients(*model, x, y, s, pick);
  REQUIRE(checks.size() == 6);
  for (const ParameterCheck& c : checks) {
    INFO(c.name << " max abs error " << c.result.max_abs_error);
    CHECK(c.result.passed);
    CHECK(c.checked + c.kink_crossings == (c.shape.size() == 2 ? c.shape[0] * c.shape[1] : c.shape[0]));
  }
  CHECK(all_passed(checks));
  const std::string table = format_parameter_checks(checks, s);
  for (const char* name : {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}) CHECK(contains(table, name));
  CHECK_FALSE(contains(table, "FAIL"));
  CHECK(contains(table, "PASS: 6 of 6 parameters within |backprop - numeric| <= 0.0001 + 0.01 |numeric| (h = 0.01) + kink allowance\n"));
}

TEST_CASE("parameter gradcheck: a wrong backward fails, and only where it matters") {
  Rng rng(4);
  auto model = std::make_shared<Sequential>();
  model->add(std::make_shared<Linear>(5, 4, rng));
  model->add(std::make_shared<WrongSquare>());
  model->add(std::make_shared<Linear>(4, 3, rng));
  const Array x = random_batch(6, 5, rng);
  const std::vector<std::uint32_t> y{0, 1, 2, 2, 1, 0};
  GradcheckSettings s;
  Rng pick(2);
  const auto checks = check_parameter_gradients(*model, x, y, s, pick);
  REQUIRE(checks.size() == 4);
  // Gradients that flow back through the wrong op are off by a factor of 2 ...
  CHECK_FALSE(checks[0].result.passed);  // 0.weight
  CHECK_FALSE(checks[1].result.passed);  // 0.bias
  CHECK(checks[0].result.max_rel_error > 0.3);
  // ... those computed before it in the backward walk are right.
  CHECK(checks[2].result.passed);  // 2.weight
  CHECK(checks[3].result.passed);  // 2.bias
  CHECK_FALSE(all_passed(checks));
  const std::string table = format_parameter_checks(checks, s);
  CHECK(contains(table, "FAIL: 2 of 4 parameters"));
  CHECK(contains(table, "worst: element"));  // where the worst failing element is, with both values
}

TEST_CASE("parameter gradcheck: a nudge across ReLU's kink is set aside when even h/10 crosses it") {
  Rng rng(5);
  auto model = make_mlp({2, 2, 2}, rng);
  auto& first = static_cast<Linear&>((*model)[0]);
  // One input row (1, 1): unit 0's pre-activation is 0.0002, within h/10 = 0.001
  // of the kink, where the crossing moves the difference by 40% of it; unit 1's
  // is 0.5, far from it.
  first.weight.value() = Array{{0.0001f, 0.0001f}, {0.2f, 0.3f}};
  first.bias.value() = Array{0.0f, 0.0f};
  const Array x = Array{{1.0f, 1.0f}};
  GradcheckSettings s;
  Rng pick(3);
  const auto checks = check_parameter_gradients(*model, x, {1}, s, pick);
  const ParameterCheck& bias = checks[1];
  REQUIRE(bias.name == "0.bias");
  CHECK(bias.kink_crossings == 1);
  CHECK(bias.checked == 1);
  CHECK(bias.result.passed);
  CHECK(checks[0].kink_crossings == 2);  // both weights of unit 0
  CHECK(all_passed(checks));
  CHECK(contains(format_parameter_checks(checks, s), "PASS: 4 of 4 parameters"));
}

TEST_CASE("parameter gradcheck: a nudge that crosses a kink is compared with its allowance, or at h/10") {
  Rng rng(5);
  auto model = make_mlp({2, 2, 2}, rng);
  auto& first = static_cast<Linear&>((*model)[0]);
  // Input (1, 1), weights 0: the pre-activations are the biases.
  // Unit 0 at 0.008: the nudge -h = -0.01 takes it 0.002 past the kink, which can
  // move the difference by |dL/da| · 0.002 / 0.02 = 0.1 |dL/da|, about 11% of
  // the difference (0.9 dL/da): compared at h, with that allowance.
  // Unit 1 at 0.005: 0.005 past the kink, 33% of the difference: differenced
  // again at h/10 = 0.001, where no nudge crosses.
  first.weight.value() = Array{{0.0f, 0.0f}, {0.0f, 0.0f}};
  first.bias.value() = Array{0.008f, 0.005f};
  const Array x = Array{{1.0f, 1.0f}};
  GradcheckSettings s;
  Rng pick(3);
  const auto checks = check_parameter_gradients(*model, x, {1}, s, pick);
  for (const ParameterCheck& c : checks) {
    INFO(c.name);
    CHECK(c.result.passed);
    CHECK(c.kink_crossings == 0);
  }
  CHECK(checks[1].checked == 2);       // 0.bias: both units
  CHECK(checks[1].widened == 1);       // unit 0, with its allowance
  CHECK(checks[1].at_fine_step == 1);  // unit 1
  CHECK(checks[0].widened == 2);       // unit 0's two weights
  CHECK(checks[0].at_fine_step == 2);  // unit 1's two weights
  CHECK(checks[2].widened + checks[2].at_fine_step == 0);  // no nudge of the last layer moves a ReLU input
  const std::string table = format_parameter_checks(checks, s);
  CHECK(contains(table, "kinked"));
  CHECK(contains(table, "at h/10"));
  CHECK(all_passed(checks));
}

TEST_CASE("parameter gradcheck: a small CNN passes with most elements compared, and a wrong conv gradient fails") {
  Rng data_rng(8);
  Array x = Array::from_shape({6, 1, 8, 8});
  for (float& v : x) v = data_rng.uniform(-1.0f, 1.0f);
  const std::vector<std::uint32_t> y{0, 1, 2, 2, 1, 0};
  GradcheckSettings s;
  s.samples = 0;  // every element
  {
    Rng rng(6);
    auto model = small_cnn(rng, false);
    Rng pick(1);
    const auto checks = check_parameter_gradients(*model, x, y, s, pick);
    REQUIRE(checks.size() == 4);
    CHECK(checks[0].name == "0.weight");
    for (const ParameterCheck& c : checks) {
      INFO(c.name << " checked " << c.checked << " aside " << c.kink_crossings << " max abs error " << c.result.max_abs_error);
      CHECK(c.result.passed);
      CHECK(c.checked > 2 * c.kink_crossings);  // most elements compared
    }
    CHECK(checks[0].widened > 0);  // the conv layer's nudges do cross kinks ...
    CHECK(all_passed(checks));    // ... and are compared nonetheless
  }
  {
    Rng rng(6);
    auto model = small_cnn(rng, true);  // the conv layer's parameters get half their gradient
    Rng pick(1);
    const auto checks = check_parameter_gradients(*model, x, y, s, pick);
    REQUIRE(checks.size() == 4);
    CHECK_FALSE(checks[0].result.passed);  // 0.weight
    CHECK_FALSE(checks[1].result.passed);  // 0.bias
    CHECK(checks[2].result.passed);        // 5.weight, after the broken op
    CHECK(checks[3].result.passed);        // 5.bias
    CHECK_FALSE(all_passed(checks));
  }
  {
    Rng rng(6);
    auto model = small_cnn(rng, false);
    GradcheckSettings scaled = s;  // a correct model, one gradient scaled as a wrong backward would
    scaled.scaled_parameter = "0.weight";
    scaled.gradient_scale = 1.5;
    Rng pick(1);
    const auto checks = check_parameter_gradients(*model, x, y, scaled, pick);
    CHECK_FALSE(checks[0].result.passed);
    for (std::size_t i = 1; i < checks.size(); ++i) CHECK(checks[i].result.passed);
    scaled.scaled_parameter = "7.weight";
    CHECK_THROWS_AS(check_parameter_gradients(*model, x, y, scaled, pick), InputError);
  }
}

TEST_CASE("parameter gradcheck: a parameter with no element compared does not pass") {
  ParameterCheck unchecked;
  unchecked.name = "0.bias";
  unchecked.shape = {2};
  unchecked.kink_crossings = 2;
  unchecked.result.passed = true;  // vacuously: nothing was compared
  CHECK_FALSE(all_passed({unchecked}));
  const std::string table = format_parameter_checks({unchecked}, GradcheckSettings{});
  CHECK(contains(table, "no element could be compared"));
  CHECK(contains(table, "FAIL: 0 of 1 parameters"));
}
