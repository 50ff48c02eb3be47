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
                   "; hint: the directory must hold the four MNIST-style IDX files, or one folder of images per class");
}

// One split's image and label files, headers read: they must fit together
// (3 and 1 dimensions, as many labels as images) before any data is read.
struct SplitFiles {
  IdxReader images, labels;
};

SplitFiles open_split(const std::string& images_path, const std::string& labels_path) {
  SplitFiles files{IdxReader(images_path), IdxReader(labels_path)};
  if (files.images.dims().size() != 3) {
    throw InputError(images_path + ": images must have 3 dimensions (count, rows, cols), this file has shape " +
                     files.images.shape_text());
  }
  if (files.labels.dims().size() != 1) {
    throw InputError(labels_path + ": labels must have 1 dimension (count), this file has shape " + files.labels.shape_text());
  }
  if (files.images.dims()[0] != files.labels.dims()[0]) {
    throw InputError(images_path + " holds " + std::to_string(files.images.dims()[0]) + " images but " + labels_path +
                     " holds " + std::to_string(files.labels.dims()[0]) + " labels");
  }
  return files;
}

// Reads one split's data: the labels (the small file) first.
Split read_split(SplitFiles& files) {
  Split set;
  set.count = files.images.dims()[0];
  set.shape = {files.images.dims()[1], files.images.dims()[2]};
  const std::vector<std::uint8_t> labels = files.labels.read_data();
  set.labels.assign(labels.begin(), labels.end());
  set.pixels = files.images.read_data();
  return set;
}

bool is_fashion_mnist_directory(const std::string& dir) {
  std::error_code ec;
  return fs::equivalent(dir, kFashionMnistDirectory, ec);  // false (not an error) if either is missing
}

// Throws if some label of `set` is not a class; `classes_source` says where the
// classes come from ("classes.txt names").
void check_labels(const Split& set, const std::string& labels_path, std::size_t num_classes,
                  const std::string& classes_source) {
  for (std::size_t i = 0; i < set.count; ++i) {
    if (set.labels[i] >= num_classes) {
      throw InputError(labels_path + ": label " + std::to_string(set.labels[i]) + " of item " + std::to_string(i) +
                       " is out of range: " + classes_source + " " + std::to_string(num_classes) +
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
      message += "; hint: pass fashion-mnist, a directory holding the four MNIST-style IDX files, or one of class folders of images";
    }
    throw InputError(message);
  }
  if (!fs::is_directory(data.source, ec)) {
    throw InputError("data directory " + data.source + " is not a directory; hint: pass the directory holding the four MNIST-style IDX files");
  }

  // Every header is read and checked (counts, shapes) before any data is.
  const fs::path dir(data.source);
  SplitFiles train_files = open_split(find_idx_file(dir, "train-images-idx3-ubyte"), find_idx_file(dir, "train-labels-idx1-ubyte"));
  SplitFiles test_files = open_split(find_idx_file(dir, "t10k-images-idx3-ubyte"), find_idx_file(dir, "t10k-labels-idx1-ubyte"));
  const auto item_shape = [](const SplitFiles& f) {
    return std::to_string(f.images.dims()[1]) + "x" + std::to_string(f.images.dims()[2]) + " images";
  };
  if (item_shape(train_files) != item_shape(test_files)) {
    throw InputError(test_files.images.path() + ": test images are " + item_shape(test_files) + " but the train images in " +
                     train_files.images.path() + " are " + item_shape(train_files));
  }
  // The classes (dataset.hpp, "Class labels"): named, or the class numbers of the training labels.
  const fs::path classes_file = dir / "classes.txt";
  const bool named = fashion || fs::exists(classes_file, ec);
  if (named) data.class_names = fashion ? kFashionMnistClasses : load_class_names(classes_file.string());
  const std::string classes_source = fashion ? "Fashion-MNIST gives" : classes_file.string() + " names";

  const std::string train_labels = train_files.labels.path(), test_labels = test_files.labels.path();
  data.train = read_split(train_files);
  data.test = read_split(test_files);
  if (named) {
    check_labels(data.train, train_labels, data.num_classes(), classes_source);
    require_two_classes(data.train.labels, data.class_names, train_labels);
  } else {
    const std::size_t classes = count_numbered_classes(data.train.labels, train_labels);
    for (std::size_t c = 0; c < classes; ++c) data.class_names.push_back(std::to_string(c));
  }
  check_labels(data.test, test_labels, data.num_classes(), named ? classes_source : "the training labels " + train_labels + " have");
  return data;
}

}  // namespace xg
