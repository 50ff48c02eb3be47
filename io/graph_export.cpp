#include "io/graph_export.hpp"

#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

namespace xg {

std::vector<Node*> reachable_nodes(Node* root) {
  // Iterative post-order DFS over every parent (topological_order skips nodes
  // that need no gradient; a picture of the step should show the input too).
  std::vector<Node*> order;
  if (root == nullptr) return order;
  std::unordered_set<Node*> seen{root};
  std::vector<std::pair<Node*, std::size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->parents.size()) {
      Node* parent = node->parents[next++].get();
      if (parent != nullptr && seen.insert(parent).second) stack.push_back({parent, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

namespace {

// DOT string literal content: quotes and backslashes escaped.
std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// ‖g‖₂ in double precision.
double l2_norm(const Array& a) {
  double s = 0.0;
  for (float v : a) s += double(v) * double(v);
  return std::sqrt(s);
}

bool shows_gradient(const Node* n, const std::unordered_map<const Node*, bool>& with_grad) {
  auto it = with_grad.find(n);
  return it != with_grad.end() && it->second;
}

}  // namespace

std::string graph_to_dot(const Tensor& root, const std::vector<std::pair<std::string, Tensor>>& names) {
  std::unordered_map<const Node*, std::string> name_of;
  for (const auto& [name, t] : names)
    if (t.defined()) name_of.emplace(t.node(), name);

  const std::vector<Node*> order = reachable_nodes(root.node());
  std::unordered_map<const Node*, std::size_t> id;
  for (std::size_t i = 0; i < order.size(); ++i) id[order[i]] = i;

  // Whether backward() has left a gradient in each node. An empty xarray has
  // rank 0 and one element, so for a scalar node the buffer alone cannot tell:
  // a scalar op has one if its input has; a scalar leaf if it is not zero.
  std::unordered_map<const Node*, bool> with_grad;
  for (const Node* n : order) {
    bool has = n->requires_grad && n->grad_ready && n->grad.shape() == n->value.shape();
    if (has && n->value.dimension() == 0)
      has = n->parents[0] ? with_grad[n->parents[0].get()] : !n->grad_stale && n->grad() != 0.0f;
    with_grad[n] = has;
  }

  std::string dot = "digraph autograd {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n";
  for (const Node* n : order) {
    const bool leaf = n->parents[0] == nullptr && n->parents[1] == nullptr && n->parents[2] == nullptr;
    std::string title = n->op;
    if (auto it = name_of.find(n); it != name_of.end()) {
      title = it->second;
    } else if (leaf && title == "leaf") {
      title = n->requires_grad ? "parameter" : "constant";
    }
    // A backslash-n is DOT's line break inside a label.
    std::string label = escaped(title) + "\\n" + shape_string(n->value);
    if (shows_gradient(n, with_grad)) {
      char norm[64];
      std::snprintf(norm, sizeof norm, "\\ngrad norm %.4g", n->grad_stale ? 0.0 : l2_norm(n->grad));  // stale: zero_grad() ran
      label += norm;
    }
    const char* style = leaf ? (n->requires_grad ? "style=filled, fillcolor=\"#dbe9f6\"" : "style=filled, fillcolor=\"#eeeeee\"")
                             : "shape=ellipse";
    dot += "  n" + std::to_string(id[n]) + " [label=\"" + label + "\", " + style + "];\n";
  }
  for (const Node* n : order)
    for (const auto& p : n->parents)
      if (p) dot += "  n" + std::to_string(id[p.get()]) + " -> n" + std::to_string(id[n]) + ";\n";
  return dot + "}\n";
}

}  // namespace xg
