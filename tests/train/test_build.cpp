// train/build: the pieces of a run built from a TrainConfig — the optimizer
// (each flag reaching it), the schedule per epoch, the model (init, head), the
// objective, and the data options --classes-subset and --val-split.
#include <doctest/doctest.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "layers/batchnorm.hpp"
#include "layers/conv.hpp"
#include "layers/linear.hpp"
#include "layers/sequential.hpp"
#include "losses/penalties.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "train/build.hpp"

using namespace xg;

namespace {

// The rate of each epoch 1..epochs: epoch e uses the schedule's rate after e-1 steps.
std::vector<double> rates(const TrainConfig& o) {
  auto schedule = build_schedule(o);
  std::vector<double> out;
  for (std::size_t e = 1; e <= o.epochs; ++e) {
    out.push_back(schedule->lr());
    schedule->step(1.0);
  }
  return out;
}

// A data set of `per_class` items of each of `classes` classes, labels 0,1,2,...,0,1,2,...; item i's first pixel is i.
Dataset labelled(std::size_t classes, std::size_t per_class) {
  Dataset d;
  for (Split* s : {&d.train, &d.test}) {
    s->count = classes * per_class;
    s->shape = {1, 2};
    for (std::size_t i = 0; i < s->count; ++i) {
      s->pixels.push_back(std::uint8_t(i));
      s->pixels.push_back(0);
      s->labels.push_back(std::uint32_t(i % classes));
    }
  }
  for (std::size_t k = 0; k < classes; ++k) d.class_names.push_back("c" + std::to_string(k));
  return d;
}

}  // namespace

TEST_CASE("build_schedule: cosine gives the full rate at epoch 1, annealed toward min_lr over the epochs, none is constant") {
  TrainConfig o;
  o.lr = 0.1;
  o.epochs = 10;
  o.schedule = "cosine";
  const std::vector<double> cosine = rates(o);
  CHECK(cosine[0] == doctest::Approx(0.1));
  CHECK(cosine[5] == doctest::Approx(0.05));
  CHECK(cosine[9] == doctest::Approx(0.1 * 0.5 * (1 + std::cos(M_PI * 0.9))));
  o.min_lr = 0.01;
  CHECK(rates(o)[5] == doctest::Approx(0.01 + 0.09 * 0.5));
  o.schedule = "none";
  for (double lr : rates(o)) CHECK(lr == doctest::Approx(0.1));
}

TEST_CASE("build_schedule: step, multistep and exponential use --gamma or their default, after a linear warm-up") {
  TrainConfig o;
  o.lr = 1.0;
  o.epochs = 6;
  o.schedule = "step";
  o.step_size = 2;
  const std::vector<double> step = rates(o);
  const std::vector<double> expected_step{1.0, 1.0, 0.1, 0.1, 0.01, 0.01};  // default gamma 0.1
  for (std::size_t e = 0; e < 6; ++e) CHECK(step[e] == doctest::Approx(expected_step[e]));
  o.schedule = "multistep";
  o.milestones = "1,4";
  o.gamma = 0.5;
  const std::vector<double> multistep = rates(o);
  const std::vector<double> expected_multistep{1.0, 0.5, 0.5, 0.5, 0.25, 0.25};
  for (std::size_t e = 0; e < 6; ++e) CHECK(multistep[e] == doctest::Approx(expected_multistep[e]));
  o.schedule = "exponential";
  o.gamma = -1.0;  // the default: 0.9
  CHECK(rates(o)[3] == doctest::Approx(std::pow(0.9, 3)));
  o.warmup_epochs = 2;  // epoch e ≤ 2 uses lr·e/3, then the schedule starts
  const std::vector<double> warm = rates(o);
  CHECK(warm[0] == doctest::Approx(1.0 / 3));
  CHECK(warm[1] == doctest::Approx(2.0 / 3));
  CHECK(warm[2] == doctest::Approx(1.0));
  CHECK(warm[3] == doctest::Approx(0.9));
}

