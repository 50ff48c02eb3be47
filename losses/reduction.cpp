#include "losses/reduction.hpp"

#include <stdexcept>

namespace xg {

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw std::invalid_argument("unknown reduction '" + name + "' (mean, sum or none)");
}

}  // namespace xg
