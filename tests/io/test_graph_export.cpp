// io/graph_export: the DOT of a 2-layer MLP's loss has one node per op and per
// leaf, labelled with op name (or parameter name), shape and gradient norm,
// and one edge per input. (`xgrad graph`: tests/apps/test_graph_command.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <utility>

#include "io/graph_export.hpp"
#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "tests/support/dot_graph.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("graph: a 2-layer MLP's loss graph in DOT, before and after backward") {
  Rng rng(1);
  auto model = make_mlp({4, 3, 2}, rng);
  Array xa = Array::from_shape({5, 4});
  for (float& v : xa) v = rng.uniform(-1.0f, 1.0f);
  const Tensor x(xa);
  Tensor loss = softmax_cross_entropy((*model)(x), {0, 1, 1, 0, 1});
  auto names = model->named_parameters();
  names.emplace_back("x", x);

  const std::string before = graph_to_dot(loss, names);
  CHECK(before.rfind("digraph", 0) == 0);
  CHECK(before.find("grad norm") == std::string::npos);
  const Dot d = parse_dot(before);
  CHECK(d.label_of.size() == 9);  // x, 4 parameters, linear, relu, linear, loss
  const std::string w0 = "0.weight\\n(3, 4)", b0 = "0.bias\\n(3)", w2 = "2.weight\\n(2, 3)", b2 = "2.bias\\n(2)";
  const std::string lin0 = "linear\\n(5, 3)", relu = "relu\\n(5, 3)", lin2 = "linear\\n(5, 2)",
                    ce = "softmax_cross_entropy\\n()";
  const std::set<std::pair<std::string, std::string>> expected{
      {"x\\n(5, 4)", lin0}, {w0, lin0}, {b0, lin0}, {lin0, relu}, {relu, lin2}, {w2, lin2}, {b2, lin2}, {lin2, ce}};
  CHECK(d.edges == expected);

  loss.backward();
  const Dot after = parse_dot(graph_to_dot(loss, names));
  double norm = 0.0;
  for (float g : model->named_parameters()[0].second.grad()) norm += double(g) * g;
  char expected_label[96];
  std::snprintf(expected_label, sizeof expected_label, "0.weight\\n(3, 4)\\ngrad norm %.4g", std::sqrt(norm));
  bool found = false;
  for (auto& [id, label] : after.label_of) found = found || label == expected_label;
  CHECK_MESSAGE(found, expected_label);
  // The input needs no gradient: it has none to show; the loss's is d loss/d loss = 1.
  for (auto& [id, label] : after.label_of) {
    if (label.rfind("x\\n", 0) == 0) CHECK(label.find("grad") == std::string::npos);
    if (label.rfind("softmax_cross_entropy", 0) == 0) CHECK(label.find("grad norm 1") != std::string::npos);
  }

  // zero_grad() writes its zeros lazily (core/tensor.hpp): the graph shows a
  // zero norm, not the old gradient still in the buffer's memory.
  model->named_parameters()[0].second.zero_grad();
  const Dot zeroed = parse_dot(graph_to_dot(loss, names));
  found = false;
  for (auto& [id, label] : zeroed.label_of) found = found || label == w0 + "\\ngrad norm 0";
  CHECK(found);
}
