#pragma once
// `xgrad predict --model M (--index N | FILE...)`: the top-k classes of test
// items, of PGM/PNG image files, or (a model trained on CSV data) of the rows
// of CSV files, with their softmax probabilities.
#include <cstddef>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace xg {

struct PredictOptions {
  std::string model;
  std::string data;                 // "" : the checkpoint's --data (for --index)
  std::vector<std::size_t> index;   // test items
  std::vector<std::string> images;  // PGM/PNG files, or CSV files for a table model
  std::size_t top_k = 3;
  bool resize = false;              // resize images to the model's input (bilinear) instead of refusing
  bool json = false;
  std::string invert = "auto";      // image files: auto (by polarity, datasets/image_file.hpp), yes or no
};

CLI::App* add_predict_command(CLI::App& app, PredictOptions& options);
int run_predict(const PredictOptions& options);

}  // namespace xg
