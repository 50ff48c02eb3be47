#pragma once
// Parameter gradient checks (`xgrad gradcheck`): every parameter's backprop
// gradient against central finite differences on a batch of real data. The
// check itself is core/gradcheck.hpp's gradient_check; this file chooses the
// elements, steers clear of kinks (ReLU's, max-pool's) and formats the table.
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
};

struct ParameterCheck {
  std::string name;  // "0.weight"
  Shape shape;
  std::size_t checked = 0;         // elements compared
  std::size_t kink_crossings = 0;  // elements not compared: a ±h nudge moved a ReLU input across 0 or changed a max-pool winner
  GradCheckResult result;          // over the compared elements (worst_index counts among them)
  std::size_t worst_element = 0;   // flat index in the parameter of the worst compared element
};

// Checks d(loss)/d(parameter) for every parameter of `model`, where
// loss = softmax_cross_entropy(model(x), y). Elements whose nudge flips the
// sign of any ReLU input, or changes which element wins a max-pool window, are
// reported in kink_crossings instead of being
// compared: there the loss has a corner, and a finite difference measures the
// average of two slopes, not the derivative. Leaves the parameters unchanged.
std::vector<ParameterCheck> check_parameter_gradients(Module& model, const Array& x,
                                                      const std::vector<std::uint32_t>& y,
                                                      const GradcheckSettings& settings, Rng& rng);

// True when every parameter passed with at least one element compared.
bool all_passed(const std::vector<ParameterCheck>& checks);
// One line per parameter (elements, max abs and rel error, PASS/FAIL) and a
// verdict line, each ending in '\n'.
std::string format_parameter_checks(const std::vector<ParameterCheck>& checks, const GradcheckSettings& settings);

}  // namespace xg
