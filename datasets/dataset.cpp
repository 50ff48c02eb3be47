#include "datasets/dataset.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

#include "core/error.hpp"
#include "datasets/text_lines.hpp"

namespace xg {
namespace {


std::string trim(const std::string& text) {
  const char* space = " \t\r\n\f\v";
  const std::size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  const std::size_t last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

// Images: a mean and std of pixel/255 per channel (one for grey images), as
// torchvision's Normalize(mean=[r, g, b], std=[r, g, b]) takes them. A
// histogram of the 256 byte values of each channel gives exact counts for the
// two passes of mean and variance.
Normalization image_normalization(const Split& train) {
  const std::size_t channels = train.channels(), plane = train.rows() * train.cols();
  // histograms[c][v]: how many pixels of channel c have the value v. Pixels are CHW per item.
  // Four partial histograms, one per pixel position mod 4, summed at the end: runs
  // of one value (the black background) would otherwise make every increment wait
  // for the one before; the counts are the same.
  std::vector<std::array<std::uint64_t, 256>> histograms(channels, std::array<std::uint64_t, 256>{});
  std::vector<std::array<std::uint32_t, 4 * 256>> partial(channels, std::array<std::uint32_t, 4 * 256>{});
  const auto add_partial = [&] {
    for (std::size_t c = 0; c < channels; ++c) {
      for (std::size_t v = 0; v < 256; ++v)
        histograms[c][v] += std::uint64_t(partial[c][v]) + partial[c][256 + v] + partial[c][512 + v] + partial[c][768 + v];
      partial[c].fill(0);
    }
  };
  std::uint64_t pending = 0;  // pixels per channel in `partial`, kept well below 2^32
  for (std::size_t item = 0; item < train.count; ++item) {
    const std::uint8_t* pixels = train.pixels.data() + item * channels * plane;
    for (std::size_t c = 0; c < channels; ++c) {
      const std::uint8_t* channel = pixels + c * plane;
      std::uint32_t* counts = partial[c].data();
      std::size_t p = 0;
      for (; p + 4 <= plane; p += 4) {
        ++counts[channel[p]];
        ++counts[256 + channel[p + 1]];
        ++counts[512 + channel[p + 2]];
        ++counts[768 + channel[p + 3]];
      }
      for (; p < plane; ++p) ++counts[channel[p]];
    }
    pending += plane;
    if (pending > (std::uint64_t(1) << 30)) add_partial(), pending = 0;
  }
  add_partial();
  Normalization norm;
  norm.mean.assign(channels, 0.0f);
  norm.std.assign(channels, 1.0f);
  for (std::size_t c = 0; c < channels; ++c) {
    const std::array<std::uint64_t, 256>& histogram = histograms[c];
    double n = 0.0, sum = 0.0;
    int distinct_values = 0;
    for (int v = 0; v < 256; ++v) {
      n += double(histogram[v]);
      sum += double(histogram[v]) * (v / 255.0);
      distinct_values += histogram[v] != 0;
    }
    if (n == 0.0) continue;
    const double mean = sum / n;
    norm.mean[c] = float(mean);
    if (distinct_values < 2) continue;  // a constant channel: std would be 0, keep 1
    double squares = 0.0;
    for (int v = 0; v < 256; ++v) {
      const double d = v / 255.0 - mean;
      squares += double(histogram[v]) * d * d;
    }
    norm.std[c] = float(std::sqrt(squares / n));
  }
  return norm;
}

// Tables: a mean and std per feature (column), in double precision.
Normalization table_normalization(const Split& train) {
  const std::size_t features = train.features();
  Normalization norm;
  norm.mean.assign(features, 0.0f);
  norm.std.assign(features, 1.0f);
  if (train.count == 0) return norm;
  for (std::size_t f = 0; f < features; ++f) {
    double sum = 0.0, squares = 0.0;
    for (std::size_t r = 0; r < train.count; ++r) sum += train.values[r * features + f];
    const double mean = sum / double(train.count);
    for (std::size_t r = 0; r < train.count; ++r) {
      const double d = train.values[r * features + f] - mean;
      squares += d * d;
    }
    const double stddev = std::sqrt(squares / double(train.count));
    norm.mean[f] = float(mean);
    // A constant feature keeps std 1; a std that rounds to 0 in float would divide by zero.
    norm.std[f] = stddev > 1e-12 && float(stddev) > 0.0f && std::isfinite(float(stddev)) ? float(stddev) : 1.0f;
  }
  return norm;
}

}  // namespace

std::size_t Split::features() const {
  if (shape.empty()) return 0;
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

std::string Split::item_description() const {
  if (is_image()) return std::to_string(rows()) + "x" + std::to_string(cols()) + (channels() == 3 ? " RGB" : channels() == 1 ? "" : " " + std::to_string(channels()) + "-channel") + " images";
  return std::to_string(features()) + " features";
}

Split select(const Split& from, const std::vector<std::uint32_t>& indices) {
  Split to;
  to.shape = from.shape;
  to.count = indices.size();
  const std::size_t n = from.features();
  if (from.is_image()) to.pixels.reserve(indices.size() * n);
  else to.values.reserve(indices.size() * n);
  to.labels.reserve(indices.size());
  for (std::uint32_t i : indices) {
    if (from.is_image()) {
      to.pixels.insert(to.pixels.end(), from.pixels.begin() + std::ptrdiff_t(i * n), from.pixels.begin() + std::ptrdiff_t((i + 1) * n));
    } else {
      to.values.insert(to.values.end(), from.values.begin() + std::ptrdiff_t(i * n), from.values.begin() + std::ptrdiff_t((i + 1) * n));
    }
    to.labels.push_back(from.labels[i]);
  }
  return to;
}

void truncate(Split& set, std::size_t n) {
  if (n >= set.count) return;
  set.count = n;
  if (set.is_image()) set.pixels.resize(n * set.features());
  else set.values.resize(n * set.features());
  set.labels.resize(n);
}

std::size_t normalization_values(const Split& set) { return set.is_image() ? set.channels() : set.features(); }

Normalization compute_normalization(const Split& train) {
  return train.is_image() ? image_normalization(train) : table_normalization(train);
}

std::string label_column_warning(const Dataset& data) {
  const std::size_t classes = data.class_names.size();
  std::vector<std::size_t> rows(classes, 0);
  for (const Split* split : {&data.train, &data.test})
    for (std::uint32_t label : split->labels)
      if (label < classes) ++rows[label];
  std::size_t rare = 0;
  for (std::size_t n : rows) rare += n < 5;
  bool numbers = true;   // every name is a number
  std::string fraction;  // the first that is not whole
  for (const std::string& name : data.class_names) {
    char* end = nullptr;
    const double value = std::strtod(name.c_str(), &end);
    numbers = numbers && !name.empty() && end == name.c_str() + name.size() && std::isfinite(value);
    if (numbers && fraction.empty() && value != std::floor(value)) fraction = name;
  }
  const std::string count = std::to_string(classes) + " distinct values";
  std::string why;
  if (classes > 50 && 2 * rare > classes) {
    why = count + ", " + std::to_string(rare) + " of them in fewer than 5 rows";
  } else if (classes > 10 && numbers && !fraction.empty()) {
    why = count + ", numbers with fractions (e.g. " + fraction + ")";
  } else {
    return "";
  }
  return data.name + ": the label column has " + why + ", so it becomes " + std::to_string(classes) +
         " classes; it looks like a quantity to predict, and xgrad classifies (it does not regress). "
         "Is --label-col right?";
}

std::size_t count_numbered_classes(const std::vector<std::uint32_t>& train_labels, const std::string& labels_source) {
  std::size_t largest_item = 0;
  for (std::size_t i = 0; i < train_labels.size(); ++i)
    if (train_labels[i] > train_labels[largest_item]) largest_item = i;
  const std::uint32_t largest = train_labels.empty() ? 0 : train_labels[largest_item];
  const std::string where = "label " + std::to_string(largest) + " (item " + std::to_string(largest_item) + ")";
  if (largest >= kMaxClasses) {
    throw InputError(labels_source + ": " + where + " is beyond the limit of " + std::to_string(kMaxClasses) + " classes");
  }
  std::vector<std::size_t> examples(std::size_t(largest) + 1, 0);
  for (std::uint32_t label : train_labels) ++examples[label];
  const std::size_t present = std::size_t(std::count_if(examples.begin(), examples.end(), [](std::size_t n) { return n > 0; }));
  if (present < 2) {
    throw InputError(labels_source + ": every training label is " + std::to_string(largest) +
                     "; a classifier needs at least two classes");
  }
  if (present < examples.size()) {
    const std::size_t empty = std::size_t(std::find(examples.begin(), examples.end(), 0) - examples.begin());
    throw InputError(labels_source + ": " + where + " makes " + std::to_string(examples.size()) + " classes, but only " +
                     std::to_string(present) + " of them have a training example (class " + std::to_string(empty) +
                     " has none); labels must number the classes 0..K-1; hint: renumber them 0.." +
                     std::to_string(present - 1) + ", or name every class in classes.txt");
  }
  return examples.size();
}

void require_two_classes(const std::vector<std::uint32_t>& train_labels, const std::vector<std::string>& class_names,
                         const std::string& labels_source) {
  if (train_labels.empty()) return;
  const std::uint32_t first = train_labels.front();
  if (std::any_of(train_labels.begin(), train_labels.end(), [&](std::uint32_t y) { return y != first; })) return;
  const std::string name = first < class_names.size() ? " ('" + class_names[first] + "')" : "";
  throw InputError(labels_source + ": every training label is " + std::to_string(first) + name +
                   "; a classifier needs at least two classes");
}

std::vector<std::string> load_class_names(const std::string& spec) {
  std::vector<std::string> names;
  std::error_code ec;
  if (std::filesystem::is_regular_file(spec, ec)) {
    std::ifstream in(spec, std::ios::binary);
    if (!in) throw InputError(spec + ": cannot open the class-name file for reading");
    LineReader lines(in, spec, kMaxClassNameBytes + 256);  // room for spaces around a name
    std::string line;
    while (lines.next(line)) {
      const std::string name = trim(line);
      if (name.empty()) continue;
      if (name.size() > kMaxClassNameBytes) {
        throw InputError(spec + ":" + std::to_string(lines.line_number()) + ": a class name of " + std::to_string(name.size()) +
                         " bytes; at most " + std::to_string(kMaxClassNameBytes));
      }
      if (names.size() == kMaxClasses) {
        throw InputError(spec + ":" + std::to_string(lines.line_number()) + ": more than " + std::to_string(kMaxClasses) +
                         " class names; xgrad handles at most " + std::to_string(kMaxClasses) + " classes");
      }
      names.push_back(name);
    }
    if (names.empty()) throw InputError(spec + ": the class-name file is empty; hint: write one class name per line");
  } else if (spec.find(',') != std::string::npos) {
    require_utf8(spec, "class list");
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = spec.find(',', start);
      const std::string name = trim(spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (name.empty()) throw InputError("class list \"" + spec + "\" has an empty name; hint: write names like cat,dog,bird");
      if (name.size() > kMaxClassNameBytes) {
        throw InputError("class list: a class name of " + std::to_string(name.size()) + " bytes; at most " +
                         std::to_string(kMaxClassNameBytes));
      }
      if (names.size() == kMaxClasses) {
        throw InputError("class list: more than " + std::to_string(kMaxClasses) + " names; xgrad handles at most " +
                         std::to_string(kMaxClasses) + " classes");
      }
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

}  // namespace xg
