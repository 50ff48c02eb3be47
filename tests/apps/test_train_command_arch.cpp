// `xgrad train --arch` (apps/flags.cpp, train/build.cpp): a convolutional
// network trained, saved and used by every command that takes a model or a
// training run (eval, predict, explain, gradcheck, graph, lr-find, sweep,
// --resume), batch normalisation, and the layer lists that exit 2 with one line naming the bad token.
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

namespace fs = std::filesystem;
using namespace xg::testing;

namespace {
const char* const kSmallCnn = "conv4k3p1,relu,maxpool2,flatten,fc";
}  // namespace

TEST_CASE("train --arch cnn: the summary shows the conv layers, and eval, predict, explain and --resume use the model") {
  TempDir dir;
  write_toy_dataset(dir.path(), 200, 40, 3, 12, 12);
  const std::string model = dir.file("m.safetensors");
  const RunResult train =
      run_xgrad("train --data " + dir.path() + " --arch cnn --epochs 1 --batch 32 --threads 1 --save " + model);
  INFO(train.out << train.err);
  REQUIRE(train.status == 0);
  CHECK(train.out.find("0      Conv2d     (batch, 16, 12, 12)         160") != std::string::npos);
  CHECK(train.out.find("(batch, 288)") != std::string::npos);  // 32 channels x 3 x 3 after two pools

  const RunResult eval = run_xgrad("eval --model " + model + " --json");
  INFO(eval.err);
  REQUIRE(eval.status == 0);
  CHECK(nlohmann::json::parse(eval.out)["items"] == 40);
  const RunResult predict = run_xgrad("predict --model " + model + " --index 3 --json");
  INFO(predict.err);
  REQUIRE(predict.status == 0);
  CHECK(nlohmann::json::parse(predict.out)["predictions"][0]["logits"].size() == 3);
  const RunResult explain = run_xgrad("explain --model " + model + " --index 0");
  INFO(explain.err);
  CHECK(explain.status == 0);
  const RunResult resumed = run_xgrad("train --resume " + model + " --epochs 2 --threads 1 --quiet");
  INFO(resumed.out << resumed.err);
  CHECK(resumed.status == 0);
}

TEST_CASE("gradcheck compares a nudge that changes a max-pool window's winner with its kink allowance, not a failure") {
  TempDir dir;
  write_toy_dataset(dir.path(), 96, 16, 3, 8, 8);
  const RunResult r = run_xgrad("gradcheck --data " + dir.path() +
                                " --arch conv2k3p1,tanh,maxpool2,flatten,fc --batch 1 --samples 0");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  const auto row = r.out.find("\n0.weight");
  REQUIRE(row != std::string::npos);
  std::istringstream cells(r.out.substr(row + 1, r.out.find('\n', row + 1) - row - 1));
  std::string name, shape_a, shape_b, shape_c, shape_d, of, total;
  std::size_t checked = 0, kinked = 0;
  cells >> name >> shape_a >> shape_b >> shape_c >> shape_d >> checked >> of >> total >> kinked;
  CHECK(kinked > 0);        // 8x8 images, 4x4 windows of 2x2: some nudges of a conv weight change a winner ...
  CHECK(checked * 2 > 18);  // ... and most of the 18 weights are compared all the same
}

TEST_CASE("train --arch with avgpool: trains, saves, and eval, gradcheck and graph use it") {
  TempDir dir;
  write_toy_dataset(dir.path(), 96, 16, 3, 9, 9);
  const std::string arch = " --arch conv4k3p1,relu,avgpool3s2,flatten,fc";
  const std::string model = dir.file("m.safetensors");
  const RunResult train = run_xgrad("train --data " + dir.path() + arch + " --epochs 1 --batch 16 --threads 1 --save " + model);
  INFO(train.out << train.err);
  REQUIRE(train.status == 0);
  CHECK(train.out.find("2      AvgPool2d  (batch, 4, 4, 4)") != std::string::npos);  // 9x9, 3x3 windows, stride 2
  const RunResult eval = run_xgrad("eval --model " + model + " --json");
  INFO(eval.err);
  CHECK(eval.status == 0);
  const RunResult gradcheck = run_xgrad("gradcheck --data " + dir.path() + arch + " --batch 2 --samples 20");
  INFO(gradcheck.out << gradcheck.err);
  CHECK(gradcheck.status == 0);
  CHECK(gradcheck.out.find("AvgPool2d(3, stride 2)") != std::string::npos);
  CHECK(gradcheck.out.find("PASS: 4 of 4 parameters") != std::string::npos);
  const RunResult graph = run_xgrad("graph --data " + dir.path() + arch);
  INFO(graph.err);
  CHECK(graph.status == 0);
  CHECK(graph.out.find("avg_pool2d") != std::string::npos);
}

TEST_CASE("gradcheck, graph, lr-find and sweep take --arch") {
  TempDir dir;
  write_toy_dataset(dir.path(), 96, 16, 3, 8, 8);
  const std::string data = " --data " + dir.path() + " --arch " + kSmallCnn;
  // tanh and a stride instead of ReLU and a pool: a conv weight feeds every pixel, so nudging it
  // would almost always cross some ReLU kink or change some window's maximum.
  const RunResult gradcheck =
      run_xgrad("gradcheck --data " + dir.path() + " --arch conv4k3s2p1,tanh,flatten,fc --batch 4 --samples 20");
  INFO(gradcheck.out << gradcheck.err);
  CHECK(gradcheck.status == 0);
  CHECK(gradcheck.out.find("0.weight") != std::string::npos);
  CHECK(gradcheck.out.find("PASS: 4 of 4 parameters") != std::string::npos);
  const RunResult graph = run_xgrad("graph" + data + " --batch 2 --output " + dir.file("g.dot"));
  INFO(graph.err);
  CHECK(graph.status == 0);
  CHECK(read_file(dir.file("g.dot")).find("conv2d") != std::string::npos);
  const RunResult lr_find = run_xgrad("lr-find" + data + " --batch 16 --threads 1");
  INFO(lr_find.err);
  CHECK(lr_find.status == 0);
  const RunResult sweep = run_xgrad("sweep" + data + " --lr 0.01,0.1 --epochs 1 --batch 16 --threads 1");
  INFO(sweep.err);
  CHECK(sweep.status == 0);
}

