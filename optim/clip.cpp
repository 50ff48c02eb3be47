#include "optim/clip.hpp"

#include <cmath>
#include <stdexcept>

namespace xg {

double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm) {
  if (!(max_norm > 0.0)) throw std::invalid_argument("clip_grad_norm: max_norm must be positive");
  double squares = 0.0;
  for (const Tensor& p : parameters) {
    if (p.has_grad()) squares += sum_of_squares(p.grad().data(), p.size());
  }
  const double norm = std::sqrt(squares);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    for (Tensor p : parameters) {
      if (!p.has_grad()) continue;
      float* g = p.grad().data();
      for (std::size_t j = 0; j < p.size(); ++j) g[j] = float(double(g[j]) * coef);
    }
  }
  return norm;
}

}  // namespace xg
