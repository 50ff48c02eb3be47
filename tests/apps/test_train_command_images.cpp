// `xgrad train --data DIR` on image folders (datasets/image_folder.hpp): a
// run on a tiny generated folder, --channels, --image-size, --test-split (and
// its refusal where DIR/train and DIR/test leave nothing to split), the
// bad folders (exit 2, one line naming the path), --augment, and a --channels 3
// model's per-channel mean and std through train, save, eval and predict.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.hpp"
#include "datasets/image_file.hpp"
#include "io/model_file.hpp"
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"
#include "tests/support/hostile_checkpoints.hpp"
#include "tests/support/image_files.hpp"
#include "tests/support/run_xgrad.hpp"

namespace fs = std::filesystem;
using namespace xg::testing;

namespace {

// Bad input: status 2, exactly one line on stderr, which contains `mention`, and no model written.
void check_refused(const std::string& args, const std::string& mention) {
  const RunResult r = run_xgrad(args);
  INFO("xgrad " << args << "\nstderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find(mention) != std::string::npos);
}

}  // namespace

TEST_CASE("cli images: train on DIR/train and DIR/test, save, and eval the model on the same folder") {
  TempDir dir;
  write_image_folder(dir.file("data/train"), 3, 20);
  write_image_folder(dir.file("data/test"), 3, 4, 8, 8, "t");
  const std::string model = dir.file("m.safetensors");
  const RunResult r = run_xgrad("train --data " + dir.file("data") + " --epochs 4 --batch 8 --save " + model);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("data   " + dir.file("data") + ": 60 train / 12 test images of 8x8, 3 classes") != std::string::npos);
  CHECK(r.out.find("final test accuracy 1.0000") != std::string::npos);  // a bar at a different row per class
  const RunResult e = run_xgrad("eval --model " + model);
  INFO(e.err);
  CHECK(e.status == 0);
  CHECK(e.out.find("accuracy") != std::string::npos);
}

TEST_CASE("cli images: --test-split on a folder with train/ and test/ is refused, not ignored") {
  TempDir dir;
  write_image_folder(dir.file("data/train"), 2, 6);
  write_image_folder(dir.file("data/test"), 2, 2, 8, 8, "t");
  const std::string data = dir.file("data");
  const std::string mention = "--test-split does not apply to " + data + ": it has train/ and test/ folders";
  check_refused("train --data " + data + " --test-split 0.3 --no-save", mention);
  check_refused("lr-find --data " + data + " --test-split 0.3", mention);
  // The same for CSV data with a test file (datasets/csv.hpp): one or the other.
  TempDir csv;
  std::ofstream(csv.file("train.csv")) << "label,a\n0,1\n1,2\n";
  std::ofstream(csv.file("test.csv")) << "label,a\n0,1\n";
  check_refused("train --data " + csv.file("train.csv") + " --test " + csv.file("test.csv") + " --test-split 0.3 --no-save",
                "give --test FILE.csv or --test-split, not both");
}

TEST_CASE("cli images: DIR/<class> with --test-split, --channels 3 and --image-size") {
  TempDir dir;
  write_image_folder(dir.path(), 2, 10, 8, 6);
  const RunResult r = run_xgrad("train --data " + dir.path() + " --test-split 0.3 --channels 3 --image-size 5,4 --epochs 1 --no-save");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find(": 14 train / 6 test images of 5x4 RGB, 2 classes") != std::string::npos);
  CHECK(r.out.find("Linear(60 -> 256)") != std::string::npos);  // 3 x 5 x 4 inputs
  check_refused("train --data " + dir.path() + " --channels 2 --no-save", "--channels must be 1 (grey) or 3 (RGB), got 2");
  check_refused("train --data " + dir.path() + " --image-size 28 --no-save", "--image-size must be H,W");
  check_refused("train --data " + dir.path() + " --image-size 0,5 --no-save", "--image-size must be H,W");
  check_refused("train --data " + dir.path() + " --test-split 1.5 --no-save", "--test-split must be in [0, 1)");
}

TEST_CASE("cli images: a --channels 3 model saves, and eval and predict load it") {
  TempDir dir;
  write_image_folder(dir.path(), 2, 10, 8, 6);
  const std::string model = dir.file("rgb.safetensors");
  for (const std::string arch : {"mlp", "conv4k3p1,relu,maxpool2,flatten,fc"}) {
    INFO(arch);
    const RunResult r = run_xgrad("train --data " + dir.path() + " --test-split 0.3 --channels 3 --arch " + arch +
                                  " --epochs 1 --save " + model);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const RunResult e = run_xgrad("eval --model " + model);
    INFO(e.err);
    CHECK(e.status == 0);
    CHECK(e.out.find("accuracy") != std::string::npos);
    const RunResult p = run_xgrad("predict --model " + model + " " + dir.file("c1/0.png"));
    INFO(p.err);
    CHECK(p.status == 0);
    CHECK(p.out.find(dir.file("c1/0.png")) != std::string::npos);
  }
}

