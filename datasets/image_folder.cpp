#include "datasets/image_folder.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "datasets/image_file.hpp"

namespace xg {
namespace {

namespace fs = std::filesystem;

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// The status of `p`, following symbolic links; a loop of links or a link to
// nothing is an error naming `p`.
fs::file_status status_of(const fs::path& p) {
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (ec == std::errc::too_many_symbolic_link_levels) fail(p.string() + ": symbolic link loop");
  if (!ec && st.type() != fs::file_type::not_found) return st;
  if (fs::is_symlink(fs::symlink_status(p, ec))) fail(p.string() + ": broken symbolic link");
  fail(p.string() + ": cannot read: " + (ec ? ec.message() : "not found"));
}

// The entries of folder `dir` but hidden ones, sorted by name.
std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) fail(dir.string() + ": cannot list the folder: " + ec.message());
  std::vector<fs::path> entries;
  while (it != end) {
    if (!is_hidden(it->path())) entries.push_back(it->path());
    if (entries.size() > kMaxImageFolderFiles) fail(dir.string() + ": more than " + std::to_string(kMaxImageFolderFiles) + " entries");
    it.increment(ec);
    if (ec) fail(dir.string() + ": cannot list the folder: " + ec.message());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

// Appends the files under `dir` (a class folder, or a folder inside one) to
// `files`, depth first in sorted order; `chain` holds the real paths of the
// folders from the split's folder down to `dir`, so that a link back to one of
// them is caught as a loop instead of being followed for ever.
void collect_files(const fs::path& dir, std::vector<fs::path>& chain, std::vector<std::string>& files, std::size_t& total) {
  std::error_code ec;
  const fs::path real = fs::canonical(dir, ec);
  if (ec == std::errc::too_many_symbolic_link_levels) fail(dir.string() + ": symbolic link loop");
  if (ec) fail(dir.string() + ": cannot resolve the folder: " + ec.message());
  if (std::find(chain.begin(), chain.end(), real) != chain.end()) {
    fail(dir.string() + ": symbolic link loop: it leads back to " + real.string());
  }
  if (chain.size() > kMaxImageFolderDepth) fail(dir.string() + ": folders nested more than " + std::to_string(kMaxImageFolderDepth) + " deep");
  chain.push_back(real);
  for (const fs::path& entry : sorted_entries(dir)) {
    const fs::file_status st = status_of(entry);
    if (fs::is_directory(st)) {
      collect_files(entry, chain, files, total);
    } else if (fs::is_regular_file(st)) {
      files.push_back(entry.string());
      if (++total > kMaxImageFolderFiles) fail(dir.string() + ": more than " + std::to_string(kMaxImageFolderFiles) + " image files");
    } else {
      fail(entry.string() + ": not a regular file (a device, socket or FIFO), expected an image");
    }
  }
  chain.pop_back();
}

struct ClassFolder {
  std::string name;
  fs::path path;
  std::vector<std::string> files;
};

// The class folders of `dir` (its visible subfolders, sorted), each with its files; plain files in `dir` are skipped.
std::vector<ClassFolder> read_class_folders(const fs::path& dir, std::size_t& total) {
  std::vector<ClassFolder> classes;
  for (const fs::path& entry : sorted_entries(dir)) {
    if (!fs::is_directory(status_of(entry))) continue;
    const std::string name = entry.filename().string();
    if (name.size() > kMaxClassNameBytes) fail(entry.string() + ": a class folder name longer than " + std::to_string(kMaxClassNameBytes) + " bytes");
    classes.push_back({name, entry, {}});
    if (classes.size() > kMaxClasses) {
      fail(dir.string() + ": more than " + std::to_string(kMaxClasses) + " class folders (the limit of classes)");
    }
  }
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  for (ClassFolder& c : classes) {
    std::vector<fs::path> chain = {root};  // a link back to `dir` is a loop too
    collect_files(c.path, chain, c.files, total);
    if (c.files.empty()) fail(c.path.string() + ": empty class folder (no image files); add images or remove it");
  }
  return classes;
}

// The files of one split and their class numbers.
struct FileList {
  std::vector<std::string> paths;
  std::vector<std::uint32_t> labels;
  void add(const std::string& path, std::size_t label) {
    paths.push_back(path);
    labels.push_back(std::uint32_t(label));
  }
};

// The held-out split of the DIR/<class> layout (image_folder.hpp): per class, a seeded shuffle picks the test files.
void hold_out(const ClassFolder& c, std::size_t label, const ImageFolderOptions& o, FileList& train, FileList& test) {
  const std::size_t n = c.files.size();
  std::size_t test_count = std::size_t(std::llround(double(n) * o.test_split));
  test_count = std::max<std::size_t>(test_count, 1);
  if (test_count >= n) {
    fail(c.path.string() + ": " + std::to_string(n) + " image" + (n == 1 ? " is" : "s are") +
         " too few to hold out a test split (no training image would be left); add images, or give DIR/train and DIR/test folders");
  }
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = std::uint32_t(i);
  Rng rng(o.seed ^ (std::uint64_t(label + 1) * 0x9E3779B97F4A7C15ull));
  rng.shuffle(order);
  std::vector<bool> held(n, false);
  for (std::size_t i = 0; i < test_count; ++i) held[order[i]] = true;
  for (std::size_t i = 0; i < n; ++i) (held[i] ? test : train).add(c.files[i], label);
}

std::string size_text(const ImageSize& s) { return std::to_string(s.cols) + "x" + std::to_string(s.rows); }

// Reads, checks and decodes the files of one split into a Split of `shape`.
Split decode_split(const FileList& files, const std::vector<std::size_t>& shape, const ImageFolderOptions& o,
                   const std::string& first_path, const ImageSize& first_size) {
  Split set;
  set.shape = shape;
  set.count = files.paths.size();
  set.labels = files.labels;
  const std::size_t features = set.features(), rows = set.rows(), cols = set.cols();
  set.pixels.reserve(set.count * features);  // checked against kMaxImageFolderBytes by the caller
  const bool resize = o.rows != 0;
  for (const std::string& path : files.paths) {
    const std::string bytes = read_image_file(path);
    const ImageSize size = image_size(bytes, path);  // the header: no pixel decoded yet
    if (!resize && (size.rows != first_size.rows || size.cols != first_size.cols)) {
      fail(path + ": image is " + size_text(size) + " (width x height) but the first image, " + first_path + ", is " +
           size_text(first_size) + "; pass --image-size H,W to resize them all");
    }
    Image image = decode_image(bytes, path, o.channels);
    if (image.rows != rows || image.cols != cols) image = resize_image(image, rows, cols);
    set.pixels.insert(set.pixels.end(), image.pixels.begin(), image.pixels.end());
  }
  return set;
}

bool has_idx_files(const fs::path& dir) {
  for (const char* name : {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz", "train-images.idx3-ubyte",
                           "train-images.idx3-ubyte.gz"}) {
    std::error_code ec;
    if (fs::exists(dir / name, ec)) return true;
  }
  return false;
}

}  // namespace

bool is_image_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || has_idx_files(dir)) return false;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!is_hidden(it->path()) && fs::is_directory(it->path(), ec)) return true;
  }
  return false;
}

