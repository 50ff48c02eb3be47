// Checkpoints: safetensors round trips, save/load with identical logits,
// resume equivalence, --save-best, and a crash during a save.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "train/checkpoint.hpp"
#include "train/experiment.hpp"
#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "test_support.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

bool same_bits(const Array& a, const Array& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.size(), b.data(), [](float x, float y) {
           return std::memcmp(&x, &y, sizeof x) == 0;
         });
}

std::string toy(const TempDir& dir) {
  write_toy_dataset(dir.path(), 300, 60, 3, 6, 5);
  return dir.path();
}

}  // namespace

TEST_CASE("safetensors: encode then decode gives the same tensors, metadata and byte layout") {
  Array w = {{1.0f, -2.5f, 3.0f}, {4.0f, 5.0f, 1e-30f}};
  Array b = {0.5f, -0.5f};
  Array scalar = 7.0f;
  const std::string bytes = encode_safetensors({{"0.weight", &w}, {"0.bias", &b}, {"s", &scalar}}, {{"k", "v"}});
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | std::uint8_t(bytes[std::size_t(i)]);
  CHECK(n % 8 == 0);
  CHECK(bytes[8] == '{');
  CHECK(bytes.size() == 8 + n + (6 + 2 + 1) * 4);
  const Safetensors file = decode_safetensors(bytes, "x");
  REQUIRE(file.tensors.size() == 3);
  CHECK(file.tensors[0].first == "0.weight");
  CHECK(same_bits(*file.find("0.weight"), w));
  CHECK(same_bits(*file.find("0.bias"), b));
  CHECK(file.find("s")->dimension() == 0);
  CHECK(file.metadata.at("k") == "v");
  CHECK(file.find("nope") == nullptr);
}

TEST_CASE("checkpoint: save then load gives a model with bit-identical logits") {
  TempDir dir;
  TrainOptions o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 1;
  o.save = dir.file("m.safetensors");
  Experiment run(o, load_training_data(o));
  Checkpointer checkpoints(o, run);
  run.run_epoch(1);
  checkpoints.after_epoch(1, run.last_evaluation().loss, "");

  LoadedModel loaded = load_model(o.save);
  CHECK(loaded.info.layers == std::vector<std::size_t>{30, 8, 3});
  CHECK(loaded.info.input_shape == std::vector<std::size_t>{6, 5});
  CHECK(loaded.info.classes.size() == 3);
  CHECK(loaded.info.epoch == 1);
  CHECK(loaded.info.data_sha256.size() == 64);
  CHECK(loaded.info.config.at("hidden") == "8");
  const Split& test = run.data().test;
  const Array from_file = model_logits(loaded, test);
  LoadedModel live{o.save, loaded.info, std::shared_ptr<Sequential>(&run.model(), [](Sequential*) {})};
  const Array from_memory = model_logits(live, test);
  CHECK(same_bits(from_file, from_memory));
  // And the same loss as training's own evaluation.
  CHECK(evaluate(*loaded.model, test, loaded.normalization(), 3).loss == doctest::Approx(run.last_evaluation().loss).epsilon(1e-6));
}

TEST_CASE("checkpoint: sha256 matches the FIPS 180-4 test vectors") {
  CHECK(sha256_hex(reinterpret_cast<const std::uint8_t*>("abc"), 3) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex(nullptr, 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(reinterpret_cast<const std::uint8_t*>(two_blocks.data()), two_blocks.size()) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("checkpoint: 2 epochs + resume 2 epochs equals 4 straight epochs, bit for bit (cosine schedule)") {
  TempDir dir;
  TrainOptions o;
  o.data = toy(dir);
  o.hidden = "8";
  o.epochs = 4;
  o.batch = 16;
  o.seed = 5;
  auto data = load_training_data(o);

  Experiment straight(o, data);
  std::vector<double> straight_losses;
  for (std::size_t e = 1; e <= 4; ++e) straight_losses.push_back(straight.run_epoch(e).train_loss);

  TrainOptions first = o;
  first.save = dir.file("a.safetensors");
  {
    Experiment run(first, data);
    Checkpointer checkpoints(first, run);
    for (std::size_t e = 1; e <= 2; ++e) {
      CHECK(run.run_epoch(e).train_loss == straight_losses[e - 1]);
      checkpoints.after_epoch(e, run.last_evaluation().loss, "");
    }
  }
  TrainOptions second = o;
  second.resume = first.save;
  Experiment resumed(second, data);
  Checkpointer checkpoints(second, resumed);
  REQUIRE(checkpoints.first_epoch() == 3);
  for (std::size_t e = 3; e <= 4; ++e) CHECK(resumed.run_epoch(e).train_loss == straight_losses[e - 1]);
  const auto a = straight.model().named_parameters(), b = resumed.model().named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i].second.value(), b[i].second.value()));
}

