#include "apps/predict_command.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "train/saved_model.hpp"
#include "core/error.hpp"
#include "datasets/csv.hpp"
#include "datasets/image_file.hpp"
#include "io/number_text.hpp"
#include "losses/softmax_cross_entropy.hpp"

namespace xg {

CLI::App* add_predict_command(CLI::App& app, PredictOptions& o) {
  CLI::App* cmd = app.add_subcommand("predict", "Classify test items or image files with a saved model");
  cmd->add_option("--model", o.model, "Model file written by xgrad train --save")->required()->type_name("PATH");
  cmd->add_option("--index", o.index, "Test-split item(s) to classify (0-based; repeatable)")->type_name("N");
  cmd->add_option("inputs", o.images,
                  "Images: PGM (P2/P5), PNG or JPEG files (colour becomes grey by luma) of the model's input size. A model trained on CSV "
                  "data: .csv files of rows of its features (the label column may be there too)")
      ->type_name("FILE");
  cmd->add_option("--data", o.data, "Data set for --index (default: the one the model was trained on)");
  cmd->add_option("--top-k", o.top_k, "How many classes to list")->capture_default_str();
  cmd->add_flag("--resize", o.resize, "Resize images to the model's input size (bilinear) instead of refusing");
  cmd->add_flag("--json", o.json, "Print JSON: logits, probabilities and the top k of each input");
  cmd->add_option("--invert", o.invert,
                  "Images: invert them (255 - pixel): auto (when the background is light but the training images' "
                  "is dark, or the other way round), yes or no")
      ->capture_default_str();
  return cmd;
}

namespace {

// The inputs gathered as one split of the model's kind, with a source name for each.
struct PredictInputs {
  Split items;
  std::vector<std::string> sources;
  std::vector<bool> labelled;  // false: the true class is unknown (an image file, an unlabelled CSV row)
  std::vector<std::string> notes;  // per input: what was done to it ("" for nothing), e.g. the inversion

  void append(const Split& more, bool with_labels) {
    items.pixels.insert(items.pixels.end(), more.pixels.begin(), more.pixels.end());
    items.values.insert(items.values.end(), more.values.begin(), more.values.end());
    items.labels.insert(items.labels.end(), more.labels.begin(), more.labels.end());
    items.count += more.count;
    labelled.insert(labelled.end(), more.count, with_labels);
    notes.insert(notes.end(), more.count, std::string());
  }
};

// --index N: items of the test split of the model's data set (or of --data).
void add_test_items(PredictInputs& in, const LoadedModel& model, const PredictOptions& o) {
  const Dataset data = load_data_for_model(model, o.data);
  for (std::size_t i : o.index) {
    if (i >= data.test.count) {
      throw InputError("--index " + std::to_string(i) + " is out of range: the test split of " + data.name + " has " +
                       std::to_string(data.test.count) + " items (0.." + std::to_string(data.test.count - 1) + ")");
    }
    in.sources.push_back("test[" + std::to_string(i) + "]");
  }
  in.append(select(data.test, std::vector<std::uint32_t>(o.index.begin(), o.index.end())), true);
}

// Inputs are CSV files of rows: the model's features, with or without its label column.
void add_csv_files(PredictInputs& in, const LoadedModel& model, const PredictOptions& o) {
  const std::size_t features = model.info.layers.front();
  for (const std::string& path : o.images) {
    if (!is_csv_path(path)) {
      throw InputError(path + ": the model " + o.model + " takes rows of " + std::to_string(features) +
                       " features; give a .csv file of them");
    }
    const CsvRows rows = load_csv_rows(path, model.info.features, model_config(model).label_col, model.info.classes);
    for (std::size_t line : rows.line_numbers) in.sources.push_back(path + ":" + std::to_string(line));
    in.append(rows.items, rows.labelled);
  }
}

// Inputs are images of the model's input size (or resized to it with --resize),
// read as grey levels, inverted when their polarity is not the training images'.
void add_image_files(PredictInputs& in, const LoadedModel& model, const PredictOptions& o) {
  // input_shape is [rows, cols], or [channels, rows, cols] for a colour model.
  const std::vector<std::size_t>& shape = model.info.input_shape;
  const std::size_t channels = shape.size() == 3 ? shape[0] : 1;
  const std::size_t rows = shape[shape.size() - 2], cols = shape[shape.size() - 1];
  // The training images' mean brightness, over their channels' means (each channel has as many pixels);
  // a --no-normalize model (every mean 0, std 1) does not know it, and dark backgrounds, MNIST's, are assumed.
  const std::vector<float>& means = model.info.mean;
  const bool mean_known = !means.empty() && !(std::all_of(means.begin(), means.end(), [](float m) { return m == 0.0f; }) &&
                                              std::all_of(model.info.std.begin(), model.info.std.end(), [](float s) { return s == 1.0f; }));
  const double training_mean = mean_known ? std::accumulate(means.begin(), means.end(), 0.0) / double(means.size()) : 0.0;
  for (const std::string& path : o.images) {
    const std::string bytes = read_image_file(path);
    const ImageSize size = image_size(bytes, path);  // the header only: no pixel is decoded yet
    const bool other_size = size.rows != rows || size.cols != cols;
    if (other_size && !o.resize) {
      throw InputError(path + ": image is " + std::to_string(size.cols) + "x" + std::to_string(size.rows) +
                       " (width x height) but the model takes " + std::to_string(cols) + "x" + std::to_string(rows) +
                       "; pass --resize to scale it");
    }
    Image image = decode_image(bytes, path, channels);
    const Polarity polarity = image_polarity(image, training_mean);
    std::string note;
    if (o.invert == "yes") {
      note = "inverted (--invert yes)";
    } else if (o.invert == "auto" && polarity.inverted()) {
      note = std::string("inverted: its background is ") + (polarity.light_background ? "light" : "dark") + " (border mean " +
             format_fixed(polarity.border_mean, 0) + "/255), the training images' is " +
             (polarity.training_light_background ? "light" : "dark") +
             (mean_known ? " (mean " + format_fixed(255 * training_mean, 0) + "/255)"
                         : " (assumed, as MNIST's: the model has no normalisation mean)") +
             "; --invert no keeps it as it is";
    }
    if (!note.empty()) invert_image(image);
    if (other_size) image = resize_image(image, rows, cols);
    Split one;
    one.count = 1;
    one.pixels = std::move(image.pixels);
    one.labels = {0};
    in.append(one, false);
    in.sources.push_back(path);
    in.notes.back() = note;
  }
}

// Class indices by falling probability; equal probabilities keep the class order.
std::vector<std::size_t> classes_by_probability(const float* prob, std::size_t classes) {
  std::vector<std::size_t> order(classes);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return prob[a] > prob[b]; });
  return order;
}

