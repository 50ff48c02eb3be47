#include "datasets/image_dataset.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "datasets/idx.hpp"

namespace xg {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

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
Split load_split(const SplitFiles& files) {
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
  Split set;
  set.count = images.dims[0];
  set.shape = {images.dims[1], images.dims[2]};
  set.pixels = std::move(images.bytes);
  set.labels.assign(labels.bytes.begin(), labels.bytes.end());
  return set;
}

bool is_fashion_mnist_directory(const std::string& dir) {
  std::error_code ec;
  return fs::equivalent(dir, kFashionMnistDirectory, ec);  // false (not an error) if either is missing
}

// Throws if some label of `set` has no class name.
void check_labels(const Split& set, const std::string& labels_path, std::size_t num_classes,
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

std::string resolve_data_directory(const std::string& name_or_dir) {
  if (name_or_dir == "fashion-mnist") return kFashionMnistDirectory;
  return name_or_dir;
}

Dataset load_image_dataset(const std::string& name_or_dir) {
  Dataset data;
  data.name = name_or_dir;
  data.source = resolve_data_directory(name_or_dir);
  const bool fashion = name_or_dir == "fashion-mnist" || is_fashion_mnist_directory(data.source);

  std::error_code ec;
  if (!fs::exists(data.source, ec)) {
    std::string message = "data directory " + data.source + " does not exist";
    if (data.source == kFashionMnistDirectory) {
      message += "; hint: install it with: sudo apt-get install dataset-fashion-mnist";
    } else {
      message += "; hint: pass fashion-mnist or a directory holding the four MNIST-style IDX files";
    }
    throw InputError(message);
  }
  if (!fs::is_directory(data.source, ec)) {
    throw InputError("data directory " + data.source + " is not a directory; hint: pass the directory holding the four MNIST-style IDX files");
  }

  const fs::path dir(data.source);
  const SplitFiles train_files = {find_idx_file(dir, "train-images-idx3-ubyte"), find_idx_file(dir, "train-labels-idx1-ubyte")};
  const SplitFiles test_files = {find_idx_file(dir, "t10k-images-idx3-ubyte"), find_idx_file(dir, "t10k-labels-idx1-ubyte")};
  data.train = load_split(train_files);
  data.test = load_split(test_files);
  if (data.train.shape != data.test.shape) {
    throw InputError(test_files.images + ": test images are " + data.test.item_description() + " but the train images in " +
                     train_files.images + " are " + data.train.item_description());
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
    std::uint32_t max_label = 0;
    for (std::uint32_t label : data.train.labels) max_label = std::max(max_label, label);
    for (std::uint32_t label : data.test.labels) max_label = std::max(max_label, label);
    for (std::uint32_t c = 0; c <= max_label; ++c) data.class_names.push_back(std::to_string(c));
  }
  check_labels(data.train, train_files.labels, data.num_classes(), classes_source);
  check_labels(data.test, test_files.labels, data.num_classes(), classes_source);
  return data;
}

}  // namespace xg
