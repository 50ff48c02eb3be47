#pragma once
// An image-classification dataset in the MNIST layout: a directory holding
//   train-images-idx3-ubyte   (count, rows, cols) unsigned bytes
//   train-labels-idx1-ubyte   (count) unsigned bytes
//   t10k-images-idx3-ubyte
//   t10k-labels-idx1-ubyte
// each also accepted as `train-images.idx3-ubyte` and/or with `.gz` appended.
// Images may be any size (rows x cols), not only 28 x 28.
#include <string>

#include "datasets/dataset.hpp"

namespace xg {

// Where the Debian package dataset-fashion-mnist installs its files.
extern const char* const kFashionMnistDirectory;

// "fashion-mnist" -> kFashionMnistDirectory; anything else is a directory path.
// ("mnist" has no Debian package, so it is not a known name.)
std::string resolve_data_directory(const std::string& name_or_dir);

// Loads and checks both splits and the class names. Every file's header is
// read and checked (the label count is the image count, the test images have
// the train images' size) before any data is read. Class names are the ten
// Fashion-MNIST names for the fashion-mnist directory, else the lines of
// `classes.txt` in the directory, else "0", "1", ... "K-1", where every class
// number below K labels a training item (dataset.hpp, "Class labels").
// Throws InputError for a missing directory or file, a malformed file, a count
// mismatch, different train/test image sizes, a label with no class, a gap in
// the class numbers or a single class.
Dataset load_image_dataset(const std::string& name_or_dir);

}  // namespace xg
