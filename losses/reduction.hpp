#pragma once
// How a loss combines its per-item terms, as PyTorch's `reduction` argument.
#include <string>

namespace xg {

enum class Reduction {
  Mean,  // a scalar: the (weighted) mean of the terms
  Sum,   // a scalar: their sum
  None,  // one term per item, the input's shape
};

// "mean" | "sum" | "none" -> Reduction; throws std::invalid_argument otherwise.
Reduction parse_reduction(const std::string& name);

}  // namespace xg
