#pragma once
// An image-classification dataset in the MNIST layout: a directory holding
//   train-images-idx3-ubyte   (count, rows, cols) unsigned bytes
//   train-labels-idx1-ubyte   (count) unsigned bytes
//   t10k-images-idx3-ubyte
//   t10k-labels-idx1-ubyte
// each also accepted as `train-images.idx3-ubyte` and/or with `.gz` appended.
// Images may be any size (rows x cols), not only 28 x 28.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

// One split (train or test).
struct ImageSet {
  std::size_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count*rows*cols, image after image, row-major
  std::vector<std::uint8_t> labels;  // count
  std::size_t features() const { return rows * cols; }
};

// Keeps the first n items (no-op if n >= count).
void truncate(ImageSet& set, std::size_t n);

struct ImageDataset {
  std::string name;        // "fashion-mnist", or the directory as given
  std::string directory;   // resolved directory
  ImageSet train, test;
  std::vector<std::string> class_names;  // one per class
  std::size_t num_classes() const { return class_names.size(); }
};

// Where the Debian package dataset-fashion-mnist installs its files.
extern const char* const kFashionMnistDirectory;

// "fashion-mnist" -> kFashionMnistDirectory; anything else is a directory path.
// ("mnist" has no Debian package, so it is not a known name.)
std::string resolve_data_directory(const std::string& name_or_dir);

// Loads and checks both splits and the class names. Class names are the ten
// Fashion-MNIST names for the fashion-mnist directory, else the lines of
// `classes.txt` in the directory, else "0", "1", ... up to the largest label.
// Throws InputError for a missing directory or file, a malformed file, a count
// mismatch, different train/test image sizes or a label with no class.
ImageDataset load_image_dataset(const std::string& name_or_dir);

// `spec` is an existing file (one name per line, blank lines ignored) or a
// comma-separated list ("cat,dog,bird"). Throws InputError if it names no class
// or a name twice.
std::vector<std::string> load_class_names(const std::string& spec);

// Pixel normalisation: x_norm = (x/255 - mean) / std.
struct Normalization {
  float mean = 0.0f, std = 1.0f;
};

// Mean and (population) standard deviation of x/255 over every pixel of the
// set; std 1 if the pixels are all equal (or the set is empty).
Normalization compute_normalization(const ImageSet& train);

}  // namespace xg
