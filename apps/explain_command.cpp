#include "apps/explain_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>

#include "train/saved_model.hpp"
#include "core/error.hpp"
#include "io/number_text.hpp"

namespace xg {

CLI::App* add_explain_command(CLI::App& app, ExplainOptions& o) {
  CLI::App* cmd = app.add_subcommand("explain", "Walk one prediction through softmax and cross-entropy, step by step");
  cmd->add_option("--model", o.model, "Model file written by xgrad train --save")->required()->type_name("PATH");
  cmd->add_option("--index", o.index, "Test-split item to explain (0-based)")->required()->type_name("N");
  cmd->add_option("--data", o.data, "Data set (default: the one the model was trained on)");
  return cmd;
}

int run_explain(const ExplainOptions& o) {
  LoadedModel model = load_model(o.model);
  const Dataset data = load_data_for_model(model, o.data);
  if (o.index >= data.test.count) {
    throw InputError("--index " + std::to_string(o.index) + " is out of range: the test split of " + data.name + " has " +
                     std::to_string(data.test.count) + " items (0.." + std::to_string(data.test.count - 1) + ")");
  }
  const std::vector<std::string>& names = model.info.classes;
  const std::size_t classes = names.size();
  const Array logits = model_logits(model, select(data.test, {std::uint32_t(o.index)}));
  const std::size_t truth = data.test.labels[o.index];
  const float* z = logits.data();

  // The same arithmetic as the fused loss (losses/softmax_cross_entropy.cpp), in float.
  const float m = *std::max_element(z, z + classes);
  std::vector<float> shifted(classes), e(classes), p(classes);
  float sum = 0.0f;
  for (std::size_t c = 0; c < classes; ++c) {
    shifted[c] = z[c] - m;
    e[c] = std::exp(shifted[c]);
    sum += e[c];
  }
  for (std::size_t c = 0; c < classes; ++c) p[c] = e[c] / sum;
  const float loss = std::log(sum) - shifted[truth];
  const std::size_t predicted = argmax(p.data(), classes);

  std::size_t width = 5;
  for (const std::string& n : names) width = std::max(width, n.size());
  const int w = int(width);
  // Each class's row: its name, the value (tiny values in scientific notation,
  // io/number_text.hpp), and which class is the true one and which the predicted.
  auto marker = [&](std::size_t c) -> std::string {
    if (c == truth && c == predicted) return "   <- true class, predicted";
    if (c == truth) return "   <- true class";
    if (c == predicted) return "   <- predicted";
    return "";
  };
  auto table = [&](const char* heading, const std::vector<float>& v, bool sign) {
    std::printf("%s\n", heading);
    for (std::size_t c = 0; c < classes; ++c) {
      std::printf("  %-*s  %12s%s\n", w, names[c].c_str(), format_fixed_or_scientific(double(v[c]), 6, sign).c_str(),
                  marker(c).c_str());
    }
    std::printf("\n");
  };

  std::printf("test item %zu of %s: true class %s, predicted %s (p = %.4f)\n\n", o.index, data.name.c_str(),
              names[truth].c_str(), names[predicted].c_str(), double(p[predicted]));
  if (model.info.head == "sigmoid") {
    std::printf("This model has a sigmoid head: one output s, P(%s) = sigmoid(s). Its two class scores are (0, s),\n"
                "because softmax(0, s) = (1 - sigmoid(s), sigmoid(s)); the steps below are then exactly the sigmoid\n"
                "and binary cross-entropy, and the gradient p - onehot is (sigmoid(s) - y) on s.\n\n",
                names[1].c_str());
  }
  table("1. logits: z = model(x), one score per class", std::vector<float>(z, z + classes), true);
  std::printf("2. subtract the maximum, m = max_k z_k = %.6f (exp cannot overflow; the result does not change)\n", double(m));
  table("   z_c - m", shifted, true);
  table("3. exponentials: e_c = exp(z_c - m), each in (0, 1]", e, false);
  std::printf("4. their sum: S = sum_c e_c = %.6g\n\n", double(sum));
  table("5. probabilities: p_c = e_c / S (softmax; they sum to 1)", p, false);
  std::printf("6. loss: L = -log p_true = log S - (z_true - m) = %.6f  (true class %s, p_true = %s)\n\n", double(loss),
              names[truth].c_str(), format_fixed_or_scientific(double(p[truth]), 6).c_str());
  std::vector<float> grad(p);
  grad[truth] -= 1.0f;
  table("7. gradient: dL/dz_c = p_c - onehot_c (1 for the true class, else 0); backprop starts here", grad, true);
  std::printf("The gradient pushes the true class's logit up (negative gradient) and every other logit down,\n"
              "each in proportion to the probability it wrongly received.\n");
  return 0;
}

}  // namespace xg
