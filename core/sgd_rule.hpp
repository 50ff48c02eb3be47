#pragma once
// SGD's update of one weight, written once for the two places that make it:
// the optimizer's step (optim/sgd.cpp, one float at a time) and the weight
// gradient's GEMM when it makes the update inside the backward pass
// (core/gemm.cpp, a SIMD register of floats at a time). Both then compute the
// same operations in the same order, each multiply-add rounded once on a CPU
// with FMA: the same weights to the bit, whichever makes the update.
//
// For a weight w with gradient g (torch.optim.SGD's formulas, optim/sgd.hpp):
//   g ← g + λ w                                  (weight decay λ)
//   v ← g                        (first step)    (momentum μ ≠ 0)
//   v ← μ v + (1 - τ) g          (later steps)
//   d ← g + μ v  if Nesterov, else v             (d ← g without momentum)
//   w ← w - lr · d
#include <cmath>

namespace xg {

struct SgdStep {
  float lr = 0.0f;
  float momentum = 0.0f;      // μ; 0: no velocity
  float dampening = 0.0f;     // τ
  float weight_decay = 0.0f;  // λ
  bool nesterov = false;
  bool first = false;  // the velocity's first step: v ← g
};

// a · b + c, rounded once where the CPU has FMA (else a · b rounds first).
inline float multiply_add(float a, float b, float c) {
#if defined(__FMA__)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// w's new value from its gradient g; *v is w's velocity, read and written when
// s.momentum != 0 (else not touched). T is float or a SIMD batch of floats, and
// fma(a, b, c) rounds a · b + c as multiply_add above does.
template <class T, class Fma>
T sgd_updated(const SgdStep& s, T g, T w, T* v, const Fma& fma) {
  if (s.weight_decay != 0.0f) g = fma(T(s.weight_decay), w, g);
  T d = g;
  if (s.momentum != 0.0f) {
    *v = s.first ? g : fma(T(s.momentum), *v, T(1.0f - s.dampening) * g);
    d = s.nesterov ? fma(T(s.momentum), *v, g) : *v;
  }
  return fma(T(-s.lr), d, w);
}

}  // namespace xg