TEST_CASE("build_optimizer: --betas, --eps, --amsgrad and --dampening reach the optimizer") {
  // Two identical models: one optimizer from the flags, one built by hand; the same gradients; the same weights.
  auto step_both = [](xg::Optimizer& a, const std::vector<xg::Tensor>& pa, xg::Optimizer& b, const std::vector<xg::Tensor>& pb) {
    xg::Rng rng(5);
    for (int step = 0; step < 4; ++step) {
      for (std::size_t i = 0; i < pa.size(); ++i) {
        xg::Tensor p = pa[i], q = pb[i];
        for (std::size_t k = 0; k < p.size(); ++k) p.grad().data()[k] = q.grad().data()[k] = rng.normal(0.0f, 1.0f);
      }
      a.step();
      b.step();
    }
    for (std::size_t i = 0; i < pa.size(); ++i)
      for (std::size_t k = 0; k < pa[i].size(); ++k) REQUIRE(pa[i].data()[k] == pb[i].data()[k]);
  };
  auto parameters = [] {
    xg::Rng rng(1);
    return xg::make_mlp({5, 4, 3}, rng)->parameters();
  };
  xg::TrainConfig o;
  o.optimizer = "adam";
  o.lr = 0.01;
  o.betas = "0.5,0.75";
  o.eps = 1e-3;
  o.amsgrad = true;
  const std::vector<xg::Tensor> pa = parameters(), pb = parameters();
  auto from_flags = xg::build_optimizer(o, pa);
  xg::AdamOptions by_hand;
  by_hand.beta1 = 0.5f;
  by_hand.beta2 = 0.75f;
  by_hand.eps = 1e-3f;
  by_hand.amsgrad = true;
  xg::Adam adam(pb, 0.01f, by_hand);
  step_both(*from_flags, pa, adam, pb);

  xg::TrainConfig s;
  s.lr = 0.1;
  s.momentum = 0.9;
  s.dampening = 0.3;
  const std::vector<xg::Tensor> sa = parameters(), sb = parameters();
  auto sgd_from_flags = xg::build_optimizer(s, sa);
  xg::SGDOptions sgd_by_hand;
  sgd_by_hand.momentum = 0.9f;
  sgd_by_hand.dampening = 0.3f;
  xg::SGD sgd(sb, 0.1f, sgd_by_hand);
  step_both(*sgd_from_flags, sa, sgd, sb);
}

TEST_CASE("build_model: default init is make_mlp's, the other inits zero the biases, a sigmoid head has one output") {
  TrainConfig o;
  o.hidden = "5";
  Rng a(4), b(4);
  auto built = build_model(o, 6, 3, a);
  auto plain = make_mlp({6, 5, 3}, b);
  CHECK(built->describe() == plain->describe());
  const auto p = built->named_parameters(), q = plain->named_parameters();
  REQUIRE(p.size() == q.size());
  for (std::size_t i = 0; i < p.size(); ++i) CHECK(p[i].second.value() == q[i].second.value());

  o.init = "xavier_uniform";
  o.activation = "tanh";
  o.head = "sigmoid";
  Rng c(4);
  auto xavier = build_model(o, 6, 2, c);
  CHECK(xavier->describe() == "Sequential(Linear(6 -> 5), Tanh, Linear(5 -> 1))");
  const auto& first = static_cast<const Linear&>((*xavier)[0]);
  for (float v : first.bias.value()) CHECK(v == 0.0f);
  const double bound = 5.0 / 3.0 * std::sqrt(6.0 / (6 + 5));  // tanh's gain · sqrt(6 / (fan_in + fan_out))
  for (float v : first.weight.value()) CHECK(std::abs(v) <= bound);
}

TEST_CASE("build_objective: the loss the flags ask for, and class counts that do not fit are refused naming the flag") {
  Rng rng(1);
  auto model = make_mlp({2, 3}, rng);
  const Tensor outputs(Array{{2.0f, -1.0f, 0.5f}, {0.0f, 1.0f, 3.0f}});
  const std::vector<std::uint32_t> labels{0, 2};
  TrainConfig o;
  Objective plain = build_objective(o, *model, 3);
  CHECK(plain.loss(outputs, labels).item() == doctest::Approx(softmax_cross_entropy(outputs, labels).item()));
  CHECK_FALSE(plain.penalty);
  CHECK_FALSE(plain.binary);
  o.label_smoothing = 0.1;
  o.class_weights = "1,2,3";
  o.l2 = 0.5;
  o.clip_grad_norm = 2.0;
  Objective smoothed = build_objective(o, *model, 3);
  CrossEntropyOptions ce;
  ce.label_smoothing = 0.1f;
  ce.weight = {1.0f, 2.0f, 3.0f};
  CHECK(smoothed.loss(outputs, labels).item() == doctest::Approx(cross_entropy(outputs, labels, ce).item()));
  REQUIRE(smoothed.penalty);
  CHECK(smoothed.penalty().item() == doctest::Approx(0.5 * l2_penalty(weights_only(model->named_parameters())).item()));
  CHECK(smoothed.clip_grad_norm == 2.0);
  CHECK_THROWS_WITH_AS(build_objective(o, *model, 4), doctest::Contains("--class-weights gives 3 weights but the data has 4 classes"),
                       InputError);
  TrainConfig sigmoid;
  sigmoid.head = "sigmoid";
  CHECK_THROWS_WITH_AS(build_objective(sigmoid, *model, 3), doctest::Contains("--head sigmoid"), InputError);
  CHECK(build_objective(sigmoid, *model, 2).binary);
}