void print_predictions_json(const PredictOptions& o, const PredictInputs& in, const std::vector<std::string>& names,
                            const Array& logits, const Array& p, std::size_t k) {
  const std::size_t classes = names.size();
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t n = 0; n < in.sources.size(); ++n) {
    const float* prob = p.data() + n * classes;
    const std::vector<std::size_t> order = classes_by_probability(prob, classes);
    nlohmann::json item = {{"input", in.sources[n]}};
    if (in.labelled[n]) item["label"] = names[in.items.labels[n]];
    if (!in.notes[n].empty()) item["note"] = in.notes[n];
    item["logits"] = std::vector<float>(logits.data() + n * classes, logits.data() + (n + 1) * classes);
    item["probabilities"] = std::vector<float>(prob, prob + classes);
    nlohmann::json top = nlohmann::json::array();
    for (std::size_t r = 0; r < k; ++r) top.push_back({{"class", names[order[r]]}, {"index", order[r]}, {"probability", prob[order[r]]}});
    item["top"] = top;
    out.push_back(item);
  }
  std::printf("%s\n", nlohmann::json{{"model", o.model}, {"predictions", out}}.dump(2).c_str());
}

// Each input, its true class when known, then its top k classes with their probabilities.
void print_predictions_text(const PredictInputs& in, const std::vector<std::string>& names, const Array& p, std::size_t k) {
  const std::size_t classes = names.size();
  for (std::size_t n = 0; n < in.sources.size(); ++n) {
    const float* prob = p.data() + n * classes;
    const std::vector<std::size_t> order = classes_by_probability(prob, classes);
    std::printf("%s%s\n", in.sources[n].c_str(), in.labelled[n] ? (" (true class: " + names[in.items.labels[n]] + ")").c_str() : "");
    if (!in.notes[n].empty()) std::printf("  %s\n", in.notes[n].c_str());
    std::size_t width = 0;
    for (std::size_t r = 0; r < k; ++r) width = std::max(width, names[order[r]].size());
    for (std::size_t r = 0; r < k; ++r) {
      std::printf("  %zu. %-*s  %.4f\n", r + 1, int(width), names[order[r]].c_str(), double(prob[order[r]]));
    }
  }
}

}  // namespace

int run_predict(const PredictOptions& o) {
  if (o.top_k == 0) throw InputError("--top-k must be at least 1");
  if (o.invert != "auto" && o.invert != "yes" && o.invert != "no") {
    throw InputError("--invert must be auto, yes or no, got '" + o.invert + "'");
  }
  if (o.index.empty() && o.images.empty()) throw InputError("predict: give --index N, IMAGE files or (a CSV model) FILE.csv");
  LoadedModel model = load_model(o.model);
  const std::vector<std::string>& names = model.info.classes;

  PredictInputs in;
  in.items.shape = model.info.input_shape;
  if (!o.index.empty()) add_test_items(in, model, o);
  if (model.takes_tables()) {
    if (o.invert != "auto") throw InputError("--invert applies to image files, but the model " + o.model + " takes CSV rows");
    add_csv_files(in, model, o);
  } else {
    add_image_files(in, model, o);
  }

  const Array logits = model_logits(model, in.items);
  const Array p = softmax(logits);
  const std::size_t k = std::min(o.top_k, names.size());
  if (o.json) {
    print_predictions_json(o, in, names, logits, p, k);
  } else {
    print_predictions_text(in, names, p, k);
  }
  return 0;
}

}  // namespace xg
