#pragma once
// A classification data set as training sees it: a train and a test split of
// items, each item a fixed number of input numbers ("features") and a label.
//
// Two kinds of item, one type:
//   images  (IDX files, datasets/image_dataset.hpp; image folders,
//           datasets/image_folder.hpp): shape {rows, cols} for grey images,
//           {channels, rows, cols} for colour ones (CHW, as PyTorch's Conv2d
//           takes them), kept as the bytes 0..255 in `pixels` (a quarter of
//           the memory of floats);
//   tables  (CSV files, datasets/csv.hpp): shape {features}, kept as floats
//           in `values`.
// The DataLoader (datasets/dataloader.hpp) turns either into float batches.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

// One split (train, test or validation).
struct Split {
  std::size_t count = 0;
  std::vector<std::size_t> shape;     // of one item: {rows, cols} or {channels, rows, cols} for images, {features} for tables
  std::vector<std::uint8_t> pixels;   // images: count * features() bytes, item after item, each plane after plane, row-major
  std::vector<float> values;          // tables: count * features() numbers, row after row
  std::vector<std::uint32_t> labels;  // count class indices

  bool is_image() const { return shape.size() == 2 || shape.size() == 3; }
  // An image's planes (1 for grey), rows and columns; a table's are 0.
  std::size_t channels() const { return shape.size() == 3 ? shape[0] : shape.size() == 2 ? 1 : 0; }
  std::size_t rows() const { return is_image() ? shape[shape.size() - 2] : 0; }
  std::size_t cols() const { return is_image() ? shape[shape.size() - 1] : 0; }
  std::size_t features() const;  // the product of shape (0 for an empty shape)
  // "28x28 images", "32x32 RGB images" or "4 features", for messages.
  std::string item_description() const;
};

// A split of the same kind and shape holding the items `indices` of `from`, in that order.
Split select(const Split& from, const std::vector<std::uint32_t>& indices);

// Keeps the first n items (no-op if n >= count).
void truncate(Split& set, std::size_t n);

struct Dataset {
  std::string name;                        // as the user named it: "fashion-mnist", a directory, a .csv file
  std::string source;                      // the resolved directory or file
  Split train, test;
  std::vector<std::string> class_names;    // one per class
  std::vector<std::string> feature_names;  // tables: one per feature (header names or "1", "2", ...); images: empty
  std::size_t num_classes() const { return class_names.size(); }
};

// Input normalisation, x_norm = (x - mean) / std, where x is pixel/255 for
// images and the number itself for tables. Images have one mean and one std
// per channel (one for grey images, three for RGB: torchvision's
// Normalize(mean=[r, g, b], std=[r, g, b])); tables have one of each per
// feature. The default (mean 0, std 1) fits grey images.
struct Normalization {
  std::vector<float> mean{0.0f}, std{1.0f};
};

// How many means and stds a split's normalisation has: its channels (images)
// or its features (tables).
std::size_t normalization_values(const Split& set);

// From the training split: the mean and population standard deviation of
// x/255 over every pixel of each channel (images), or of each feature
// (tables), computed in double. A constant channel or feature gets std 1.
Normalization compute_normalization(const Split& train);

// "" when the labels look like classes; otherwise a warning that the label
// column looks like a quantity (a regression target) made into classes: more
// than 50 classes, most of them with fewer than 5 rows of train + test, or
// numeric labels with fractions ("2.75") among more than 10 classes.
std::string label_column_warning(const Dataset& data);

// Class labels: one rule for every format (README "Class labels").
//   - Named classes (classes.txt, Fashion-MNIST's built-in names, --classes, a
//     trained model's classes): a label is a class number below the number of
//     names (IDX) or one of the names (CSV).
//   - Otherwise the classes are the labels present in the training split, so
//     no class is ever made up without an example: CSV labels are names (an
//     integer label counts by value: "07" is "7", and the classes sort by
//     value); IDX labels are class numbers, so they must be exactly 0..K-1,
//     each with a training example (a label of 255 among three classes present
//     is refused, not read as 256 classes).
//   - Either way a data set has at least 2 and at most kMaxClasses classes,
//     a class name has at most kMaxClassNameBytes bytes of UTF-8, and a test
//     label must be one of the training classes.
// Messages name the file, the label and where it is.
constexpr std::size_t kMaxClasses = 1000;
constexpr std::size_t kMaxClassNameBytes = 1024;

// The number of classes of class-number labels (IDX) without names: K = the
// largest training label + 1, after checking that every class 0..K-1 labels a
// training item and that K >= 2. `labels_source` names the training labels'
// file; item i of `train_labels` is "item i" in messages.
std::size_t count_numbered_classes(const std::vector<std::uint32_t>& train_labels, const std::string& labels_source);

// Throws unless the training labels hold at least two different classes.
void require_two_classes(const std::vector<std::uint32_t>& train_labels, const std::vector<std::string>& class_names,
                         const std::string& labels_source);

// `spec` is an existing file (UTF-8, one name per line, blank lines ignored) or
// a comma-separated list ("cat,dog,bird"). Throws InputError if it names no
// class, a name twice, more than kMaxClasses, or is not UTF-8 text.
std::vector<std::string> load_class_names(const std::string& spec);

}  // namespace xg
