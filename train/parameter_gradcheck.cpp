#include "train/parameter_gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/error.hpp"
#include "losses/softmax_cross_entropy.hpp"

namespace xg {

namespace {

// The units where the loss is not smooth, in graph order: every ReLU (and
// leaky ReLU) input, which side of 0 it is on; every max-pool window, which
// element wins it. Backprop at w differentiates the loss with each unit kept on
// its side: call that smooth function S. A nudge that moves a unit to the
// other side (a crossing) makes the loss L differ from S there, so the finite
// difference of L no longer measures S' = the backprop gradient exactly.
struct KinkUnits {
  std::vector<std::uint32_t> sides;  // ReLU: input > 0; max-pool: the winner's offset i·k + j in its window
  std::vector<float> slopes;         // |dL/d(the unit's output)| at w, from the backward pass
};

bool is_relu(const Node& n) { return (std::string(n.op) == "relu" || std::string(n.op) == "leaky_relu") && n.parents[0]; }
bool is_max_pool(const Node& n) { return std::string(n.op) == "max_pool2d" && n.parents[0]; }

// The units of `loss`'s graph at w; call after loss.backward().
KinkUnits kink_units(const Tensor& loss) {
  KinkUnits units;
  for (Node* n : topological_order(loss.node())) {
    const bool relu = is_relu(*n), pool = is_max_pool(*n);
    if (!relu && !pool) continue;
    const float* side = relu ? n->parents[0]->value.data() : n->saved.data();
    for (std::size_t i = 0; i < n->value.size(); ++i) {
      units.sides.push_back(relu ? std::uint32_t(side[i] > 0.0f) : std::uint32_t(side[i]));
      units.slopes.push_back(n->grad_ready ? std::abs(n->grad.data()[i]) : 0.0f);
    }
  }
  return units;
}

// The crossings of a nudged loss, against the units at w, and how far L can be
// from S because of them, to first order in each unit's overshoot δ past its
// kink: |L - S| <= Σ_crossed |dL/d(output)| · δ. For a ReLU, δ = |x| (its output
// is 0 where S's is x, or the reverse; (1 - slope)·|x| for a leaky ReLU); for a
// max-pool window, δ = y - x[the winner at w] (the new maximum over the value S keeps).
struct Crossings {
  std::size_t units = 0;
  double loss_bound = 0.0;
};

Crossings crossings(const Tensor& loss, const KinkUnits& at_w) {
  Crossings c;
  std::size_t u = 0;
  for (Node* n : topological_order(loss.node())) {
    if (is_relu(*n)) {
      const float* x = n->parents[0]->value.data();
      const double factor = std::string(n->op) == "relu" ? 1.0 : std::abs(1.0 - double(n->scalar));
      for (std::size_t i = 0; i < n->value.size(); ++i, ++u) {
        if (std::uint32_t(x[i] > 0.0f) == at_w.sides.at(u)) continue;
        ++c.units;
        c.loss_bound += double(at_w.slopes[u]) * factor * std::abs(double(x[i]));
      }
    } else if (is_max_pool(*n)) {
      // x (planes, H, W) -> y (planes, Ho, Wo); sizes = {kernel, stride} (core/conv.cpp)
      const Array& x = n->parents[0]->value;
      const std::size_t H = x.shape()[2], W = x.shape()[3], Ho = n->value.shape()[2], Wo = n->value.shape()[3];
      const std::size_t k = n->sizes[0], stride = n->sizes[1];
      const float *where = n->saved.data(), *y = n->value.data();
      for (std::size_t out = 0; out < n->value.size(); ++out, ++u) {
        const std::uint32_t before = at_w.sides.at(u);
        if (std::uint32_t(where[out]) == before) continue;
        const std::size_t plane = out / (Ho * Wo), oh = out / Wo % Ho, ow = out % Wo;
        const std::size_t ih = oh * stride + before / k, iw = ow * stride + before % k;
        ++c.units;
        c.loss_bound += double(at_w.slopes[u]) * std::abs(double(y[out]) - double(x.data()[(plane * H + ih) * W + iw]));
      }
    }
  }
  if (u != at_w.sides.size()) throw std::logic_error("gradcheck: the nudged graph has other kink units than at w");
  return c;
}

// probe -> scalar: the value is the model's loss; the gradient is the slice of
// the parameter's backprop gradient at `indices`, saved in the node.
void probe_backward(Node& n) {
  if (n.parents[0] && n.parents[0]->requires_grad) n.parents[0]->grad_buffer() += n.grad.data()[0] * n.saved;
}

// The finite differences of the elements `indices` of `param`, and for each the
// crossings its two nudges made. The checked input is a small tensor `probe`
// holding those elements: the loss closure writes it into the parameter, so
// nudging probe[j] nudges param[indices[j]], and its analytic gradient is
// param.grad[indices[j]] from an ordinary backward pass. central_differences
// calls the closure once for the analytic gradient, then at +h and -h for each
// element in turn; the call count maps a call to its element.
struct ElementDifferences {
  CentralDifferences d;
  std::vector<std::size_t> crossed_units;  // per element, over both nudges
  std::vector<double> allowance;           // per element: (bound at +h + bound at -h) / step, in gradient units
};

ElementDifferences difference_elements(Module& model, Tensor param, const std::vector<std::size_t>& indices,
                                       const Array& x, const std::vector<std::uint32_t>& y, double h) {
  Array start = Array::from_shape({indices.size()});
  for (std::size_t j = 0; j < indices.size(); ++j) start.data()[j] = param.data()[indices[j]];
  Tensor probe(start, true);
  const Tensor input(x);
  KinkUnits at_w;
  ElementDifferences e;
  e.crossed_units.assign(indices.size(), 0);
  e.allowance.assign(indices.size(), 0.0);
  std::size_t call = 0;
  auto loss = [&]() -> Tensor {
    for (std::size_t j = 0; j < indices.size(); ++j) param.data()[indices[j]] = probe.data()[j];
    model.zero_grad();
    Tensor l = softmax_cross_entropy(model(input), y);
    Array slice = Array::from_shape({indices.size()});
    if (call == 0) {
      l.backward();
      at_w = kink_units(l);
      for (std::size_t j = 0; j < indices.size(); ++j) slice.data()[j] = param.grad().data()[indices[j]];
    } else {
      const Crossings c = crossings(l, at_w);
      e.crossed_units[(call - 1) / 2] += c.units;
      e.allowance[(call - 1) / 2] += c.loss_bound;
    }
    ++call;
    Tensor out = make_result("probe", Array(l.value()), {probe}, probe_backward);
    out.node()->saved = std::move(slice);
    return out;
  };
  e.d = central_differences(loss, probe, h);
  for (std::size_t j = 0; j < indices.size(); ++j) {
    param.data()[indices[j]] = start.data()[j];
    const float w = start.data()[j];
    e.allowance[j] /= double(float(double(w) + h)) - double(float(double(w) - h));  // the step taken, as central_differences
  }
  model.zero_grad();
  if (call != 1 + 2 * indices.size()) throw std::logic_error("gradcheck: central_differences' call pattern changed");
  return e;
}

std::vector<std::size_t> sample_indices(std::size_t size, std::size_t samples, Rng& rng) {
  std::vector<std::uint32_t> all(size);
  for (std::size_t i = 0; i < size; ++i) all[i] = std::uint32_t(i);
  if (samples != 0 && samples < size) {
    rng.shuffle(all);
    all.resize(samples);
    std::sort(all.begin(), all.end());
  }
  return std::vector<std::size_t>(all.begin(), all.end());
}

}  // namespace

std::vector<ParameterCheck> check_parameter_gradients(Module& model, const Array& x,
                                                      const std::vector<std::uint32_t>& y,
                                                      const GradcheckSettings& settings, Rng& rng) {
  const double fine_step = settings.step / 10.0, fine_atol = settings.atol * 10.0;
  // An element is compared when its nudges crossed no kink, or when their
  // allowance is at most kink_share of |numeric| (a NaN difference is compared, and fails).
  auto comparable = [&](const ElementDifferences& e, std::size_t j) {
    return e.crossed_units[j] == 0 || e.allowance[j] <= settings.kink_share * std::abs(e.d.numeric[j]);
  };
  const auto parameters = model.named_parameters();
  if (!settings.scaled_parameter.empty() &&
      std::none_of(parameters.begin(), parameters.end(), [&](const auto& p) { return p.first == settings.scaled_parameter; }))
    throw InputError("--scale-gradient: the model has no parameter named '" + settings.scaled_parameter + "'");
  std::vector<ParameterCheck> checks;
  for (auto& [name, param] : parameters) {
    const double scale = name == settings.scaled_parameter ? settings.gradient_scale : 1.0;
    ParameterCheck c;
    c.name = name;
    c.shape = Shape(param.value().shape().begin(), param.value().shape().end());
    const std::vector<std::size_t> indices = sample_indices(param.size(), settings.samples, rng);
    const ElementDifferences coarse = difference_elements(model, param, indices, x, y, settings.step);
    // Elements too close to a kink at h are differenced again at h/10.
    std::vector<std::size_t> again, again_at;  // flat index in param; position in indices
    for (std::size_t j = 0; j < indices.size(); ++j)
      if (!comparable(coarse, j)) again.push_back(indices[j]), again_at.push_back(j);
    ElementDifferences fine;
    if (!again.empty()) fine = difference_elements(model, param, again, x, y, fine_step);
    std::vector<bool> fine_ok(indices.size(), false), fine_tried(indices.size(), false);
    for (std::size_t r = 0; r < again.size(); ++r) fine_tried[again_at[r]] = true, fine_ok[again_at[r]] = comparable(fine, r);

    // The compared elements, each from the step it is compared at, with its
    // allowance (at h/10, atol grows tenfold: float32's noise over 2h does).
    CentralDifferences used;
    std::vector<double> allowance;
    std::vector<std::size_t> used_index;
    std::vector<float> analytic;
    for (std::size_t j = 0, r = 0; j < indices.size(); ++j) {
      const bool tried = fine_tried[j];
      if (tried && !fine_ok[j]) {
        ++c.kink_crossings, ++r;
        continue;
      }
      const ElementDifferences& e = tried ? fine : coarse;
      const std::size_t at = tried ? r++ : j;
      used.numeric.push_back(e.d.numeric[at]);
      analytic.push_back(float(scale * double(e.d.analytic.data()[at])));
      allowance.push_back(e.allowance[at] + (tried ? fine_atol - settings.atol : 0.0));
      used_index.push_back(indices[j]);
      c.at_fine_step += tried;
      c.widened += e.crossed_units[at] > 0;
    }
    c.checked = used_index.size();
    if (c.checked > 0) {
      used.analytic = Array::from_shape({c.checked});
      std::copy(analytic.begin(), analytic.end(), used.analytic.data());
      c.result = compare_gradients(used, settings.atol, settings.rtol, allowance);
      c.worst_element = used_index[c.result.worst_index];
      c.worst_allowance = allowance[c.result.worst_index];
    }
    checks.push_back(std::move(c));
  }
  return checks;
}

bool all_passed(const std::vector<ParameterCheck>& checks) {
  for (const ParameterCheck& c : checks)
    if (!c.result.passed || c.checked == 0) return false;
  return true;
}

std::string format_parameter_checks(const std::vector<ParameterCheck>& checks, const GradcheckSettings& s) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %-14s %17s %8s %8s %8s %12s %12s  %s\n", "parameter", "shape", "checked",
                "kinked", "at h/10", "aside", "max abs err", "max rel err", "result");
  out += line;
  std::size_t failed = 0;
  for (const ParameterCheck& c : checks) {
    std::size_t size = 1;
    for (std::size_t d : c.shape) size *= d;
    const bool pass = c.result.passed && c.checked > 0;
    failed += !pass;
    const std::string checked = std::to_string(c.checked) + " of " + std::to_string(size);
    std::snprintf(line, sizeof line, "%-12s %-14s %17s %8zu %8zu %8zu %12.3e %12.3e  %s\n", c.name.c_str(),
                  shape_string(c.shape).c_str(), checked.c_str(), c.widened, c.at_fine_step, c.kink_crossings,
                  c.result.max_abs_error, c.result.max_rel_error, pass ? "PASS" : "FAIL");
    out += line;
    if (!c.result.passed) {
      std::snprintf(line, sizeof line,
                    "    worst: element %zu (flat index), backprop %.6g, finite difference %.6g, allowance %.3g\n",
                    c.worst_element, c.result.worst_analytic, c.result.worst_numeric, c.worst_allowance);
      out += line;
    }
    if (c.checked == 0)
      out += "    no element could be compared: every nudge, even at h/10, crossed kinks (ReLU's or max-pool winners') that could move the difference by more than " +
             std::to_string(int(std::lround(100 * s.kink_share))) + "% of it\n";
  }
  std::snprintf(line, sizeof line,
                "%s: %zu of %zu parameters within |backprop - numeric| <= %g + %g |numeric| (h = %g) + kink allowance\n",
                failed ? "FAIL" : "PASS", checks.size() - failed, checks.size(), s.atol, s.rtol, s.step);
  return out + line;
}

}  // namespace xg
