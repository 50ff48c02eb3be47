#pragma once
// `xgrad graph`: the autograd graph of one training step's loss, in Graphviz
// DOT (core/graph_export.hpp), for the model given by --hidden and a small
// batch of real data. Render it with `dot -Tsvg graph.dot -o graph.svg`.
#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace xg {

struct GraphOptions {
  std::string data = "fashion-mnist";
  std::string hidden = "256,128";
  std::size_t batch = 4;
  std::uint64_t seed = 0;
  std::string format = "dot";
  std::string output;  // empty: stdout
  bool no_backward = false;
};

CLI::App* add_graph_command(CLI::App& app, GraphOptions& options);
// Returns the exit status; throws InputError for bad flags, data or output path.
int run_graph(const GraphOptions& options);

}  // namespace xg
