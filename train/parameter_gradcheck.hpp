#pragma once
// Parameter gradient checks (`xgrad gradcheck`): every parameter's backprop
// gradient against central finite differences on a batch of real data. The
// differences themselves come from core/gradcheck.hpp; this file chooses the
// elements, accounts for kinks (ReLU's, max-pool's) and formats the table.
#include <cstdint>
#include <string>
#include <vector>

#include "core/gradcheck.hpp"
#include "core/random.hpp"
#include "layers/module.hpp"

namespace xg {

struct GradcheckSettings {
  std::size_t samples = 500;  // elements checked per parameter, chosen at random; 0: all
  double step = 1e-2;         // h of the central difference
  double atol = 1e-4, rtol = 1e-2;
  // A nudge that crosses kinks is compared only while its kink allowance is at
  // most this share of |numeric| (at h, else at h/10); otherwise it is set aside.
  double kink_share = 0.25;
  // To see the check catch a wrong gradient: the backprop gradient of the
  // parameter named `scaled_parameter` ("0.weight") is multiplied by
  // `gradient_scale` before it is compared, as a backward off by that factor would be.
  std::string scaled_parameter;
  double gradient_scale = 1.0;
};

struct ParameterCheck {
  std::string name;  // "0.weight"
  Shape shape;
  std::size_t checked = 0;         // elements compared
  std::size_t widened = 0;         // of those, compared with a kink allowance (their nudge crossed kinks)
  std::size_t at_fine_step = 0;    // of those, compared at h/10 (too close to kinks at h)
  std::size_t kink_crossings = 0;  // elements not compared: too close to kinks even at h/10
  GradCheckResult result;          // over the compared elements (worst_index counts among them)
  std::size_t worst_element = 0;   // flat index in the parameter of the worst compared element
  double worst_allowance = 0.0;    // its tolerance beyond atol + rtol |numeric| (kinks, and atol's growth at h/10)
};

// Checks d(loss)/d(parameter) for every parameter of `model`, where
// loss = softmax_cross_entropy(model(x), y). Leaves the parameters unchanged.
// Throws InputError when settings.scaled_parameter names no parameter.
//
// Kinks. Backprop differentiates the loss with every ReLU input kept on its side
// of 0 and every max-pool window kept on its winner. A nudge that moves some
// of these units across (a crossing) makes the loss differ from that smooth
// function by at most Σ |dL/d(unit output)| · δ over the crossed units, to first
// order, where δ is how far the unit went past its kink (|x| for a ReLU input x;
// the new maximum minus the old winner's value for a max-pool window). Each
// element's tolerance grows by that bound (at +h and at -h) over the step: its
// kink allowance. One crossed unit among a conv layer's ~100k moves a
// first-layer difference by little, so skipping every crossing would leave
// nothing to compare. An element whose allowance exceeds kink_share · |numeric|
// is differenced again at h/10 (fewer crossings, each smaller; atol × 10 for
// float32's noise over the smaller step) and set aside (kink_crossings) if it
// still does.
std::vector<ParameterCheck> check_parameter_gradients(Module& model, const Array& x,
                                                      const std::vector<std::uint32_t>& y,
                                                      const GradcheckSettings& settings, Rng& rng);

// True when every parameter passed with at least one element compared.
bool all_passed(const std::vector<ParameterCheck>& checks);
// One line per parameter (elements compared, with an allowance, at h/10, set
// aside; max abs and rel error; PASS/FAIL) and a verdict line, each ending in '\n'.
std::string format_parameter_checks(const std::vector<ParameterCheck>& checks, const GradcheckSettings& settings);

}  // namespace xg