TEST_CASE("checkpoint: xgrad train --resume continues a run exactly and keeps the metrics lines") {
  TempDir dir;
  const std::string common = "train --data " + toy(dir) + " --hidden 8 --batch 16 --schedule none --quiet --threads 1";
  const RunResult straight = run_xgrad(common + " --epochs 4 --save " + dir.file("s.safetensors") + " --metrics " + dir.file("s.jsonl"));
  REQUIRE(straight.status == 0);
  const RunResult first = run_xgrad(common + " --epochs 2 --save " + dir.file("r.safetensors") + " --metrics " + dir.file("r.jsonl"));
  REQUIRE(first.status == 0);
  const RunResult second = run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 4 --quiet --threads 1 --save " +
                                     dir.file("r.safetensors") + " --metrics " + dir.file("r.jsonl"));
  INFO(second.err);
  REQUIRE(second.status == 0);
  CHECK(second.out.find("epoch  3/4") != std::string::npos);
  CHECK(second.out.find("epoch  1/4") == std::string::npos);

  const Safetensors s = read_safetensors(dir.file("s.safetensors")), r = read_safetensors(dir.file("r.safetensors"));
  REQUIRE(s.tensors.size() == r.tensors.size());
  for (std::size_t i = 0; i < s.tensors.size(); ++i) CHECK(same_bits(s.tensors[i].second, r.tensors[i].second));
  CHECK(metrics_mismatch(dir.file("s.jsonl"), dir.file("r.jsonl"), 4, {"train_loss", "train_acc", "test_loss"}) == "");

  // A training flag that contradicts the checkpoint is refused, naming it.
  const RunResult changed = run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 6 --lr 0.5 --quiet");
  CHECK(changed.status == 2);
  CHECK(changed.err.find("--lr") != std::string::npos);
  CHECK(lines_of(changed.err).size() == 1);
  // Nothing left to do.
  const RunResult done = run_xgrad("train --resume " + dir.file("r.safetensors") + " --epochs 4 --quiet");
  CHECK(done.status == 2);
  CHECK(done.err.find("--epochs") != std::string::npos);
}

TEST_CASE("checkpoint: --save-best keeps the epoch with the lowest test loss") {
  TempDir dir;
  const RunResult r = run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 3 --quiet --threads 1 --metrics " +
                                dir.file("m.jsonl") + " --save-best " + dir.file("best.safetensors"));
  REQUIRE(r.status == 0);
  std::size_t best_epoch = 0;
  double best = 1e300;
  for (const std::string& line : lines_of(read_file(dir.file("m.jsonl")))) {
    const auto j = nlohmann::json::parse(line);
    if (j["test_loss"].get<double>() < best) {
      best = j["test_loss"].get<double>();
      best_epoch = j["epoch"].get<std::size_t>();
    }
  }
  CHECK(load_model(dir.file("best.safetensors")).info.epoch == best_epoch);
}

TEST_CASE("checkpoint: a process killed while saving leaves the previous checkpoint intact") {
  TempDir dir;
  const std::string data = toy(dir);
  const std::string path = dir.file("m.safetensors");
  const std::string args = " train --data " + data + " --hidden 64 --epochs 1 --quiet --threads 1 --save " + path;
  REQUIRE(run_xgrad(args).status == 0);
  const std::string before = read_file(path);
  REQUIRE(before.size() > 4096);
  // A file-size limit of 4 KiB: the write of the (bigger) checkpoint fails
  // half-way and the kernel kills the process with SIGXFSZ, like a crash or a full disk.
  const std::string command = "bash -c 'ulimit -f 4; exec " + std::string(XGRAD_BINARY) + args +
                              " --seed 9' >/dev/null 2>&1";
  const int raw = std::system(command.c_str());
  CHECK(!(WIFEXITED(raw) && WEXITSTATUS(raw) == 0));
  CHECK(read_file(path) == before);
  CHECK(load_model(path).info.epoch == 1);
}

TEST_CASE("checkpoint: loading into a different architecture names the tensor and both shapes") {
  TempDir dir;
  Rng rng(1);
  auto small = make_mlp({30, 8, 3}, rng);
  auto other = make_mlp({30, 9, 3}, rng);
  std::vector<std::pair<std::string, const Array*>> tensors;
  const auto named = small->named_parameters();
  for (const auto& [name, t] : named) tensors.emplace_back(name, &t.value());
  const Safetensors file = decode_safetensors(encode_safetensors(tensors, {}), "small.safetensors");
  try {
    load_weights(*other, file, "small.safetensors");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    const std::string m = e.what();
    CHECK(m.find("'0.weight'") != std::string::npos);
    CHECK(m.find("(8, 30)") != std::string::npos);
    CHECK(m.find("(9, 30)") != std::string::npos);
  }
}