TEST_CASE("train --arch: a bad layer list exits 2 with one line naming the token, writing nothing") {
  TempDir dir;
  write_toy_dataset(dir.path(), 40, 10, 3, 6, 5);
  const std::string out = dir.file("out");
  fs::create_directories(out);
  const std::string common = "train --data " + dir.path() + " --epochs 1 --threads 1 --save " + out + "/m.safetensors";
  struct Case {
    std::string arch, message;
  };
  for (const Case& c : {Case{"conv8,relu,maxpol2,flatten,fc", "--arch: 'maxpol2' (layer 2) is not a layer"},
                        Case{"conv8k3,relu,maxpool9,flatten,fc", "--arch: 'maxpool9' (layer 2) has a 9x9 window larger than its input (8x4x3)"},
                        Case{"conv8,fc", "--arch: 'fc' (layer 1) needs flat input"},
                        Case{"conv8,flatten,fc16", "--arch: 'fc16' (layer 2) ends the network"},
                        Case{"conv8,flatten,bn,fc", "--arch: 'bn' (layer 2) normalises the channels of images"}}) {
    const RunResult r = run_xgrad(common + " --arch " + c.arch);
    INFO(c.arch << ": " << r.err);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find(c.message) != std::string::npos);
  }
  const RunResult hidden = run_xgrad(common + " --arch cnn --hidden 64");
  CHECK(hidden.status == 2);
  CHECK(hidden.err.find("--hidden applies to --arch mlp only") != std::string::npos);
  CHECK(fs::is_empty(out));
}

TEST_CASE("train --arch with bn: trains, saves its running statistics, and eval, predict, --resume, gradcheck, graph, lr-find and sweep use it") {
  TempDir dir;
  write_toy_dataset(dir.path(), 96, 16, 3, 8, 8);
  const std::string arch = " --arch conv8k3p1,bn,relu,maxpool2,flatten,fc";
  const std::string model = dir.file("m.safetensors");
  const RunResult train = run_xgrad("train --data " + dir.path() + arch + " --epochs 1 --batch 16 --threads 1 --save " + model);
  INFO(train.out << train.err);
  REQUIRE(train.status == 0);
  CHECK(train.out.find("1      BatchNorm2d  (batch, 8, 8, 8)          16") != std::string::npos);  // γ and β
  const std::string header = read_file(model).substr(0, 4096);
  CHECK(header.find("\"1.running_mean\"") != std::string::npos);
  CHECK(header.find("\"1.running_var\"") != std::string::npos);
  CHECK(header.find("\"1.num_batches_tracked\":{\"data_offsets\"") != std::string::npos);
  const RunResult eval = run_xgrad("eval --model " + model + " --json");
  INFO(eval.err);
  REQUIRE(eval.status == 0);
  CHECK(nlohmann::json::parse(eval.out)["items"] == 16);
  const RunResult predict = run_xgrad("predict --model " + model + " --index 3 --json");
  INFO(predict.err);
  CHECK(predict.status == 0);
  const RunResult resumed = run_xgrad("train --resume " + model + " --epochs 2 --threads 1 --quiet");
  INFO(resumed.out << resumed.err);
  CHECK(resumed.status == 0);
  const RunResult again = run_xgrad("eval --model " + model + " --json");
  CHECK(again.status == 0);

  // tanh after bn: no ReLU kink for the nudges to cross. A conv weight before bn moves its
  // channel's mean and variance too, so the loss curves more in it: at h = 0.01 the central
  // difference's own error reaches 1e-3 (it shrinks as h², to 6e-5 at h = 0.001).
  const RunResult gradcheck = run_xgrad("gradcheck --data " + dir.path() +
                                        " --arch conv4k3s2p1,bn,tanh,flatten,fc --batch 4 --samples 20 --step 0.001 --atol 0.001");
  INFO(gradcheck.out << gradcheck.err);
  CHECK(gradcheck.status == 0);
  CHECK(gradcheck.out.find("PASS: 6 of 6 parameters") != std::string::npos);  // 1.weight and 1.bias; no buffers
  const RunResult graph = run_xgrad("graph --data " + dir.path() + arch + " --batch 2 --output " + dir.file("g.dot"));
  INFO(graph.err);
  CHECK(graph.status == 0);
  CHECK(read_file(dir.file("g.dot")).find("batch_norm2d") != std::string::npos);
  const RunResult lr_find = run_xgrad("lr-find --data " + dir.path() + arch + " --batch 16 --threads 1");
  INFO(lr_find.err);
  CHECK(lr_find.status == 0);
  const RunResult sweep = run_xgrad("sweep --data " + dir.path() + arch + " --lr 0.01,0.1 --epochs 1 --batch 16 --threads 1");
  INFO(sweep.err);
  CHECK(sweep.status == 0);
}
