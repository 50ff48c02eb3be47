// IDX reader and image-dataset loader: good files in every spelling, and the
// hostile ones (bad headers, lying sizes, truncated or corrupt gzip), which must
// all give a one-line InputError naming the file.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_dataset.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("xgrad-test-idx-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// An IDX file: 00 00 type ndim, big-endian dims, then `data`.
Bytes idx_file(std::uint8_t type, const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes out = {0, 0, type, std::uint8_t(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(std::uint8_t(d >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes pattern(std::size_t n, unsigned seed = 1) {
  Bytes out(n);
  std::uint32_t state = seed;
  for (auto& b : out) {
    state = state * 1664525u + 1013904223u;  // LCG: bytes that barely compress
    b = std::uint8_t(state >> 24);
  }
  return out;
}

void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  REQUIRE(out.good());
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(file, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

Bytes read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// The message of the InputError that f throws; fails the test if it throws none.
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const xg::InputError& e) {
    const std::string message = e.what();
    CHECK(message.find('\n') == std::string::npos);  // one line
    return message;
  }
  FAIL("expected an InputError");
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Writes the four files of a dataset: images (count, rows, cols), labels label(i).
struct DatasetSpec {
  std::size_t train = 6, test = 4, rows = 5, cols = 7;
  bool dotted = false;  // train-images.idx3-ubyte instead of train-images-idx3-ubyte
  bool gz = true;
  unsigned max_label = 9;
};

void write_dataset(const TempDir& dir, const DatasetSpec& spec) {
  auto name = [&](std::string base) {
    if (spec.dotted) base[base.rfind("-idx")] = '.';
    return dir / (base + (spec.gz ? ".gz" : ""));
  };
  auto write = [&](const std::string& path, const Bytes& bytes) { spec.gz ? write_gz(path, bytes) : write_raw(path, bytes); };
  auto labels = [&](std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = std::uint8_t(i % (spec.max_label + 1));
    if (n) out[n - 1] = std::uint8_t(spec.max_label);
    return out;
  };
  const auto rows = std::uint32_t(spec.rows), cols = std::uint32_t(spec.cols);
  write(name("train-images-idx3-ubyte"), idx_file(8, {std::uint32_t(spec.train), rows, cols}, pattern(spec.train * spec.rows * spec.cols, 1)));
  write(name("train-labels-idx1-ubyte"), idx_file(8, {std::uint32_t(spec.train)}, labels(spec.train)));
  write(name("t10k-images-idx3-ubyte"), idx_file(8, {std::uint32_t(spec.test), rows, cols}, pattern(spec.test * spec.rows * spec.cols, 2)));
  write(name("t10k-labels-idx1-ubyte"), idx_file(8, {std::uint32_t(spec.test)}, labels(spec.test)));
}

}  // namespace

TEST_CASE("read_idx reads raw and gzip files, chosen by content") {
  TempDir dir;
  const Bytes data = pattern(3 * 5 * 7);
  const Bytes file = idx_file(8, {3, 5, 7}, data);
  std::string path;
  SUBCASE("raw") { write_raw(path = dir / "a-idx3-ubyte", file); }
  SUBCASE("gzip") { write_gz(path = dir / "a-idx3-ubyte.gz", file); }
  SUBCASE("gzip without .gz in the name") { write_gz(path = dir / "a-idx3-ubyte", file); }
  SUBCASE("raw named .gz") { write_raw(path = dir / "a-idx3-ubyte.gz", file); }
  const xg::IdxData idx = xg::read_idx(path);
  CHECK(idx.dims == std::vector<std::uint32_t>{3, 5, 7});
  CHECK(idx.bytes == data);
}

TEST_CASE("read_idx rejects bad headers with a message naming the file") {
  TempDir dir;
  const std::string path = dir / "bad-idx1-ubyte";

  SUBCASE("wrong magic") {
    write_raw(path, {'P', 'K', 3, 4, 0, 0, 0, 1, 7});
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "not an IDX file"));
    CHECK(contains(msg, "0x504B0304"));
    CHECK(contains(msg, "hint"));
  }
  SUBCASE("doubly gzipped file shows the gzip magic") {
    write_gz(dir / "inner.gz", idx_file(8, {1}, {7}));
    write_gz(path, read_all(dir / "inner.gz"));
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "not an IDX file (magic 0x1F8B08"));
  }
  SUBCASE("float element type") {
    write_raw(path, idx_file(0x0D, {1}, {0, 0, 0, 0}));
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "element type 0x0D (float) is not supported, expected unsigned byte 0x08"));
  }
  SUBCASE("unknown element type") {
    write_raw(path, idx_file(0x42, {1}, {0}));
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "unknown element type 0x42"));
  }
  SUBCASE("ndim 0") {
    write_raw(path, idx_file(8, {}, {1, 2, 3}));
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "0 dimensions"));
  }
  SUBCASE("ndim 5") {
    write_raw(path, idx_file(8, {1, 1, 1, 1, 1}, {1}));
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "5 dimensions"));
  }
  SUBCASE("zero dimension") {
    write_raw(path, idx_file(8, {3, 0, 4}, {}));
    const std::string msg = input_error([&] { xg::read_idx(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "dimension 1 is 0"));
  }
  SUBCASE("dimension product overflows 64 bits") {
    write_raw(path, idx_file(8, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, pattern(64)));
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "4 GiB limit"));
  }
  SUBCASE("empty file") {
    write_raw(path, {});
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "too short"));
  }
  SUBCASE("file ends inside the dimensions") {
    write_raw(path, {0, 0, 8, 3, 0, 0, 0, 2, 0});
    CHECK(contains(input_error([&] { xg::read_idx(path); }), "ends inside them"));
  }
  SUBCASE("missing file") {
    const std::string msg = input_error([&] { xg::read_idx(dir / "nope"); });
    CHECK(contains(msg, dir / "nope"));
    CHECK(contains(msg, "does not exist"));
  }
  SUBCASE("a directory") {
    CHECK(contains(input_error([&] { xg::read_idx(dir.path.string()); }), "is a directory"));
  }
}