bool image_folder_has_splits(const std::string& dir) {
  std::error_code ec;
  return is_image_folder(dir) && fs::is_directory(fs::path(dir) / "train", ec) &&
         fs::is_directory(fs::path(dir) / "test", ec);
}

ImageShape parse_image_size(const std::string& text) {
  const std::string expected = "--image-size must be H,W (rows,cols) such as 28,28, each 1.." + std::to_string(kMaxImageSide) +
                               " and at most " + std::to_string(kMaxImagePixels) + " pixels in all; got '" + text + "'";
  const std::size_t comma = text.find(',');
  if (comma == std::string::npos) fail(expected);
  auto number = [&](const std::string& part) -> std::size_t {
    if (part.empty() || part.size() > 6 || part.find_first_not_of("0123456789") != std::string::npos) fail(expected);
    const std::size_t v = std::stoul(part);
    if (v == 0 || v > kMaxImageSide) fail(expected);
    return v;
  };
  const ImageShape s{number(text.substr(0, comma)), number(text.substr(comma + 1))};
  if (std::uint64_t(s.rows) * s.cols > kMaxImagePixels) fail(expected);
  return s;
}

Dataset load_image_folder(const std::string& dir_name, const ImageFolderOptions& o) {
  if (o.channels != 1 && o.channels != 3) fail("--channels must be 1 (grey) or 3 (RGB), got " + std::to_string(o.channels));
  if ((o.rows == 0) != (o.cols == 0)) fail("image folder: a target size needs both rows and cols");
  const fs::path dir(dir_name);
  Dataset data;
  data.name = dir_name;
  data.source = dir_name;

  // The folder tree first: classes and files, counted; no image is read yet.
  std::error_code ec;
  const bool has_train = fs::is_directory(dir / "train", ec), has_test = fs::is_directory(dir / "test", ec);
  if (has_train != has_test) {
    fail(dir_name + ": has a " + (has_train ? "train" : "test") + "/ folder but no " + (has_train ? "test" : "train") +
         "/ folder; give both (DIR/train/<class>, DIR/test/<class>) or class folders directly in DIR");
  }
  std::size_t total = 0;
  const fs::path train_dir = has_train ? dir / "train" : dir;
  const std::vector<ClassFolder> classes = read_class_folders(train_dir, total);
  if (classes.empty()) fail(train_dir.string() + ": no class folders; put each class's images in a folder named after it");
  if (classes.size() == 1) {
    fail(train_dir.string() + ": only one class folder (" + classes[0].name + "); a classifier needs at least 2 classes");
  }
  for (const ClassFolder& c : classes) data.class_names.push_back(c.name);
  FileList train, test;
  if (has_train) {
    for (std::size_t k = 0; k < classes.size(); ++k)
      for (const std::string& f : classes[k].files) train.add(f, k);
    for (const ClassFolder& c : read_class_folders(dir / "test", total)) {
      const auto at = std::find(data.class_names.begin(), data.class_names.end(), c.name);
      if (at == data.class_names.end()) {
        fail(c.path.string() + ": test class folder " + c.name + " is not a class of " + train_dir.string() + "/");
      }
      for (const std::string& f : c.files) test.add(f, std::size_t(at - data.class_names.begin()));
    }
    if (test.paths.empty()) fail((dir / "test").string() + ": no class folders with test images");
  } else {
    if (!(o.test_split > 0.0 && o.test_split < 1.0)) {
      fail(dir_name + ": --test-split must be in (0, 1) to hold out test images from the class folders, got " +
           std::to_string(o.test_split) + "; or give DIR/train and DIR/test folders");
    }
    for (std::size_t k = 0; k < classes.size(); ++k) hold_out(classes[k], k, o, train, test);
  }

  // The first image's header sets the size (unless resizing); the whole data
  // set must fit the limit before a pixel buffer is allocated.
  const std::string& first_path = train.paths.front();
  const ImageSize first_size = image_size(read_image_file(first_path), first_path);
  const std::size_t rows = o.rows ? o.rows : first_size.rows, cols = o.cols ? o.cols : first_size.cols;
  const std::vector<std::size_t> shape =
      o.channels == 1 ? std::vector<std::size_t>{rows, cols} : std::vector<std::size_t>{o.channels, rows, cols};
  const std::uint64_t bytes = std::uint64_t(train.paths.size() + test.paths.size()) * o.channels * rows * cols;
  if (bytes > kMaxImageFolderBytes) {
    fail(dir_name + ": " + std::to_string(train.paths.size() + test.paths.size()) + " images of " + std::to_string(cols) + "x" +
         std::to_string(rows) + " need " + std::to_string(bytes >> 20) + " MiB, more than the limit of " +
         std::to_string(kMaxImageFolderBytes >> 20) + " MiB; pass --image-size H,W to shrink them");
  }
  data.train = decode_split(train, shape, o, first_path, first_size);
  data.test = decode_split(test, shape, o, first_path, first_size);
  return data;
}

}  // namespace xg
