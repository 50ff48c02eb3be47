#pragma once
// Graphviz DOT of an autograd graph, like micrograd's draw_dot: walk from a
// root (usually the loss) through Node::parents and draw one box per node —
// the op that made it (Node::op), its output shape and, once backward() has
// run, the L2 norm of its gradient — with an edge from each input to the op
// that consumed it. Render with `dot -Tsvg graph.dot -o graph.svg`.
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace xg {

// Leaves (nodes no op made) are labelled with their name from `names` when
// they appear there (e.g. a module's named_parameters(), or {"x", input}),
// else "parameter" (requires a gradient) or "constant".
std::string graph_to_dot(const Tensor& root, const std::vector<std::pair<std::string, Tensor>>& names = {});

// Every node reachable from `root` through parents, including those that need
// no gradient; parents before children, each once.
std::vector<Node*> reachable_nodes(Node* root);

}  // namespace xg
