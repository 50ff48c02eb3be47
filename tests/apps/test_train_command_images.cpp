// `xgrad train --data DIR` on image folders (datasets/image_folder.hpp): a
// run on a tiny generated folder, --channels, --image-size, --test-split (and
// its refusal where DIR/train and DIR/test leave nothing to split), the
// bad folders (exit 2, one line naming the path) and --augment.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/files.hpp"
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
