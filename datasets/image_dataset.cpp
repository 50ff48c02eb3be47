#include "datasets/image_dataset.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

#include "core/error.hpp"
#include "datasets/idx.hpp"

namespace xg {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::string trim(const std::string& text) {
  const char* space = " \t\r\n\f\v";
  const std::size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  const std::size_t last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

// The path of `base` (e.g. "train-images-idx3-ubyte") in `dir`, in any of the
// four spellings; throws listing them all if none exists.
std::string find_idx_file(const fs::path& dir, const std::string& base) {
  std::string dotted = base;  // "train-images-idx3-ubyte" -> "train-images.idx3-ubyte"
  dotted[dotted.rfind("-idx")] = '.';
  const std::array<std::string, 4> names = {base, base + ".gz", dotted, dotted + ".gz"};
  std::string tried;
  for (const std::string& name : names) {
    const fs::path path = dir / name;
    std::error_code ec;
    if (fs::exists(path, ec)) return path.string();
    tried += (tried.empty() ? "" : ", ") + name;
  }
  throw InputError(dir.string() + ": no " + base + " file; looked for " + tried +
                   "; hint: the directory must hold the four MNIST-style IDX files");
}

std::string shape_text(const std::vector<std::uint32_t>& dims) {
  std::string text = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + ")";
}

struct SplitFiles {
  std::string images, labels;
};

// Reads one split's image and label files and checks that they fit together.
ImageSet load_split(const SplitFiles& files) {
  IdxData images = read_idx(files.images);
  if (images.dims.size() != 3) {
    throw InputError(files.images + ": images must have 3 dimensions (count, rows, cols), this file has shape " +
                     shape_text(images.dims));
  }
  IdxData labels = read_idx(files.labels);
  if (labels.dims.size() != 1) {
    throw InputError(files.labels + ": labels must have 1 dimension (count), this file has shape " +
                     shape_text(labels.dims));
  }
  if (images.dims[0] != labels.dims[0]) {
    throw InputError(files.images + " holds " + std::to_string(images.dims[0]) + " images but " + files.labels +
                     " holds " + std::to_string(labels.dims[0]) + " labels");
  }
  ImageSet set;
  set.count = images.dims[0];
  set.rows = images.dims[1];
  set.cols = images.dims[2];
  set.pixels = std::move(images.bytes);
  set.labels = std::move(labels.bytes);
  return set;
}

bool is_fashion_mnist_directory(const std::string& dir) {
  std::error_code ec;
  return fs::equivalent(dir, kFashionMnistDirectory, ec);  // false (not an error) if either is missing
}

// Throws if some label of `set` has no class name.
void check_labels(const ImageSet& set, const std::string& labels_path, std::size_t num_classes,
                  const std::string& classes_source) {
  for (std::size_t i = 0; i < set.count; ++i) {
    if (set.labels[i] >= num_classes) {
      throw InputError(labels_path + ": label " + std::to_string(set.labels[i]) + " of item " + std::to_string(i) +
                       " is out of range: " + classes_source + " gives " + std::to_string(num_classes) +
                       " classes (labels 0.." + std::to_string(num_classes - 1) + ")");
    }
  }
}

}  // namespace

const char* const kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

void truncate(ImageSet& set, std::size_t n) {
  if (n >= set.count) return;
  set.count = n;
  set.pixels.resize(n * set.features());
  set.labels.resize(n);
}

std::string resolve_data_directory(const std::string& name_or_dir) {
  if (name_or_dir == "fashion-mnist") return kFashionMnistDirectory;
  return name_or_dir;
}

ImageDataset load_image_dataset(const std::string& name_or_dir) {
  ImageDataset data;
  data.name = name_or_dir;
  data.directory = resolve_data_directory(name_or_dir);
  const bool fashion = name_or_dir == "fashion-mnist" || is_fashion_mnist_directory(data.directory);

  std::error_code ec;
  if (!fs::exists(data.directory, ec)) {
    std::string message = "data directory " + data.directory + " does not exist";
    if (data.directory == kFashionMnistDirectory) {
      message += "; hint: install it with: sudo apt-get install dataset-fashion-mnist";
    } else {
      message += "; hint: pass fashion-mnist or a directory holding the four MNIST-style IDX files";
    }
    throw InputError(message);
  }
  if (!fs::is_directory(data.directory, ec)) {
    throw InputError("data directory " + data.directory + " is not a directory; hint: pass the directory holding the four MNIST-style IDX files");
  }

  const fs::path dir(data.directory);
  const SplitFiles train_files = {find_idx_file(dir, "train-images-idx3-ubyte"), find_idx_file(dir, "train-labels-idx1-ubyte")};
  const SplitFiles test_files = {find_idx_file(dir, "t10k-images-idx3-ubyte"), find_idx_file(dir, "t10k-labels-idx1-ubyte")};
  data.train = load_split(train_files);
  data.test = load_split(test_files);
  if (data.train.rows != data.test.rows || data.train.cols != data.test.cols) {
    throw InputError(test_files.images + ": test images are " + std::to_string(data.test.rows) + "x" +
                     std::to_string(data.test.cols) + " but the train images in " + train_files.images + " are " +
                     std::to_string(data.train.rows) + "x" + std::to_string(data.train.cols));
  }

  // Class names, and where they came from (for the out-of-range message).
  std::string classes_source;
  const fs::path classes_file = dir / "classes.txt";
  if (fashion) {
    data.class_names = kFashionMnistClasses;
    classes_source = "Fashion-MNIST";
  } else if (fs::exists(classes_file, ec)) {
    data.class_names = load_class_names(classes_file.string());
    classes_source = classes_file.string();
  } else {
    std::uint8_t max_label = 0;
    for (std::uint8_t label : data.train.labels) max_label = std::max(max_label, label);
    for (std::uint8_t label : data.test.labels) max_label = std::max(max_label, label);
    for (unsigned c = 0; c <= max_label; ++c) data.class_names.push_back(std::to_string(c));
  }
  check_labels(data.train, train_files.labels, data.num_classes(), classes_source);
  check_labels(data.test, test_files.labels, data.num_classes(), classes_source);
  return data;
}

std::vector<std::string> load_class_names(const std::string& spec) {
  std::vector<std::string> names;
  std::error_code ec;
  if (fs::is_regular_file(spec, ec)) {
    std::ifstream in(spec);
    if (!in) throw InputError(spec + ": cannot open the class-name file for reading");
    std::string line;
    while (std::getline(in, line)) {
      const std::string name = trim(line);
      if (!name.empty()) names.push_back(name);
    }
    if (in.bad()) throw InputError(spec + ": read error in the class-name file");
    if (names.empty()) throw InputError(spec + ": the class-name file is empty; hint: write one class name per line");
  } else if (spec.find(',') != std::string::npos) {
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = spec.find(',', start);
      const std::string name = trim(spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (name.empty()) throw InputError("class list \"" + spec + "\" has an empty name; hint: write names like cat,dog,bird");
      names.push_back(name);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    throw InputError("class names \"" + spec +
                     "\": no such file, and not a comma-separated list; hint: pass a file with one name per line or a list like cat,dog,bird");
  }
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) throw InputError(spec + ": class name \"" + name + "\" appears twice");
  }
  return names;
}

Normalization compute_normalization(const ImageSet& train) {
  // A histogram of the 256 byte values: one pass over the pixels, then exact
  // counts for the two passes of mean and variance.
  std::array<std::uint64_t, 256> histogram{};
  for (std::uint8_t pixel : train.pixels) ++histogram[pixel];
  double n = 0.0, sum = 0.0;
  int distinct_values = 0;
  for (int v = 0; v < 256; ++v) {
    n += double(histogram[v]);
    sum += double(histogram[v]) * (v / 255.0);
    distinct_values += histogram[v] != 0;
  }
  Normalization norm;
  if (n == 0.0) return norm;
  const double mean = sum / n;
  norm.mean = float(mean);
  if (distinct_values < 2) return norm;  // constant pixels: std would be 0, keep 1
  double squares = 0.0;
  for (int v = 0; v < 256; ++v) {
    const double d = v / 255.0 - mean;
    squares += double(histogram[v]) * d * d;
  }
  norm.std = float(std::sqrt(squares / n));
  return norm;
}

}  // namespace xg
