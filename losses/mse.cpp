#include "losses/mse.hpp"

#include <stdexcept>

#include "losses/elementwise_loss.hpp"

namespace xg {

Tensor mse(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  const Array &p = prediction.value(), &t = target.value();
  if (p.shape() != t.shape()) {
    throw std::invalid_argument("mse: prediction " + shape_string(p) + " and target " + shape_string(t) +
                                " differ in shape");
  }
  if (p.size() == 0) throw std::invalid_argument("mse: empty input");
  Array terms = Array::from_shape(p.shape());
  Array local = Array::from_shape(p.shape());
  for (std::size_t i = 0; i < p.size(); ++i) {
    const float d = p.data()[i] - t.data()[i];
    terms.data()[i] = d * d;
    local.data()[i] = 2.0f * d;
  }
  return reduce_elementwise_loss("mse", std::move(terms), std::move(local), reduction, {prediction, target}, -1.0f);
}

}  // namespace xg
