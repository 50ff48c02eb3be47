#include "core/init.hpp"

#include <cmath>
#include <stdexcept>

namespace xg {

float calculate_gain(const std::string& nonlinearity, float slope) {
  if (nonlinearity == "linear" || nonlinearity == "sigmoid") return 1.0f;
  if (nonlinearity == "tanh") return 5.0f / 3.0f;
  if (nonlinearity == "relu") return std::sqrt(2.0f);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0f / (1.0f + slope * slope));
  throw std::invalid_argument("calculate_gain: unknown nonlinearity '" + nonlinearity + "'");
}

std::pair<std::size_t, std::size_t> fans(const Array& weight) {
  if (weight.dimension() == 2) return {weight.shape()[1], weight.shape()[0]};
  if (weight.dimension() == 1) return {weight.size(), weight.size()};
  if (weight.dimension() == 4) {  // a convolution's (out, in, kh, kw): each output sees in·kh·kw inputs
    const std::size_t window = weight.shape()[2] * weight.shape()[3];
    return {weight.shape()[1] * window, weight.shape()[0] * window};
  }
  throw std::invalid_argument("fans: expected a rank-1, rank-2 or rank-4 weight, got shape " + shape_string(weight));
}

namespace {
std::size_t chosen_fan(const Array& w, FanMode mode) {
  const auto [in, out] = fans(w);
  const std::size_t fan = mode == FanMode::FanIn ? in : out;
  if (fan == 0) throw std::invalid_argument("initialiser: zero fan for shape " + shape_string(w));
  return fan;
}
void fill_uniform(Array& w, Rng& rng, float bound) {
  for (float& v : w) v = rng.uniform(-bound, bound);
}
void fill_normal(Array& w, Rng& rng, float stddev) {
  for (float& v : w) v = rng.normal(0.0f, stddev);
}
}  // namespace

void kaiming_uniform(Array& w, Rng& rng, float gain, FanMode mode) {
  fill_uniform(w, rng, gain * std::sqrt(3.0f / float(chosen_fan(w, mode))));
}

void kaiming_normal(Array& w, Rng& rng, float gain, FanMode mode) {
  fill_normal(w, rng, gain / std::sqrt(float(chosen_fan(w, mode))));
}

void xavier_uniform(Array& w, Rng& rng, float gain) {
  const auto [in, out] = fans(w);
  fill_uniform(w, rng, gain * std::sqrt(6.0f / float(in + out)));
}

void xavier_normal(Array& w, Rng& rng, float gain) {
  const auto [in, out] = fans(w);
  fill_normal(w, rng, gain * std::sqrt(2.0f / float(in + out)));
}

void fill_zeros(Array& a) { a.fill(0.0f); }

}  // namespace xg
