#pragma once
// `xgrad explain --model M --index N`: one prediction walked through
// softmax-cross-entropy step by step, for a student: the logits, the maximum
// subtracted, the exponentials, their sum, the probabilities, the loss
// -log p(true class) and the gradient p - onehot, each line labelled with its
// class and each step preceded by its formula.
#include <cstddef>
#include <string>

namespace CLI {
class App;
}

namespace xg {

struct ExplainOptions {
  std::string model;
  std::string data;  // "" : the checkpoint's --data
  std::size_t index = 0;
};

CLI::App* add_explain_command(CLI::App& app, ExplainOptions& options);
int run_explain(const ExplainOptions& options);

}  // namespace xg
