// datasets/image_dataset and datasets/dataset: an MNIST-style directory in
// every file spelling, classes.txt, inconsistent data sets named file by file,
// class-name lists, truncate and compute_normalization, and the real
// Fashion-MNIST when it is installed.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_dataset.hpp"
#include "tests/support/files.hpp"
#include "tests/support/idx_files.hpp"

namespace fs = std::filesystem;
using namespace xg::testing;

TEST_CASE("load_image_dataset finds files in both naming styles, raw or gzip, any image size") {
  TempDir dir;
  DatasetSpec spec;  // 6 train, 4 test, 5x7 images
  SUBCASE("dashed names, gzip") { spec.dotted = false; spec.gz = true; }
  SUBCASE("dashed names, raw") { spec.dotted = false; spec.gz = false; }
  SUBCASE("dotted names, gzip") { spec.dotted = true; spec.gz = true; }
  SUBCASE("dotted names, raw") { spec.dotted = true; spec.gz = false; }
  spec.max_label = 4;
  write_dataset(dir, spec);

  const xg::Dataset data = xg::load_image_dataset(dir.path());
  CHECK(data.name == dir.path());
  CHECK(data.source == dir.path());
  CHECK(data.train.count == 6);
  CHECK(data.test.count == 4);
  CHECK(data.train.shape == std::vector<std::size_t>{5, 7});
  CHECK(data.train.features() == 35);
  CHECK(data.train.pixels == pattern(6 * 35, 1));
  CHECK(data.test.pixels == pattern(4 * 35, 2));
  CHECK(data.train.labels == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 4});
  // No classes.txt: "0".."max label".
  CHECK(data.class_names == std::vector<std::string>{"0", "1", "2", "3", "4"});
}

TEST_CASE("load_image_dataset reads classes.txt and checks labels against it") {
  TempDir dir;
  DatasetSpec spec;
  spec.max_label = 2;
  write_dataset(dir, spec);
  write_raw(dir.file("classes.txt"), {'c', 'a', 't', '\n', '\n', 'd', 'o', 'g', '\r', '\n', 'b', 'i', 'r', 'd'});
  CHECK(xg::load_image_dataset(dir.path()).class_names == std::vector<std::string>{"cat", "dog", "bird"});

  write_raw(dir.file("classes.txt"), {'c', 'a', 't', '\n', 'd', 'o', 'g', '\n'});
  const std::string msg = input_error([&] { xg::load_image_dataset(dir.path()); });
  CHECK(contains(msg, dir.file("train-labels-idx1-ubyte.gz")));
  CHECK(contains(msg, "label 2"));
  CHECK(contains(msg, "out of range"));
  CHECK(contains(msg, "classes.txt"));
}

TEST_CASE("load_image_dataset rejects inconsistent datasets") {
  TempDir dir;
  DatasetSpec spec;
  write_dataset(dir, spec);

  SUBCASE("image count != label count") {
    write_gz(dir.file("train-labels-idx1-ubyte.gz"), idx_file(8, {5}, {0, 1, 2, 3, 4}));
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path()); });
    CHECK(contains(msg, dir.file("train-images-idx3-ubyte.gz")));
    CHECK(contains(msg, "holds 6 images but " + (dir.file("train-labels-idx1-ubyte.gz")) + " holds 5 labels"));
  }
  SUBCASE("train and test image sizes differ") {
    write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_file(8, {4, 7, 5}, pattern(4 * 35)));
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path()); });
    CHECK(contains(msg, dir.file("t10k-images-idx3-ubyte.gz")));
    CHECK(contains(msg, "7x5"));
    CHECK(contains(msg, "5x7"));
  }
  SUBCASE("labels file where the images should be") {
    write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_file(8, {6}, {0, 1, 2, 3, 4, 5}));
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path()); });
    CHECK(contains(msg, dir.file("train-images-idx3-ubyte.gz")));
    CHECK(contains(msg, "3 dimensions"));
  }
  SUBCASE("images file where the labels should be") {
    write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_file(8, {4, 5, 7}, pattern(4 * 35)));
    CHECK(contains(input_error([&] { xg::load_image_dataset(dir.path()); }), "1 dimension"));
  }
  SUBCASE("missing file lists every spelling it tried") {
    fs::remove(dir.file("t10k-labels-idx1-ubyte.gz"));
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path()); });
    CHECK(contains(msg, dir.path()));
    CHECK(contains(msg, "t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz"));
  }
  SUBCASE("a corrupt file inside the dataset is named") {
    write_raw(dir.file("train-images-idx3-ubyte.gz"), {1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(contains(input_error([&] { xg::load_image_dataset(dir.path()); }), dir.file("train-images-idx3-ubyte.gz")));
  }
}

TEST_CASE("load_image_dataset compares every header before it reads any data") {
  TempDir dir;
  DatasetSpec spec;
  write_dataset(dir, spec);
  SUBCASE("a gzip bomb of images (784 MB inflated, under 1 MB on disk) with 6 labels") {
    write_gz_zeros(dir.file("train-images-idx3-ubyte.gz"), {1000000, 28, 28}, 784000000);
    CHECK(fs::file_size(dir.file("train-images-idx3-ubyte.gz")) < 1000000);
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path()); });
    CHECK(msg == dir.file("train-images-idx3-ubyte.gz") + " holds 1000000 images but " + dir.file("train-labels-idx1-ubyte.gz") +
                     " holds 6 labels");
  }
  SUBCASE("the test split's sizes are checked before the training data is read") {
    write_gz_zeros(dir.file("train-images-idx3-ubyte.gz"), {6, 10000, 10000}, 600000000);
    write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_file(8, {4, 5, 7}, pattern(4 * 35)));
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path()); });
    CHECK(contains(msg, "test images are 5x7 images but the train images in " + dir.file("train-images-idx3-ubyte.gz") +
                            " are 10000x10000 images"));
  }
}