TEST_CASE("cli images: a --channels 3 model keeps a mean and std per channel, and predict, eval and explain apply them") {
  TempDir dir;
  write_rgb_image_folder(dir.file("data/train"), 2, 8);  // red 255, green a bar per class, blue in every other image
  write_rgb_image_folder(dir.file("data/test"), 2, 2);
  const std::string model = dir.file("rgb.safetensors");
  const RunResult r = run_xgrad("train --data " + dir.file("data") + " --channels 3 --arch conv4k3p1,relu,maxpool2,flatten,fc"
                                " --epochs 2 --batch 4 --threads 1 --save " + model);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const std::string text = xg::read_safetensors_header(model).metadata.at("xgrad");
  const nlohmann::json info = nlohmann::json::parse(text);
  CHECK(info["input_shape"] == nlohmann::json{3, 8, 8});
  CHECK(info["mean"].get<std::vector<float>>() == std::vector<float>{1.0f, 0.125f, 0.5f});
  CHECK(info["std"].get<std::vector<float>>() == std::vector<float>{1.0f, float(std::sqrt(0.125 * 0.875)), 0.5f});

  // predict's logits for a picture are the network's on (pixel/255 - mean_c)/std_c of each channel c.
  const std::string picture = dir.file("data/test/c1/1.png");
  const RunResult p = run_xgrad("predict --model " + model + " --json --invert no " + picture);
  INFO(p.err);
  REQUIRE(p.status == 0);
  const std::vector<float> logits = nlohmann::json::parse(p.out)["predictions"][0]["logits"].get<std::vector<float>>();
  xg::LoadedModel loaded = xg::load_model(model);
  const xg::Image image = xg::read_image(picture, 3);
  xg::Array x = xt::zeros<float>({std::size_t(1), std::size_t(3 * 64)});
  for (std::size_t j = 0; j < 3 * 64; ++j) {
    const std::size_t c = j / 64;
    x(0, j) = (image.pixels[j] / 255.0f - loaded.info.mean[c]) / loaded.info.std[c];
  }
  xg::NoGradGuard no_grad;
  loaded.model->eval();
  const xg::Tensor expected = (*loaded.model)(xg::Tensor(x));
  REQUIRE(logits.size() == 2);
  for (std::size_t k = 0; k < 2; ++k) CHECK(logits[k] == doctest::Approx(expected.data()[k]).epsilon(1e-5));

  const RunResult e = run_xgrad("eval --model " + model);
  INFO(e.err);
  CHECK(e.status == 0);
  CHECK(e.out.find("accuracy") != std::string::npos);
  const RunResult x1 = run_xgrad("explain --model " + model + " --index 1");
  INFO(x1.err);
  CHECK(x1.status == 0);

  // Metadata that lies about the count (2 means for 3 channels; 3 for a grey
  // model) is refused before any tensor is read: exit 2, one line naming the
  // file and the field, nothing written.
  const xg::Safetensors file = xg::read_safetensors(model);
  std::vector<std::pair<std::string, const xg::Array*>> tensors;
  for (const auto& [name, array] : file.tensors) tensors.emplace_back(name, &array);
  auto with_info = [&](const nlohmann::json& doc) { xg::write_safetensors(model, tensors, {{"xgrad", doc.dump()}}); };
  nlohmann::json two = info;
  two["mean"] = {0.5, 0.5};
  with_info(two);
  for (const std::string& command : {"eval --model " + model, "predict --model " + model + " " + picture,
                                    "explain --model " + model + " --index 0"}) {
    CAPTURE(command);
    xg::testing::check_refused(command, model, "\"mean\" and \"std\" must hold 3 values each (one per channel)", dir.path());
  }
  nlohmann::json grey_shape = info;
  grey_shape["input_shape"] = {1u, 8u, 8u};
  grey_shape["input_chw"] = {1u, 8u, 8u};
  grey_shape["layers"] = {64u, 2u};
  with_info(grey_shape);
  xg::testing::check_refused("eval --model " + model, model, "must hold 1 value each (one per channel)", dir.path());
  // One value for three channels, as an older xgrad wrote, still loads.
  nlohmann::json older = info;
  older["mean"] = {0.5};
  older["std"] = {0.5};
  with_info(older);
  CHECK(run_xgrad("eval --model " + model).status == 0);
}

