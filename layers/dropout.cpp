#include "layers/dropout.hpp"

#include <sstream>
#include <stdexcept>

#include "core/ops.hpp"

namespace xg {

Dropout::Dropout(float p, std::uint64_t seed) : Module("Dropout"), p_(p), rng_(seed) {
  if (!(p >= 0.0f && p < 1.0f)) throw std::invalid_argument("Dropout: p must be in [0, 1), got " + std::to_string(p));
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0f) return x;
  // x is (rows, features): a skipped row is `features` draws.
  std::size_t row_size = 1;
  for (std::size_t d = 1; d < x.value().dimension(); ++d) row_size *= x.value().shape()[d];
  rng_.discard(std::uint64_t(before_) * row_size);
  Tensor y = dropout(x, p_, rng_);
  rng_.discard(std::uint64_t(after_) * row_size);
  return y;
}

std::string Dropout::describe() const {
  std::ostringstream s;
  s << "Dropout(" << p_ << ")";
  return s.str();
}

}  // namespace xg