TEST_CASE("load_image_dataset: labels number the classes 0..K-1, every class with a training example") {
  TempDir dir;
  DatasetSpec spec;
  write_dataset(dir, spec);
  const std::string train_labels = dir.file("train-labels-idx1-ubyte.gz"), test_labels = dir.file("t10k-labels-idx1-ubyte.gz");
  SUBCASE("a label of 255 among three classes present is refused, not read as 256 classes") {
    write_gz(train_labels, idx_file(8, {6}, {0, 1, 0, 255, 1, 0}));
    CHECK(input_error([&] { xg::load_image_dataset(dir.path()); }) ==
          train_labels + ": label 255 (item 3) makes 256 classes, but only 3 of them have a training example (class 2 has "
                         "none); labels must number the classes 0..K-1; hint: renumber them 0..2, or name every class in classes.txt");
    // Named classes (classes.txt) may have no example.
    std::string names;
    for (int c = 0; c < 256; ++c) names += "c" + std::to_string(c) + "\n";
    write_raw(dir.file("classes.txt"), Bytes(names.begin(), names.end()));
    CHECK(xg::load_image_dataset(dir.path()).num_classes() == 256);
  }
  SUBCASE("a single class is refused, with or without names") {
    write_gz(train_labels, idx_file(8, {6}, {2, 2, 2, 2, 2, 2}));
    CHECK(input_error([&] { xg::load_image_dataset(dir.path()); }) ==
          train_labels + ": every training label is 2; a classifier needs at least two classes");
    write_raw(dir.file("classes.txt"), {'a', '\n', 'b', '\n', 'c', '\n'});
    CHECK(input_error([&] { xg::load_image_dataset(dir.path()); }) ==
          train_labels + ": every training label is 2 ('c'); a classifier needs at least two classes");
  }
  SUBCASE("a test label that is no training class") {
    write_gz(test_labels, idx_file(8, {4}, {0, 1, 6, 2}));
    CHECK(input_error([&] { xg::load_image_dataset(dir.path()); }) ==
          test_labels + ": label 6 of item 2 is out of range: the training labels " + train_labels +
              " have 6 classes (labels 0..5)");
  }
  SUBCASE("a test split without every class is fine") {
    write_gz(test_labels, idx_file(8, {4}, {0, 0, 1, 1}));
    const xg::Dataset data = xg::load_image_dataset(dir.path());
    CHECK(data.num_classes() == 6);
    CHECK(data.test.labels == std::vector<std::uint32_t>{0, 0, 1, 1});
  }
  SUBCASE("classes.txt must be UTF-8 text") {
    write_raw(dir.file("classes.txt"), {'a', '\n', 'c', 'a', 'f', 0xE9, '\n', 'b'});
    CHECK(input_error([&] { xg::load_image_dataset(dir.path()); }) ==
          dir.file("classes.txt") + ":2: not valid UTF-8 text (byte 0xE9 at offset 3); hint: save the file as UTF-8");
  }
}

TEST_CASE("load_image_dataset: missing directory, and known names") {
  TempDir dir;
  const std::string missing = dir.file("no-such-dir");
  const std::string msg = input_error([&] { xg::load_image_dataset(missing); });
  CHECK(contains(msg, "data directory " + missing + " does not exist"));

  write_raw(dir.file("file"), {1});
  CHECK(contains(input_error([&] { xg::load_image_dataset(dir.file("file")); }), "is not a directory"));

  CHECK(xg::resolve_data_directory("fashion-mnist") == "/usr/share/datasets/fashion-mnist");
  CHECK(xg::resolve_data_directory("mnist") == "mnist");  // no Debian package: just a path
  CHECK(xg::resolve_data_directory("/data/x") == "/data/x");
  if (!fs::exists("/usr/share/datasets/fashion-mnist")) {
    CHECK(contains(input_error([] { xg::load_image_dataset("fashion-mnist"); }),
                   "sudo apt-get install dataset-fashion-mnist"));
  }
}

