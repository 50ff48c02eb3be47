// `xgrad train` with the toolbox's flags, on small toy data sets: every
// optimizer and schedule trains, --head sigmoid on a 2-class subset, --val-split
// and --early-stop, and contradictory flags are exit-2 errors naming them.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "train/build.hpp"
#include "core/random.hpp"
#include "layers/sequential.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "test_support.hpp"

using namespace xg::testing;

namespace {

double final_accuracy(const std::string& out) {
  const std::string key = "final test accuracy ";
  const auto at = out.rfind(key);
  REQUIRE(at != std::string::npos);
  return std::stod(out.substr(at + key.size()));
}

// Noise images with random labels: nothing generalises, so once the model starts
// memorising the training set the held-out loss rises.
void write_random_label_dataset(const std::string& dir, std::size_t train, std::size_t test) {
  xg::Rng rng(11);
  auto images = [&](std::size_t n) {
    std::vector<std::uint8_t> pixels(n * 36);
    for (auto& p : pixels) p = std::uint8_t(rng.below(256));
    return pixels;
  };
  auto labels = [&](std::size_t n) {
    std::vector<std::uint8_t> y(n);
    for (auto& v : y) v = std::uint8_t(rng.below(3));
    return y;
  };
  write_idx(dir + "/train-images-idx3-ubyte", {std::uint32_t(train), 6, 6}, images(train));
  write_idx(dir + "/train-labels-idx1-ubyte", {std::uint32_t(train)}, labels(train));
  write_idx(dir + "/t10k-images-idx3-ubyte", {std::uint32_t(test), 6, 6}, images(test));
  write_idx(dir + "/t10k-labels-idx1-ubyte", {std::uint32_t(test)}, labels(test));
}

}  // namespace

TEST_CASE("xgrad train: each optimizer, activation, init and schedule learns a toy data set") {
  TempDir dir;
  write_toy_dataset(dir.path(), 600, 150, 3, 6, 5);
  const std::string common = "train --data " + dir.path() + " --hidden 16 --epochs 6 --batch 32 --seed 3 --quiet";
  const char* variants[] = {
      "--optimizer adam --lr 0.01 --schedule exponential --gamma 0.8",
      "--optimizer adamw --lr 0.01 --weight-decay 0.05 --schedule step --step-size 2 --warmup-epochs 1",
      "--lr 0.05 --nesterov --weight-decay 1e-4 --schedule multistep --milestones 2,4 --activation tanh",
      "--lr 0.05 --activation leaky_relu --init kaiming_normal --init-mode fan_out --dropout 0.2 --l2 1e-4",
      "--lr 0.05 --activation sigmoid --init xavier_uniform --schedule plateau --plateau-patience 1 --l1 1e-5",
      "--lr 0.05 --label-smoothing 0.1 --class-weights 1,2,1 --clip-grad-norm 0.5 --schedule none",
      "--optimizer adam --lr 0.01 --betas 0.8,0.99 --eps 1e-6 --amsgrad",
      "--lr 0.05 --momentum 0.9 --dampening 0.3",
  };
  for (const char* v : variants) {
    const RunResult r = run_xgrad(common + " " + v);
    INFO(v << "\n" << r.out << r.err);
    CHECK(r.status == 0);
    if (r.status == 0) CHECK(final_accuracy(r.out) > 0.9);
  }
}

TEST_CASE("xgrad train --head sigmoid trains a 2-class subset") {
  TempDir dir;
  write_toy_dataset(dir.path(), 600, 150, 4, 6, 5);
  const RunResult r = run_xgrad("train --data " + dir.path() +
                                " --hidden 16 --epochs 5 --batch 32 --lr 0.05 --head sigmoid --classes-subset 2,3 --pos-weight 1.5");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("Linear(16 -> 1)") != std::string::npos);
  CHECK(final_accuracy(r.out) > 0.95);
  CHECK(r.out.find("sigmoid head") != std::string::npos);
}

TEST_CASE("xgrad train --val-split reports validation per epoch and the test set once; --early-stop stops") {
  TempDir dir;
  write_random_label_dataset(dir.path(), 400, 100);
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 64 --epochs 40 --batch 32 --lr 0.05 " +
                                "--schedule none --val-split 0.25 --early-stop 2 --quiet --metrics " + dir.file("m.jsonl"));
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("(100 held out for validation)") != std::string::npos);
  CHECK(r.out.find("val_loss") != std::string::npos);
  CHECK(r.out.find("test_loss") == std::string::npos);
  CHECK(r.out.find("early stop") != std::string::npos);
  const auto lines = lines_of(read_file(dir.file("m.jsonl")));
  CHECK(lines.size() < 40);
  const auto first = nlohmann::json::parse(lines.at(0));
  CHECK(first.contains("val_loss"));
  CHECK_FALSE(first.contains("test_loss"));
}

TEST_CASE("xgrad train: contradictory or bad toolbox flags are exit-2 errors naming the flags") {
  TempDir dir;
  write_toy_dataset(dir.path(), 64, 16, 3, 4, 4);
  const std::string common = "train --data " + dir.path() + " --epochs 2 ";
  const std::pair<const char*, const char*> cases[] = {
      {"--optimizer adam --momentum 0.5", "--momentum"},
      {"--optimizer adamw --nesterov", "--nesterov"},
      {"--momentum 0 --nesterov", "--nesterov"},
      {"--optimizer rmsprop", "--optimizer"},
      {"--head sigmoid", "--head sigmoid"},
      {"--head sigmoid --classes-subset 0,1 --class-weights 1,2", "--class-weights"},
      {"--pos-weight 2", "--pos-weight"},
      {"--label-smoothing 1", "--label-smoothing"},
      {"--class-weights 1,x,2", "--class-weights"},
      {"--class-weights 1,2", "--class-weights"},
      {"--schedule cosine --gamma 0.5", "--gamma"},
      {"--schedule multistep", "--milestones"},
      {"--step-size 2", "--step-size"},
      {"--schedule step --min-lr 0.001", "--min-lr"},
      {"--plateau-patience 3", "--plateau-patience"},
      {"--warmup-epochs 2", "--warmup-epochs"},
      {"--dropout 1", "--dropout"},
      {"--init orthogonal", "--init"},
      {"--init-mode fan_out", "--init-mode"},
      {"--val-split 0.999", "--val-split"},
      {"--classes-subset 1", "--classes-subset"},
      {"--classes-subset 0,7", "--classes-subset"},
      {"--clip-grad-norm -1", "--clip-grad-norm"},
      {"--optimizer adam --dampening 0.1", "--dampening"},
      {"--nesterov --dampening 0.5", "--dampening"},
      {"--dampening 1", "--dampening"},
      {"--betas 0.9,0.99", "--betas"},
      {"--amsgrad", "--amsgrad"},
      {"--optimizer adam --betas 0.9", "--betas"},
      {"--optimizer adam --betas 1,0.9", "--betas"},
      {"--optimizer adamw --eps 0", "--eps"},
  };
  for (const auto& [flags, named] : cases) {
    const RunResult r = run_xgrad(common + flags);
    INFO(flags << ": " << r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find(named) != std::string::npos);
    CHECK(lines_of(r.err).size() == 1);
  }
}

TEST_CASE("--betas, --eps, --amsgrad and --dampening reach the optimizer") {
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
  xg::TrainOptions o;
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

  xg::TrainOptions s;
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