TEST_CASE("read_idx rejects a lying header before allocating what it promises") {
  TempDir dir;
  const std::string raw = dir / "lie-idx3-ubyte", gz = dir / "lie-idx3-ubyte.gz";
  const auto start = std::chrono::steady_clock::now();

  SUBCASE("2^31 images of 28x28 in 1 KB: over the size limit") {
    const Bytes file = idx_file(8, {0x80000000u, 28, 28}, pattern(1024));
    write_raw(raw, file);
    write_gz(gz, file);
    CHECK(contains(input_error([&] { xg::read_idx(raw); }), raw));
    CHECK(contains(input_error([&] { xg::read_idx(gz); }), gz));
  }
  SUBCASE("2^31 labels in 1 KB: under the limit, but the file is short") {
    const Bytes file = idx_file(8, {0x80000000u}, pattern(1024));
    write_raw(raw, file);
    write_gz(gz, file);
    std::string msg = input_error([&] { xg::read_idx(raw); });
    CHECK(contains(msg, raw));
    CHECK(contains(msg, "truncated: header promises 2147483648 bytes of data"));
    CHECK(contains(msg, "file holds 1024"));
    msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "truncated: header promises 2147483648 bytes of data"));
    CHECK(contains(msg, "file holds 1024"));
  }
  // Allocating and zero-filling 2 GiB would take far longer than this.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500));
}

