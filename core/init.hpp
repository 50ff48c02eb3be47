#pragma once
// Weight initialisers, as torch.nn.init computes them, drawn from our seeded Rng
// (the same seed gives the same weights on every machine; the numbers differ
// from torch's, whose generator is another one, but the distributions match).
//
// For a weight of shape (out, in) — PyTorch's Linear layout —
//   fan_in = in, fan_out = out;
// for a convolution's (out, in, kh, kw): fan_in = in·kh·kw, fan_out = out·kh·kw.
//   kaiming_uniform: U(-b, b),  b = gain · √(3 / fan)         fan = fan_in or fan_out
//   kaiming_normal:  N(0, σ²),  σ = gain / √fan
//   xavier_uniform:  U(-b, b),  b = gain · √(6 / (fan_in + fan_out))
//   xavier_normal:   N(0, σ²),  σ = gain · √(2 / (fan_in + fan_out))
//   fill_zeros:      0
#include <string>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace xg {

enum class FanMode { FanIn, FanOut };

// torch.nn.init.calculate_gain: "linear"/"sigmoid" 1, "tanh" 5/3, "relu" √2,
// "leaky_relu" √(2 / (1 + slope²)). Throws std::invalid_argument otherwise.
float calculate_gain(const std::string& nonlinearity, float slope = 0.01f);

// (fan_in, fan_out) of a rank-2 (out, in) or rank-4 (out, in, kh, kw) weight; a rank-1 tensor has fan_in = fan_out = its size.
std::pair<std::size_t, std::size_t> fans(const Array& weight);

void kaiming_uniform(Array& weight, Rng& rng, float gain, FanMode mode = FanMode::FanIn);
void kaiming_normal(Array& weight, Rng& rng, float gain, FanMode mode = FanMode::FanIn);
void xavier_uniform(Array& weight, Rng& rng, float gain = 1.0f);
void xavier_normal(Array& weight, Rng& rng, float gain = 1.0f);
void fill_zeros(Array& a);

}  // namespace xg
