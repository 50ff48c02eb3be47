#include "losses/penalties.hpp"

#include <stdexcept>

#include "core/ops.hpp"

namespace xg {

std::vector<Tensor> weights_only(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<Tensor> out;
  const std::string suffix = ".weight";
  for (const auto& [name, p] : named) {
    const bool is_weight = name == "weight" || (name.size() > suffix.size() &&
                                                name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0);
    if (is_weight) out.push_back(p);
  }
  return out;
}

namespace {
Tensor total(const std::vector<Tensor>& weights, Tensor (*term)(const Tensor&)) {
  if (weights.empty()) throw std::invalid_argument("penalty: no weights given");
  Tensor acc = term(weights[0]);
  for (std::size_t i = 1; i < weights.size(); ++i) acc = add(acc, term(weights[i]));
  return acc;
}
}  // namespace

Tensor l1_penalty(const std::vector<Tensor>& weights) { return total(weights, sum_abs); }
Tensor l2_penalty(const std::vector<Tensor>& weights) { return total(weights, sum_squares); }

}  // namespace xg