TEST_CASE("read_idx rejects truncated data and trailing data, raw and gzip") {
  TempDir dir;
  const std::string raw = dir / "t-idx1-ubyte", gz = dir / "t-idx1-ubyte.gz";

  SUBCASE("truncated raw") {
    write_raw(raw, idx_file(8, {100}, pattern(60)));
    const std::string msg = input_error([&] { xg::read_idx(raw); });
    CHECK(contains(msg, raw));
    CHECK(contains(msg, "truncated: header promises 100 bytes of data"));
    CHECK(contains(msg, "file holds 60"));
  }
  SUBCASE("valid gzip whose content is short") {
    write_gz(gz, idx_file(8, {100}, pattern(60)));
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "truncated: header promises 100 bytes of data"));
    CHECK(contains(msg, "file holds 60"));
  }
  SUBCASE("trailing raw") {
    write_raw(raw, idx_file(8, {100}, pattern(103)));
    const std::string msg = input_error([&] { xg::read_idx(raw); });
    CHECK(contains(msg, raw));
    CHECK(contains(msg, "trailing data"));
    CHECK(contains(msg, "3 extra"));
  }
  SUBCASE("trailing gzip") {
    write_gz(gz, idx_file(8, {100}, pattern(101)));
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "trailing data"));
  }
  SUBCASE("truncated .gz file (cut in the middle of the stream)") {
    write_gz(gz, idx_file(8, {20000}, pattern(20000)));
    Bytes bytes = read_all(gz);
    bytes.resize(bytes.size() / 2);
    write_raw(gz, bytes);
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "corrupt gzip data: unexpected end of file"));
  }
  SUBCASE("truncated .gz file (only the 8-byte trailer missing)") {
    write_gz(gz, idx_file(8, {20000}, pattern(20000)));
    Bytes bytes = read_all(gz);
    bytes.resize(bytes.size() - 8);
    write_raw(gz, bytes);
    CHECK(contains(input_error([&] { xg::read_idx(gz); }), "corrupt gzip data"));
  }
}

TEST_CASE("read_idx rejects corrupt gzip data") {
  TempDir dir;
  const std::string gz = dir / "c-idx1-ubyte.gz";

  SUBCASE("bytes flipped in the middle") {
    // Compressible data, so the middle of the file is Huffman-coded deflate.
    Bytes data(50000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::uint8_t((i * i / 7) % 13);
    write_gz(gz, idx_file(8, {50000}, data));
    Bytes bytes = read_all(gz);
    for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] ^= 0xA5;
    write_raw(gz, bytes);
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "corrupt gzip data"));
  }
  SUBCASE("bad CRC") {
    write_gz(gz, idx_file(8, {1000}, pattern(1000)));
    Bytes bytes = read_all(gz);
    bytes[bytes.size() - 8] ^= 0xFF;  // the trailer is CRC-32 then the length
    write_raw(gz, bytes);
    const std::string msg = input_error([&] { xg::read_idx(gz); });
    CHECK(contains(msg, gz));
    CHECK(contains(msg, "corrupt gzip data: incorrect data check"));
  }
}

TEST_CASE("load_image_dataset finds files in both naming styles, raw or gzip, any image size") {
  TempDir dir;
  DatasetSpec spec;  // 6 train, 4 test, 5x7 images
  SUBCASE("dashed names, gzip") { spec.dotted = false; spec.gz = true; }
  SUBCASE("dashed names, raw") { spec.dotted = false; spec.gz = false; }
  SUBCASE("dotted names, gzip") { spec.dotted = true; spec.gz = true; }
  SUBCASE("dotted names, raw") { spec.dotted = true; spec.gz = false; }
  spec.max_label = 4;
  write_dataset(dir, spec);

  const xg::Dataset data = xg::load_image_dataset(dir.path.string());
  CHECK(data.name == dir.path.string());
  CHECK(data.source == dir.path.string());
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
  write_raw(dir / "classes.txt", {'c', 'a', 't', '\n', '\n', 'd', 'o', 'g', '\r', '\n', 'b', 'i', 'r', 'd'});
  CHECK(xg::load_image_dataset(dir.path.string()).class_names == std::vector<std::string>{"cat", "dog", "bird"});

  write_raw(dir / "classes.txt", {'c', 'a', 't', '\n', 'd', 'o', 'g', '\n'});
  const std::string msg = input_error([&] { xg::load_image_dataset(dir.path.string()); });
  CHECK(contains(msg, dir / "train-labels-idx1-ubyte.gz"));
  CHECK(contains(msg, "label 2"));
  CHECK(contains(msg, "out of range"));
  CHECK(contains(msg, "classes.txt"));
}

