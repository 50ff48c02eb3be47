#pragma once
// `xgrad graph`: the autograd graph of one training step's loss, in Graphviz
// DOT (io/graph_export.hpp), for the model given by --hidden and a small
// batch of real data. Render it with `dot -Tsvg graph.dot -o graph.svg`.
#include <cstdint>
#include <string>

#include "apps/flags.hpp"

namespace CLI {
class App;
}

namespace xg {

struct GraphOptions {
  InspectOptions inspect{"fashion-mnist", "", "256,128", /*batch=*/4, /*seed=*/0};
  std::string format = "dot";
  std::string output;  // empty: stdout
  bool no_backward = false;
};

CLI::App* add_graph_command(CLI::App& app, GraphOptions& options);
// Returns the exit status; throws InputError for bad flags, data or output path.
int run_graph(const GraphOptions& options);

}  // namespace xg
