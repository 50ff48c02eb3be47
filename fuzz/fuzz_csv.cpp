// libFuzzer target: the CSV reader and the data set built from it. The input
// is split at its first 0xFF byte into a training and a test file (no 0xFF:
// the training file alone, split by --test-split). An InputError is a correct
// refusal; anything else is a bug.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "datasets/csv.hpp"
#include "datasets/text_lines.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = input.find('\xFF');
  xg::CsvOptions options;
  options.seed = size;
  std::string train = input, test, test_source;
  if (cut != std::string::npos) {
    train = input.substr(0, cut);
    test = input.substr(cut + 1);
    test_source = "test.csv";
  }
  try {
    const xg::Dataset d = xg::csv_dataset_from_text(train, "train.csv", test, test_source, options);
    // The data set's own promises: 2..kMaxClasses classes, distinct; names that are UTF-8 (they go into JSON).
    if (d.num_classes() < 2 || d.num_classes() > xg::kMaxClasses) __builtin_trap();
    for (std::size_t c = 1; c < d.num_classes(); ++c)
      for (std::size_t k = 0; k < c; ++k)
        if (d.class_names[c] == d.class_names[k]) __builtin_trap();
    for (const auto* names : {&d.class_names, &d.feature_names})
      for (const std::string& name : *names)
        if (xg::first_invalid_utf8(name) != std::string_view::npos) __builtin_trap();
    for (const xg::Split* set : {&d.train, &d.test}) {
      if (set->shape != std::vector<std::size_t>{d.feature_names.size()}) __builtin_trap();
      if (set->values.size() != set->count * set->features() || set->labels.size() != set->count) __builtin_trap();
      for (std::uint32_t label : set->labels)
        if (label >= d.num_classes()) __builtin_trap();
      for (float v : set->values)
        if (!std::isfinite(v)) __builtin_trap();
    }
    for (float s : xg::compute_normalization(d.train).std)
      if (!(s > 0.0f) || !std::isfinite(s)) __builtin_trap();
    // The rows reader on the same text, as predict uses it for this data set's model.
    xg::csv_rows_from_text(train, "rows.csv", d.feature_names, options.label_column, d.class_names);
  } catch (const xg::InputError&) {
  }
  return 0;
}