TEST_CASE("load_image_dataset rejects inconsistent datasets") {
  TempDir dir;
  DatasetSpec spec;
  write_dataset(dir, spec);

  SUBCASE("image count != label count") {
    write_gz(dir / "train-labels-idx1-ubyte.gz", idx_file(8, {5}, {0, 1, 2, 3, 4}));
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path.string()); });
    CHECK(contains(msg, dir / "train-images-idx3-ubyte.gz"));
    CHECK(contains(msg, "holds 6 images but " + (dir / "train-labels-idx1-ubyte.gz") + " holds 5 labels"));
  }
  SUBCASE("train and test image sizes differ") {
    write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_file(8, {4, 7, 5}, pattern(4 * 35)));
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path.string()); });
    CHECK(contains(msg, dir / "t10k-images-idx3-ubyte.gz"));
    CHECK(contains(msg, "7x5"));
    CHECK(contains(msg, "5x7"));
  }
  SUBCASE("labels file where the images should be") {
    write_gz(dir / "train-images-idx3-ubyte.gz", idx_file(8, {6}, {0, 1, 2, 3, 4, 5}));
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path.string()); });
    CHECK(contains(msg, dir / "train-images-idx3-ubyte.gz"));
    CHECK(contains(msg, "3 dimensions"));
  }
  SUBCASE("images file where the labels should be") {
    write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_file(8, {4, 5, 7}, pattern(4 * 35)));
    CHECK(contains(input_error([&] { xg::load_image_dataset(dir.path.string()); }), "1 dimension"));
  }
  SUBCASE("missing file lists every spelling it tried") {
    fs::remove(dir / "t10k-labels-idx1-ubyte.gz");
    const std::string msg = input_error([&] { xg::load_image_dataset(dir.path.string()); });
    CHECK(contains(msg, dir.path.string()));
    CHECK(contains(msg, "t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz"));
  }
  SUBCASE("a corrupt file inside the dataset is named") {
    write_raw(dir / "train-images-idx3-ubyte.gz", {1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(contains(input_error([&] { xg::load_image_dataset(dir.path.string()); }), dir / "train-images-idx3-ubyte.gz"));
  }
}

TEST_CASE("load_image_dataset: missing directory, and known names") {
  TempDir dir;
  const std::string missing = dir / "no-such-dir";
  const std::string msg = input_error([&] { xg::load_image_dataset(missing); });
  CHECK(contains(msg, "data directory " + missing + " does not exist"));

  write_raw(dir / "file", {1});
  CHECK(contains(input_error([&] { xg::load_image_dataset(dir / "file"); }), "is not a directory"));

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
  write_raw(dir / "names.txt", {' ', 'a', ' ', '\n', '\r', '\n', 'b', ' ', 'c', '\n'});
  CHECK(xg::load_class_names(dir / "names.txt") == std::vector<std::string>{"a", "b c"});
  CHECK(xg::load_class_names("cat, dog,bird") == std::vector<std::string>{"cat", "dog", "bird"});

  write_raw(dir / "empty.txt", {'\n', ' ', '\n'});
  CHECK(contains(input_error([&] { xg::load_class_names(dir / "empty.txt"); }), dir / "empty.txt"));
  CHECK(contains(input_error([] { xg::load_class_names("cat,,dog"); }), "empty name"));
  CHECK(contains(input_error([] { xg::load_class_names("cat,dog,cat"); }), "\"cat\" appears twice"));
  CHECK(contains(input_error([&] { xg::load_class_names(dir / "missing.txt"); }), dir / "missing.txt"));
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
  // The values every Fashion-MNIST tutorial quotes.
  const xg::Normalization norm = xg::compute_normalization(data.train);
  CHECK(norm.mean[0] == doctest::Approx(0.2860).epsilon(0.001));
  CHECK(norm.std[0] == doctest::Approx(0.3530).epsilon(0.001));
}
