#pragma once
// An image-classification data set from folders of image files, the layout of
// torchvision's ImageFolder and Keras's image_dataset_from_directory:
//
//   DIR/train/<class>/*.png|jpg|pgm  and  DIR/test/<class>/*   both splits given
//   DIR/<class>/*                                              the test split held out (test_split)
//
// The classes are the folder names, sorted (byte order, so "10" sorts before
// "9"); with train/ and test/, train/'s class folders are the classes and every
// folder of test/ must be one of them. A class folder's files may sit in
// subfolders (followed, symbolic links too); entries whose name starts with a
// dot (.DS_Store, .git) are skipped, and so are plain files directly in DIR
// (a README beside the class folders). Files are taken in sorted path order.
//
// Every file is read as an image (image_file.hpp: PGM, PNG, JPEG; by content,
// whatever its name), as grey or, with channels 3, as RGB planes (the split's
// shape is then {3, rows, cols}: CHW). With a target size every image is
// resized to it (bilinear, pixel centres aligned: resize_image); without one,
// every image must have the first one's size (the first file of the first
// class of the training split).
//
// Held-out test split (the DIR/<class> layout): stratified and seeded: each
// class gives round(n · test_split) of its n images, at least one, to the test
// split, chosen by a shuffle seeded by (seed, class); the rest train. Each
// split keeps the class-then-path order.
//
// Bad folders are InputErrors naming the path: an empty class folder, a file
// that is not an image, a single class, more than kMaxClasses classes, a
// symbolic-link loop, train/ without test/ (or the reverse), too few images
// in a class to hold one out. The folder tree is walked and counted, and the
// first image's header read, before any pixel buffer is allocated; the data
// set may hold at most kMaxImageFolderBytes of pixels.
#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/dataset.hpp"

namespace xg {

constexpr std::uint64_t kMaxImageFolderBytes = std::uint64_t(4) << 30;  // of pixels, both splits
constexpr std::size_t kMaxImageFolderFiles = 10000000;
constexpr std::size_t kMaxImageFolderDepth = 32;  // subfolders inside a class folder

struct ImageFolderOptions {
  std::size_t channels = 1;        // 1: grey, 3: RGB
  std::size_t rows = 0, cols = 0;  // resize every image to rows x cols; 0: keep the size
  double test_split = 0.2;         // DIR/<class> layout: the fraction of each class held out, in (0, 1)
  std::uint64_t seed = 0;          // of the held-out split
};

// Whether `dir` is to be read as an image folder: a directory holding no
// MNIST-style IDX file (train-images*) and at least one visible subfolder.
bool is_image_folder(const std::string& dir);
// Whether the image folder `dir` gives both splits (DIR/train and DIR/test), so
// that no test split is held out and test_split is not used.
bool image_folder_has_splits(const std::string& dir);

// Reads both splits (see the top of this file); throws InputError.
Dataset load_image_folder(const std::string& dir, const ImageFolderOptions& options);

// "H,W" (e.g. "28,28") for --image-size: both in 1..kMaxImageSide and at most
// kMaxImagePixels in all; throws InputError naming --image-size.
struct ImageShape {
  std::size_t rows = 0, cols = 0;
};
ImageShape parse_image_size(const std::string& text);

}  // namespace xg