TEST_CASE("keep_classes: the items of the labels given, renumbered in that order, with their names") {
  Dataset d = labelled(4, 3);
  keep_classes(d, "3,1");
  CHECK(d.class_names == std::vector<std::string>{"c3", "c1"});
  CHECK(d.train.count == 6);
  CHECK(d.train.labels == std::vector<std::uint32_t>{1, 0, 1, 0, 1, 0});  // items 1, 3, 5, 7, 9, 11 of labels 1, 3, 1, 3, ...
  CHECK(d.train.pixels[0] == 1);
  CHECK(d.train.pixels[2] == 3);
  CHECK(d.test.count == 6);
  for (const char* bad : {"1", "1,1", "0,7", "0,x"}) {
    Dataset fresh = labelled(4, 3);
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(keep_classes(fresh, bad), doctest::Contains("--classes-subset"), InputError);
  }
}

TEST_CASE("split_validation: a seeded fraction moves out of the training split, both keep file order") {
  Dataset d = labelled(2, 10);
  Split train = d.train;
  const Split validation = split_validation(train, 0.25, 7);
  CHECK(validation.count == 5);
  CHECK(train.count == 15);
  std::vector<int> seen(20, 0);
  for (const Split* s : std::initializer_list<const Split*>{&train, &validation}) {
    for (std::size_t i = 0; i < s->count; ++i) {
      const int item = s->pixels[2 * i];
      ++seen[std::size_t(item)];
      CHECK(s->labels[i] == std::uint32_t(item % 2));
      if (i > 0) CHECK(s->pixels[2 * i] > s->pixels[2 * (i - 1)]);  // file order
    }
  }
  for (int n : seen) CHECK(n == 1);
  Split again = d.train;
  CHECK(split_validation(again, 0.25, 7).pixels == validation.pixels);  // the same seed, the same items
  Split other = d.train;
  CHECK(split_validation(other, 0.25, 8).pixels != validation.pixels);
  Split tiny = d.train;
  CHECK_THROWS_WITH_AS(split_validation(tiny, 0.01, 7), doctest::Contains("--val-split"), InputError);
}

TEST_CASE("build_model and build_objective leave BatchNorm2d's gamma and beta out of --init and --l1/--l2") {
  TrainConfig o;
  o.arch = "conv3k3p1,bn,relu,flatten,fc";
  o.init = "kaiming_uniform";
  o.l2 = 0.5;
  Rng rng(5);
  auto model = build_model(o, Shape{1, 4, 4}, 2, rng);
  const auto& bn = static_cast<const BatchNorm2d&>((*model)[1]);
  CHECK(bn.weight.value() == Array{1.0f, 1.0f, 1.0f});  // torch's init, not zeroed as a bias
  CHECK(bn.bias.value() == Array{0.0f, 0.0f, 0.0f});
  for (float v : static_cast<const Conv2d&>((*model)[0]).bias.value()) CHECK(v == 0.0f);  // the conv's bias is zeroed
  const Objective objective = build_objective(o, *model, 2);
  REQUIRE(objective.penalty);
  // Σ w² over 0.weight and 4.weight only: γ's 3 ones would add 3
  const auto named = model->named_parameters();
  const double expected = 0.5 * l2_penalty({named[0].second, named[4].second}).item();
  CHECK(named[4].first == "4.weight");
  CHECK(objective.penalty().item() == doctest::Approx(expected));
}