TEST_CASE("cli images: bad folders exit 2 with one line") {
  SUBCASE("an empty class folder") {
    TempDir dir;
    write_image_folder(dir.path(), 2, 3);
    fs::create_directories(dir.file("c2"));
    check_refused("train --data " + dir.path(), dir.file("c2") + ": empty class folder");
  }
  SUBCASE("a file that is not an image, named by its path") {
    TempDir dir;
    write_image_folder(dir.path(), 2, 3);
    write_bytes(dir.file("c0/sub/photo.jpg"), "<html>not a photo</html>");
    check_refused("train --data " + dir.path(), dir.file("c0/sub/photo.jpg") + ": not a PGM (P2/P5), PNG or JPEG image");
  }
  SUBCASE("a single class") {
    TempDir dir;
    write_image_folder(dir.file("train"), 1, 3);
    write_image_folder(dir.file("test"), 1, 3);
    check_refused("train --data " + dir.path(), "only one class folder (c0)");
  }
  SUBCASE("over 1,000 classes") {
    TempDir dir;
    for (int k = 0; k <= 1000; ++k) fs::create_directories(dir.file("class" + std::to_string(k)));
    check_refused("train --data " + dir.path(), "more than 1000 class folders");
  }
  SUBCASE("a symbolic link loop") {
    TempDir dir;
    write_image_folder(dir.path(), 2, 3);
    fs::create_directory_symlink(dir.file("c0"), dir.file("c0/again"));
    check_refused("train --data " + dir.path(), dir.file("c0/again") + ": symbolic link loop");
  }
  SUBCASE("images of different sizes without --image-size") {
    TempDir dir;
    write_image_folder(dir.path(), 2, 3);
    write_bytes(dir.file("c1/z.png"), png(9, 8, std::vector<std::uint8_t>(72, 1)));
    check_refused("train --data " + dir.path(), dir.file("c1/z.png") + ": image is 9x8 (width x height) but the first image");
  }
  SUBCASE("image-folder flags on other data") {
    TempDir dir;
    write_bytes(dir.file("t.csv"), "label,x\n0,1\n1,2\n0,3\n1,4\n");
    check_refused("train --data " + dir.file("t.csv") + " --channels 3", "--channels applies to image folders only");
    check_refused("train --data " + dir.file("t.csv") + " --augment flip", "--augment applies to images only");
  }
}

TEST_CASE("cli images: --augment is seeded and bit-identical at any thread count, and changes the run") {
  TempDir dir;
  write_image_folder(dir.file("data/train"), 3, 30, 10, 10);
  write_image_folder(dir.file("data/test"), 3, 5, 10, 10, "t");
  const std::string base = "train --data " + dir.file("data") + " --epochs 3 --batch 16 --seed 4 --no-save --metrics ";
  const std::vector<std::string> keys = {"train_loss", "train_acc", "test_loss", "test_acc"};
  const RunResult one = run_xgrad(base + dir.file("one.jsonl") + " --augment shift=2,flip --threads 1");
  const RunResult two = run_xgrad(base + dir.file("two.jsonl") + " --augment shift=2,flip --threads 2");
  const RunResult plain = run_xgrad(base + dir.file("plain.jsonl"));
  INFO(one.err << two.err << plain.err);
  REQUIRE(one.status == 0);
  REQUIRE(two.status == 0);
  REQUIRE(plain.status == 0);
  CHECK(metrics_mismatch(dir.file("one.jsonl"), dir.file("two.jsonl"), 3, keys) == "");
  CHECK(metrics_mismatch(dir.file("one.jsonl"), dir.file("plain.jsonl"), 3, {"train_loss"}) != "");
  const std::string edge = base + dir.file("edge.jsonl") + " --augment shift=2,fill=edge";
  REQUIRE(run_xgrad(edge).status == 0);
  CHECK(metrics_mismatch(dir.file("one.jsonl"), dir.file("edge.jsonl"), 3, {"train_loss"}) != "");
  const std::string data = "train --no-save --data " + dir.file("data");
  check_refused(data + " --augment shift=2,spin", "--augment 'shift=2,spin': 'spin' is not an augmentation");
  check_refused(data + " --augment shift=100", "'shift=100' is out of range");
  check_refused(data + " --augment shift=10", "--augment shift=10 must be smaller than the images' sides (10x10 images)");
}
