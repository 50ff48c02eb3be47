// `xgrad train` on hostile data files: IDX gzip bombs and lying headers,
// labels that break the class rule, CSV files with too many classes, columns or
// bytes in a line, and text that is not UTF-8. Each run is under an address-space
// cap and must exit 2 with one line naming the file, leaving no model and no
// .state behind. (The library's own tests: tests/datasets/.)
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "datasets/csv.hpp"
#include "tests/support/files.hpp"
#include "tests/support/idx_files.hpp"
#include "tests/support/run_xgrad.hpp"

namespace fs = std::filesystem;
using namespace xg::testing;

namespace {

// Runs `xgrad train ARGS` saving into an empty directory, which must stay empty.
void check_refused(const TempDir& dir, const std::string& args, const std::vector<std::string>& mentions) {
  const std::string out = dir.file("out");
  fs::create_directories(out);
  const RunResult r = run_xgrad_capped("train " + args + " --epochs 1 --threads 1 --save " + out + "/m.safetensors --metrics " +
                                       out + "/m.jsonl");
  INFO("stderr: " << r.err);
  CHECK(r.status == 2);
  CHECK(lines_of(r.err).size() == 1);
  for (const std::string& part : mentions) CHECK(contains(r.err, part));
  CHECK(fs::is_empty(out));  // no model, no .state, no metrics, no temp file
}

// A 28x28 MNIST-style directory of 6 train and 4 test items, labels 0..5.
void write_mnist_like(const TempDir& dir) {
  DatasetSpec spec;
  spec.rows = spec.cols = 28;
  write_dataset(dir, spec);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("train: IDX files whose headers lie are refused before their data is read") {
  TempDir dir;
  write_mnist_like(dir);
  const std::string images = dir.file("train-images-idx3-ubyte.gz"), labels = dir.file("train-labels-idx1-ubyte.gz");
  SUBCASE("a gzip bomb of 784 MB of images against 200 labels") {
    write_gz_zeros(images, {1000000, 28, 28}, 784000000);
    write_gz(labels, idx_file(8, {200}, pattern(200)));
    check_refused(dir, "--data " + dir.path(), {images, "holds 1000000 images but", "holds 200 labels"});
  }
  SUBCASE("a header claiming 4 GiB of images, with as many labels, in a small gzip") {
    write_gz_zeros(images, {5478274, 28, 28}, 1 << 20);
    write_gz_zeros(labels, {5478274}, 5478274);
    check_refused(dir, "--data " + dir.path(), {images, "header promises 4294966816 bytes of data"});
  }
  SUBCASE("a gzip whose trailer disagrees with its header") {
    write_gz_zeros(images, {100000, 28, 28}, 78000000);  // 400,000 bytes short
    write_gz_zeros(labels, {100000}, 100000);
    check_refused(dir, "--data " + dir.path(), {images, "but the gzip trailer records 78000016 bytes"});
  }
}

TEST_CASE("train: IDX labels that break the class rule, and classes.txt that is not UTF-8") {
  TempDir dir;
  write_mnist_like(dir);
  const std::string labels = dir.file("train-labels-idx1-ubyte.gz");
  SUBCASE("a label of 255 among three classes present") {
    write_gz(labels, idx_file(8, {6}, {0, 1, 0, 255, 1, 0}));
    check_refused(dir, "--data " + dir.path(), {labels, "label 255 (item 3) makes 256 classes"});
  }
  SUBCASE("a single class") {
    write_gz(labels, idx_file(8, {6}, {1, 1, 1, 1, 1, 1}));
    check_refused(dir, "--data " + dir.path(), {labels, "a classifier needs at least two classes"});
  }
  SUBCASE("Latin-1 in classes.txt") {
    write_text(dir.file("classes.txt"), "zero\none\ntwo\nthree\nfour\ncinq\xE9\n");
    check_refused(dir, "--data " + dir.path(), {dir.file("classes.txt") + ":6: not valid UTF-8"});
  }
  SUBCASE("Latin-1 in a --classes file") {
    write_text(dir.file("names.txt"), "zero\none\ntwo\ntr\xE9s\nfour\nfive\n");
    check_refused(dir, "--data " + dir.path() + " --classes " + dir.file("names.txt"), {dir.file("names.txt") + ":4: not valid UTF-8"});
  }
}

TEST_CASE("train: CSV files with too many classes, columns or bytes in a line") {
  TempDir dir;
  const std::string csv = dir.file("t.csv");
  SUBCASE("100,000 distinct labels in a 1 MB file") {
    std::string text = "label,x\n";
    for (int i = 0; i < 100000; ++i) text += "k" + std::to_string(i) + "," + std::to_string(i % 7) + "\n";
    write_text(csv, text);
    check_refused(dir, "--data " + csv, {csv + ":1002:", "label 'k1000' is one more than the 1000 classes"});
  }
  SUBCASE("a single line of 64 MiB") {
    write_text(csv, "label,x\na,1\nb," + std::string(std::size_t(64) << 20, '7') + "\n");
    check_refused(dir, "--data " + csv, {csv + ":3: line longer than 4194304 bytes"});
  }
  SUBCASE("100,001 columns") {
    std::string row = "a";
    for (std::size_t c = 1; c <= xg::kMaxCsvColumns; ++c) row += ",1";
    write_text(csv, row + "\nb" + row.substr(1) + "\n");
    check_refused(dir, "--data " + csv, {csv + ":1: more than 100000 columns"});
  }
  SUBCASE("a single class") {
    write_text(csv, "label,x\na,1\na,2\na,3\n");
    check_refused(dir, "--data " + csv, {csv, "every row has the label 'a'"});
  }
}

TEST_CASE("train: CSV text that is not UTF-8 is refused at load time, not after an epoch") {
  TempDir dir;
  const std::string csv = dir.file("t.csv");
  SUBCASE("a label") {
    write_text(csv, "label,x\ncaf\xE9,1\nthe,2\ncaf\xE9,3\nthe,4\nthe,5\n");
    check_refused(dir, "--data " + csv, {csv + ":2: not valid UTF-8 text (byte 0xE9 at offset 3)"});
  }
  SUBCASE("a header name") {
    write_text(csv, "label,temp\xE9rature\na,1\nb,2\na,3\nb,4\na,5\n");
    check_refused(dir, "--data " + csv, {csv + ":1: not valid UTF-8 text"});
  }
  SUBCASE("a label in the test file") {
    write_text(csv, "label,x\na,1\nb,2\na,3\nb,4\na,5\n");
    write_text(dir.file("test.csv"), "label,x\na,1\n\xFF,2\n");
    check_refused(dir, "--data " + csv + " --test " + dir.file("test.csv"), {dir.file("test.csv") + ":3: not valid UTF-8"});
  }
}
