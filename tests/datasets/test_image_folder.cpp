// datasets/image_folder: data sets from folders of image files (ImageFolder's
// layout), their held-out split, sizes, channels, and the bad folders.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "datasets/image_file.hpp"
#include "datasets/image_folder.hpp"
#include "tests/support/files.hpp"
#include "tests/support/idx_files.hpp"
#include "tests/support/image_files.hpp"

using namespace xg;
using namespace xg::testing;
namespace fs = std::filesystem;

namespace {

std::string image_folder_error(const std::string& dir, const ImageFolderOptions& o = {}) {
  try {
    load_image_folder(dir, o);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<std::uint8_t> item(const Split& s, std::size_t i) {
  const std::size_t n = s.features();
  return {s.pixels.begin() + std::ptrdiff_t(i * n), s.pixels.begin() + std::ptrdiff_t((i + 1) * n)};
}

}  // namespace

TEST_CASE("image folder: DIR/train and DIR/test, classes from sorted folder names, hidden files and stray files skipped") {
  TempDir dir;
  write_image_folder(dir.file("train"), 3, 4, 6, 5);
  write_image_folder(dir.file("test"), 3, 2, 6, 5, "t");
  // A file in a subfolder of a class counts; hidden entries and plain files beside the classes do not.
  const std::vector<std::uint8_t> ones(30, 200);
  write_bytes(dir.file("train/c1/more/extra.png"), png(6, 5, ones));
  write_bytes(dir.file("train/c0/.DS_Store"), "not an image");
  write_bytes(dir.file("train/.hidden/x.png"), "not an image");
  write_bytes(dir.file("train/README.txt"), "about these images");
  CHECK(is_image_folder(dir.path()));
  const Dataset data = load_image_folder(dir.path(), {});
  CHECK(data.class_names == std::vector<std::string>{"c0", "c1", "c2"});
  CHECK(data.train.count == 13);
  CHECK(data.test.count == 6);
  CHECK(data.train.shape == std::vector<std::size_t>{5, 6});
  CHECK(data.train.channels() == 1);
  CHECK(data.train.rows() == 5);
  CHECK(data.train.cols() == 6);
  CHECK(data.train.labels == std::vector<std::uint32_t>{0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2});
  CHECK(data.test.labels == std::vector<std::uint32_t>{0, 0, 1, 1, 2, 2});
  // Class-then-path order: c1's files 0..3, then more/extra.png; pixels as written.
  CHECK(item(data.train, 8) == ones);
  CHECK(item(data.train, 4) == decode_grey_image(read_file(dir.file("train/c1/0.png")), "x").pixels);
  CHECK(data.train.item_description() == "5x6 images");
}

TEST_CASE("image folder: DIR/<class> holds out a stratified, seeded test split") {
  TempDir dir;
  write_image_folder(dir.path(), 2, 20);
  ImageFolderOptions o;
  o.test_split = 0.25;
  o.seed = 7;
  const Dataset a = load_image_folder(dir.path(), o);
  CHECK(a.train.count == 30);
  CHECK(a.test.count == 10);
  CHECK(std::count(a.test.labels.begin(), a.test.labels.end(), 0u) == 5);  // stratified: 5 of each class's 20
  CHECK(std::count(a.test.labels.begin(), a.test.labels.end(), 1u) == 5);
  const Dataset again = load_image_folder(dir.path(), o);
  CHECK(again.test.pixels == a.test.pixels);
  CHECK(again.train.pixels == a.train.pixels);
  o.seed = 8;
  const Dataset other = load_image_folder(dir.path(), o);
  CHECK(other.test.pixels != a.test.pixels);
  // Together the splits hold every image once.
  std::multiset<std::vector<std::uint8_t>> all, split;
  for (std::size_t i = 0; i < a.train.count; ++i) split.insert(item(a.train, i));
  for (std::size_t i = 0; i < a.test.count; ++i) split.insert(item(a.test, i));
  for (std::size_t i = 0; i < other.train.count; ++i) all.insert(item(other.train, i));
  for (std::size_t i = 0; i < other.test.count; ++i) all.insert(item(other.test, i));
  CHECK(all == split);
  // A small class keeps at least one image on each side, or is refused.
  o.test_split = 0.01;
  CHECK(load_image_folder(dir.path(), o).test.count == 2);
  TempDir tiny;
  write_image_folder(tiny.path(), 2, 1);
  CHECK(image_folder_error(tiny.path(), o) == tiny.file("c0") + ": 1 image is too few to hold out a test split (no training image "
                                        "would be left); add images, or give DIR/train and DIR/test folders");
  o.test_split = 0;
  CHECK(image_folder_error(dir.path(), o).find("--test-split must be in (0, 1)") != std::string::npos);
}

TEST_CASE("image folder: --channels 3 keeps RGB as CHW, JPEG and PGM files mix with PNG, --image-size resizes") {
  TempDir dir;
  // c0: a red RGB PNG and a grey PGM; c1: a green JPEG. All 4x2.
  std::vector<std::uint8_t> red(4 * 2 * 3, 0), green(4 * 2 * 3, 0);
  for (std::size_t p = 0; p < 8; ++p) red[3 * p] = 255, green[3 * p + 1] = 255;
  write_bytes(dir.file("train/c0/red.png"), png_samples(4, 2, 2, 8, red));
  write_bytes(dir.file("train/c0/grey.pgm"), "P5 4 2 255\n" + std::string(8, '\x40'));
  write_bytes(dir.file("train/c1/green.jpg"), jpeg(4, 2, 3, green, 100));
  write_bytes(dir.file("test/c1/green.jpg"), jpeg(4, 2, 3, green, 100));
  ImageFolderOptions o;
  o.channels = 3;
  const Dataset data = load_image_folder(dir.path(), o);
  CHECK(data.train.shape == std::vector<std::size_t>{3, 2, 4});
  CHECK(data.train.channels() == 3);
  CHECK(data.train.features() == 24);
  CHECK(data.train.item_description() == "2x4 RGB images");
  // Files sort by name: grey.pgm, then red.png.
  CHECK(item(data.train, 0) == std::vector<std::uint8_t>(24, 0x40));
  std::vector<std::uint8_t> red_planes(24, 0);
  std::fill(red_planes.begin(), red_planes.begin() + 8, 255);
  CHECK(item(data.train, 1) == red_planes);
  const std::vector<std::uint8_t> g = item(data.train, 2);
  CHECK(int(g[0]) <= 2);    // R plane
  CHECK(int(g[8]) >= 253);  // G plane
  // Grey by default: red's luma.
  CHECK(item(load_image_folder(dir.path(), {}).train, 1) == std::vector<std::uint8_t>(8, 76));
  // Another size: refused, naming it and the first; resized with a target size.
  write_bytes(dir.file("train/c1/wide.png"), png(6, 2, std::vector<std::uint8_t>(12, 9)));
  CHECK(image_folder_error(dir.path()) == dir.file("train/c1/wide.png") + ": image is 6x2 (width x height) but the first image, " +
                                    dir.file("train/c0/grey.pgm") + ", is 4x2; pass --image-size H,W to resize them all");
  o.rows = 3, o.cols = 5;
  const Dataset resized = load_image_folder(dir.path(), o);
  CHECK(resized.train.shape == std::vector<std::size_t>{3, 3, 5});
  CHECK(item(resized.train, 3) == std::vector<std::uint8_t>(45, 9));  // a constant image stays constant
}

TEST_CASE("image folder: bad folders are refused with one line naming the path") {
  SUBCASE("an empty class folder") {
    TempDir dir;
    write_image_folder(dir.path(), 2, 3);
    fs::create_directories(dir.file("c2"));
    write_bytes(dir.file("c2/.DS_Store"), "x");
    CHECK(image_folder_error(dir.path()) == dir.file("c2") + ": empty class folder (no image files); add images or remove it");
  }
  SUBCASE("a file that is not an image") {
    TempDir dir;
    write_image_folder(dir.path(), 2, 3);
    write_bytes(dir.file("c1/notes.png"), "these are my notes");
    CHECK(image_folder_error(dir.path()) == dir.file("c1/notes.png") + ": not a PGM (P2/P5), PNG or JPEG image");
  }
  SUBCASE("a single class") {
    TempDir dir;
    write_image_folder(dir.path(), 1, 3);
    CHECK(image_folder_error(dir.path()) == dir.path() + ": only one class folder (c0); a classifier needs at least 2 classes");
  }
  SUBCASE("over 1,000 classes, refused before any folder is walked") {
    TempDir dir;
    for (int k = 0; k <= 1000; ++k) fs::create_directories(dir.file("k" + std::to_string(k)));
    CHECK(image_folder_error(dir.path()) == dir.path() + ": more than 1000 class folders (the limit of classes)");
  }
  SUBCASE("a symbolic link loop") {
    TempDir dir;
    write_image_folder(dir.path(), 2, 3);
    fs::create_directory_symlink("..", dir.file("c1/up"));  // c1/up/c1/up/... for ever
    CHECK(image_folder_error(dir.path()) == dir.file("c1/up") + ": symbolic link loop: it leads back to " +
                                      fs::canonical(dir.path()).string());
    TempDir self;
    write_image_folder(self.path(), 2, 3);
    fs::create_symlink("me", self.file("c0/me"));  // a link to itself
    CHECK(image_folder_error(self.path()) == self.file("c0/me") + ": symbolic link loop");
    fs::remove(self.file("c0/me"));
    fs::create_symlink("nothing", self.file("c0/gone.png"));
    CHECK(image_folder_error(self.path()) == self.file("c0/gone.png") + ": broken symbolic link");
  }
  SUBCASE("train/ without test/, and a test class that training does not have") {
    TempDir dir;
    write_image_folder(dir.file("train"), 2, 3);
    CHECK(image_folder_error(dir.path()).find(": has a train/ folder but no test/ folder") != std::string::npos);
    write_image_folder(dir.file("test"), 3, 1);
    CHECK(image_folder_error(dir.path()) == dir.file("test/c2") + ": test class folder c2 is not a class of " + dir.file("train") + "/");
  }
  SUBCASE("a header promising more pixels than the limit, before anything is allocated") {
    TempDir dir;
    const std::string lying = png_from_raw(4096, 4096, 0, std::string(100, '\0'));
    for (int i = 0; i < 130; ++i) {
      write_bytes(dir.file("a/" + std::to_string(i) + ".png"), lying);
      write_bytes(dir.file("b/" + std::to_string(i) + ".png"), lying);
    }
    CHECK(image_folder_error(dir.path()) == dir.path() + ": 260 images of 4096x4096 need 4160 MiB, more than the limit of 4096 MiB; "
                                      "pass --image-size H,W to shrink them");
  }
}

TEST_CASE("image folder: is_image_folder tells class folders from IDX files, parse_image_size checks H,W") {
  TempDir dir;
  CHECK(!is_image_folder(dir.path()));  // empty
  write_image_folder(dir.path(), 2, 1);
  CHECK(is_image_folder(dir.path()));
  write_raw(dir.file("train-images-idx3-ubyte"), idx_file(0x08, {1, 2, 2}, Bytes(4, 0)));
  CHECK(!is_image_folder(dir.path()));
  CHECK(!is_image_folder(dir.file("c0/0.png")));
  const ImageShape s = parse_image_size("28,32");
  CHECK(s.rows == 28);
  CHECK(s.cols == 32);
  for (const char* bad : {"28", "0,28", "28,", "a,b", "28,28,3", "-1,5", "16385,1", "4097,4096", "99999999999,1"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_image_size(bad), InputError);
  }
  CHECK_THROWS_WITH_AS(parse_image_size("28"),
                       "--image-size must be H,W (rows,cols) such as 28,28, each 1..16384 and at most 16777216 pixels in "
                       "all; got '28'",
                       InputError);
}
