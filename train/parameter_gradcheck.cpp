#include "train/parameter_gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "losses/softmax_cross_entropy.hpp"

namespace xg {

namespace {

// Where the loss is not smooth, which side of each kink the graph of `loss` is
// on, in graph order: the sign of every ReLU (and leaky ReLU) input, and which
// element won each max-pool window. A nudge that changes any of them crosses a
// kink, where a finite difference does not measure the derivative.
std::vector<std::uint32_t> kink_sides(const Tensor& loss) {
  std::vector<std::uint32_t> sides;
  for (Node* n : topological_order(loss.node())) {
    const std::string op = n->op;
    if ((op == "relu" || op == "leaky_relu") && n->parents[0]) {
      for (float v : n->parents[0]->value) sides.push_back(v > 0.0f);
    } else if (op == "max_pool2d") {
      for (float where : n->saved) sides.push_back(std::uint32_t(where));  // the winner's offset in its window
    }
  }
  return sides;
}

// probe -> scalar: the value is the model's loss; the gradient is the slice of
// the parameter's backprop gradient at `indices`, saved in the node.
void probe_backward(Node& n) {
  if (n.parents[0] && n.parents[0]->requires_grad) n.parents[0]->grad_buffer() += n.grad.data()[0] * n.saved;
}

// Runs gradient_check on the elements `indices` of `param`. The checked input is
// a small tensor `probe` holding those elements: the loss closure writes it into
// the parameter, so nudging probe[j] nudges param[indices[j]], and its analytic
// gradient is param.grad[indices[j]] from an ordinary backward pass.
// gradient_check calls the closure once for the analytic gradient, then at +h
// and -h for each element in turn; the call count maps a call to its element,
// which is how kink crossings are attributed.
GradCheckResult check_elements(Module& model, Tensor param, const std::vector<std::size_t>& indices, const Array& x,
                               const std::vector<std::uint32_t>& y, const GradcheckSettings& s,
                               std::vector<bool>& crossed) {
  Array start = Array::from_shape({indices.size()});
  for (std::size_t j = 0; j < indices.size(); ++j) start.data()[j] = param.data()[indices[j]];
  Tensor probe(start, true);
  const Tensor input(x);
  std::vector<std::uint32_t> baseline;
  std::size_t call = 0;
  crossed.assign(indices.size(), false);
  auto loss = [&]() -> Tensor {
    for (std::size_t j = 0; j < indices.size(); ++j) param.data()[indices[j]] = probe.data()[j];
    model.zero_grad();
    Tensor l = softmax_cross_entropy(model(input), y);
    Array slice = Array::from_shape({indices.size()});
    if (call == 0) {
      baseline = kink_sides(l);
      l.backward();
      for (std::size_t j = 0; j < indices.size(); ++j) slice.data()[j] = param.grad().data()[indices[j]];
    } else if (kink_sides(l) != baseline) {
      crossed[(call - 1) / 2] = true;
    }
    ++call;
    Tensor out = make_result("probe", Array(l.value()), {probe}, probe_backward);
    out.node()->saved = std::move(slice);
    return out;
  };
  const GradCheckResult r = gradient_check(loss, probe, s.step, s.atol, s.rtol);
  for (std::size_t j = 0; j < indices.size(); ++j) param.data()[indices[j]] = start.data()[j];
  model.zero_grad();
  if (call != 1 + 2 * indices.size()) throw std::logic_error("gradcheck: gradient_check's call pattern changed");
  return r;
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
  std::vector<ParameterCheck> checks;
  for (auto& [name, param] : model.named_parameters()) {
    ParameterCheck c;
    c.name = name;
    c.shape = Shape(param.value().shape().begin(), param.value().shape().end());
    std::vector<std::size_t> indices = sample_indices(param.size(), settings.samples, rng);
    std::vector<bool> crossed;
    c.result = check_elements(model, param, indices, x, y, settings, crossed);
    if (std::find(crossed.begin(), crossed.end(), true) != crossed.end()) {
      // Check again without the elements whose nudge crossed a kink.
      std::vector<std::size_t> smooth;
      for (std::size_t j = 0; j < indices.size(); ++j)
        if (!crossed[j]) smooth.push_back(indices[j]);
      c.kink_crossings = indices.size() - smooth.size();
      indices = smooth;
      c.result = indices.empty() ? GradCheckResult{} : check_elements(model, param, indices, x, y, settings, crossed);
    }
    c.checked = indices.size();
    if (!indices.empty()) c.worst_element = indices[c.result.worst_index];
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
  std::snprintf(line, sizeof line, "%-12s %-12s %17s %8s %13s %13s  %s\n", "parameter", "shape", "checked", "at kink",
                "max abs err", "max rel err", "result");
  out += line;
  std::size_t failed = 0;
  for (const ParameterCheck& c : checks) {
    std::size_t size = 1;
    for (std::size_t d : c.shape) size *= d;
    const bool pass = c.result.passed && c.checked > 0;
    failed += !pass;
    const std::string checked = std::to_string(c.checked) + " of " + std::to_string(size);
    std::snprintf(line, sizeof line, "%-12s %-12s %17s %8zu %13.3e %13.3e  %s\n", c.name.c_str(),
                  shape_string(c.shape).c_str(), checked.c_str(), c.kink_crossings, c.result.max_abs_error,
                  c.result.max_rel_error, pass ? "PASS" : "FAIL");
    out += line;
    if (!c.result.passed) {
      std::snprintf(line, sizeof line, "    worst: element %zu (flat index), backprop %.6g, finite difference %.6g\n",
                    c.worst_element, c.result.worst_analytic, c.result.worst_numeric);
      out += line;
    }
    if (c.checked == 0) out += "    no element could be compared: every nudge crossed a kink (a ReLU's or a max-pool winner's)\n";
  }
  std::snprintf(line, sizeof line, "%s: %zu of %zu parameters within |backprop - numeric| <= %g + %g |numeric| (h = %g)\n",
                failed ? "FAIL" : "PASS", checks.size() - failed, checks.size(), s.atol, s.rtol, s.step);
  return out + line;
}

}  // namespace xg