TEST_CASE("load_class_names: a file or a comma list") {
  TempDir dir;
  write_raw(dir.file("names.txt"), {' ', 'a', ' ', '\n', '\r', '\n', 'b', ' ', 'c', '\n'});
  CHECK(xg::load_class_names(dir.file("names.txt")) == std::vector<std::string>{"a", "b c"});
  CHECK(xg::load_class_names("cat, dog,bird") == std::vector<std::string>{"cat", "dog", "bird"});

  write_raw(dir.file("empty.txt"), {'\n', ' ', '\n'});
  CHECK(contains(input_error([&] { xg::load_class_names(dir.file("empty.txt")); }), dir.file("empty.txt")));
  CHECK(contains(input_error([] { xg::load_class_names("cat,,dog"); }), "empty name"));
  CHECK(contains(input_error([] { xg::load_class_names("cat,dog,cat"); }), "\"cat\" appears twice"));
  CHECK(contains(input_error([&] { xg::load_class_names(dir.file("missing.txt")); }), dir.file("missing.txt")));
  CHECK(input_error([] { xg::load_class_names("cat,caf\xE9"); }) ==
        "class list: not valid UTF-8 text (byte 0xE9 at offset 7); hint: save the file as UTF-8");

  // Names of at most kMaxClassNameBytes, and at most kMaxClasses names, the boundaries on both sides.
  const std::string longest(xg::kMaxClassNameBytes, 'n');
  write_raw(dir.file("long.txt"), Bytes(longest.begin(), longest.end()));
  CHECK(xg::load_class_names(dir.file("long.txt")) == std::vector<std::string>{longest});
  std::ofstream(dir.file("long.txt"), std::ios::app) << "n";
  CHECK(input_error([&] { xg::load_class_names(dir.file("long.txt")); }) ==
        dir.file("long.txt") + ":1: a class name of 1025 bytes; at most 1024");
  CHECK(contains(input_error([&] { xg::load_class_names("a," + longest + "n"); }), "class list: a class name of 1025 bytes"));
  std::string names;
  for (std::size_t c = 0; c < xg::kMaxClasses; ++c) names += "n" + std::to_string(c) + "\n";
  write_raw(dir.file("many.txt"), Bytes(names.begin(), names.end()));
  CHECK(xg::load_class_names(dir.file("many.txt")).size() == xg::kMaxClasses);
  names += "\none more\n";
  write_raw(dir.file("many.txt"), Bytes(names.begin(), names.end()));
  CHECK(input_error([&] { xg::load_class_names(dir.file("many.txt")); }) ==
        dir.file("many.txt") + ":1002: more than 1000 class names; xgrad handles at most 1000 classes");
}

TEST_CASE("truncate and compute_normalization") {
  xg::Split set;
  set.count = 4;
  set.shape = {1, 2};
  set.pixels = {0, 255, 0, 255, 0, 255, 7, 7};
  set.labels = {0, 1, 2, 3};

  xg::truncate(set, 10);
  CHECK(set.count == 4);
  xg::truncate(set, 3);
  CHECK(set.count == 3);
  CHECK(set.pixels.size() == 6);
  CHECK(set.labels == std::vector<std::uint32_t>{0, 1, 2});

  // Half 0, half 1 after /255: mean 0.5, std 0.5.
  xg::Normalization norm = xg::compute_normalization(set);
  CHECK(norm.mean[0] == doctest::Approx(0.5));
  CHECK(norm.std[0] == doctest::Approx(0.5));

  set.pixels.assign(6, 51);  // constant 0.2: std 0 becomes 1
  norm = xg::compute_normalization(set);
  CHECK(norm.mean[0] == doctest::Approx(0.2));
  CHECK(norm.std[0] == 1.0f);
}

TEST_CASE("the real Fashion-MNIST, if installed") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist")) {
    MESSAGE("skipped: /usr/share/datasets/fashion-mnist is absent (sudo apt-get install dataset-fashion-mnist)");
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const xg::Dataset data = xg::load_image_dataset("fashion-mnist");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("loaded Fashion-MNIST in " << seconds << " s");
  CHECK(data.name == "fashion-mnist");
  CHECK(data.train.count == 60000);
  CHECK(data.test.count == 10000);
  CHECK(data.train.shape == std::vector<std::size_t>{28, 28});
  CHECK(data.test.shape == std::vector<std::size_t>{28, 28});
  CHECK(data.train.pixels.size() == 60000u * 784u);
  CHECK(data.num_classes() == 10);
  CHECK(data.class_names[0] == "T-shirt/top");
  CHECK(data.class_names[9] == "Ankle boot");
  for (std::uint32_t label : data.train.labels) REQUIRE(label < 10);
  for (std::uint32_t label : data.test.labels) REQUIRE(label < 10);
  // The values every Fashion-MNIST tutorial quotes (rounded to 4 digits), to 0.1% of each: doctest's
  // default scale would allow ±0.0013, more than pixel/256 instead of pixel/255 changes the mean.
  const xg::Normalization norm = xg::compute_normalization(data.train);
  CHECK(norm.mean[0] == doctest::Approx(0.2860).epsilon(0.001).scale(0));
  CHECK(norm.std[0] == doctest::Approx(0.3530).epsilon(0.001).scale(0));
}