TEST_CASE("checkpoint: optimizer state() and load_state() continue SGD and Adam exactly") {
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
  SUBCASE("Adam with amsgrad") {
    AdamOptions o;
    o.amsgrad = true;
    run([o](std::vector<Tensor> p) { return std::make_unique<Adam>(std::move(p), 0.01f, o); });
  }
}

TEST_CASE("checkpoint: eval rebuilds the architecture train used (activation, dropout, a sigmoid head)") {
  TempDir dir;
  for (const std::string flags : {"--activation tanh", "--activation leaky_relu --dropout 0.3"}) {
    INFO(flags);
    const std::string model = dir.file("m.safetensors");
    const RunResult trained = run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 2 --quiet --threads 1 " + flags +
                                        " --save " + model + " --metrics " + dir.file("m.jsonl"));
    REQUIRE(trained.status == 0);
    const auto lines = lines_of(read_file(dir.file("m.jsonl")));
    const double trained_acc = nlohmann::json::parse(lines.back()).at("test_acc").get<double>();
    const RunResult evaluated = run_xgrad("eval --json --model " + model);
    INFO(evaluated.err);
    REQUIRE(evaluated.status == 0);
    // the same weights through the same architecture: the same accuracy
    CHECK(nlohmann::json::parse(evaluated.out).at("accuracy").get<double>() == trained_acc);
  }
  const RunResult sigmoid = run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 2 --quiet --head sigmoid --classes-subset 0,1 --save " +
                                      dir.file("s.safetensors") + " --metrics " + dir.file("s.jsonl"));
  REQUIRE(sigmoid.status == 0);
  // A sigmoid head: eval's accuracy and loss are training's (binary cross-entropy), predict gives
  // P(class 1) = sigmoid(z) from the scores (0, z), and explain walks them through.
  const auto lines = lines_of(read_file(dir.file("s.jsonl")));
  const nlohmann::json last = nlohmann::json::parse(lines.back());
  const RunResult evaluated = run_xgrad("eval --json --model " + dir.file("s.safetensors"));
  INFO(evaluated.err);
  REQUIRE(evaluated.status == 0);
  const nlohmann::json report = nlohmann::json::parse(evaluated.out);
  CHECK(report.at("accuracy").get<double>() == last.at("test_acc").get<double>());
  CHECK(report.at("loss").get<double>() == doctest::Approx(last.at("test_loss").get<double>()).epsilon(1e-5));
  CHECK(report.at("classes").size() == 2);
  const RunResult predicted = run_xgrad("predict --json --model " + dir.file("s.safetensors") + " --index 0");
  REQUIRE(predicted.status == 0);
  const nlohmann::json item = nlohmann::json::parse(predicted.out).at("predictions").at(0);
  const double z = item.at("logits").at(1).get<double>();
  CHECK(item.at("logits").at(0).get<double>() == 0.0);
  CHECK(item.at("probabilities").at(1).get<double>() == doctest::Approx(1.0 / (1.0 + std::exp(-z))).epsilon(1e-6));
  const RunResult explained = run_xgrad("explain --model " + dir.file("s.safetensors") + " --index 0");
  REQUIRE(explained.status == 0);
  CHECK(explained.out.find("sigmoid head") != std::string::npos);
}

TEST_CASE("checkpoint: a state file whose monitored_losses do not fit its epochs is refused with one line") {
  TempDir dir;
  const std::string model = dir.file("r.safetensors");
  REQUIRE(run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 2 --quiet --threads 1 --save " + model).status == 0);
  const Safetensors state = read_safetensors(state_path(model));
  nlohmann::json doc = nlohmann::json::parse(state.metadata.at("xgrad_state"));
  REQUIRE(doc.at("monitored_losses").size() == 2);
  std::vector<std::pair<std::string, const Array*>> tensors;
  for (const auto& [name, array] : state.tensors) tensors.emplace_back(name, &array);
  for (const nlohmann::json& losses : {nlohmann::json::array({0.5}), nlohmann::json::array({0.5, "x"})}) {
    doc["monitored_losses"] = losses;
    write_safetensors(state_path(model), tensors, {{"xgrad_state", doc.dump()}});
    const auto before = std::filesystem::last_write_time(model);
    const RunResult r = run_xgrad("train --resume " + model + " --epochs 4 --quiet");
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find("monitored_losses") != std::string::npos);
    CHECK(std::filesystem::last_write_time(model) == before);  // nothing was saved over it
  }
}
