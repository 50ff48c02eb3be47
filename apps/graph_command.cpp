#include "apps/graph_command.hpp"

#include <cstdio>

#include <CLI/CLI.hpp>

#include "train/experiment.hpp"
#include "io/atomic_file.hpp"
#include "core/error.hpp"
#include "io/graph_export.hpp"
#include "io/output_paths.hpp"
#include "losses/softmax_cross_entropy.hpp"

namespace xg {

CLI::App* add_graph_command(CLI::App& app, GraphOptions& o) {
  CLI::App* cmd = app.add_subcommand("graph", "Write the autograd graph of one training step's loss (Graphviz DOT)");
  add_inspect_flags(cmd, o.inspect);
  cmd->add_option("--format", o.format, "Output format: dot (Graphviz)")->capture_default_str();
  cmd->add_option("--output,-o", o.output, "Write to this file instead of stdout")->capture_default_str();
  cmd->add_flag("--no-backward", o.no_backward, "Draw the graph before backward(), without gradient norms");
  return cmd;
}

int run_graph(const GraphOptions& o) {
  if (o.format != "dot") throw InputError("--format must be dot, got '" + o.format + "'");
  const TrainConfig config = inspect_config(o.inspect);
  check_output_paths({{"--output", o.output}}, data_inputs(config));
  InspectedBatch step = first_training_batch(config);

  // One training step up to (not including) the optimizer's update.
  Module& model = step.run->model();
  model.zero_grad();
  const Tensor input(step.x);
  Tensor loss = softmax_cross_entropy(model(input), step.y);
  if (!o.no_backward) loss.backward();

  auto names = model.named_parameters();
  names.emplace_back("input x", input);
  const std::string dot = graph_to_dot(loss, names);
  if (o.output.empty()) {
    std::fwrite(dot.data(), 1, dot.size(), stdout);
    std::fflush(stdout);
  } else {
    write_file_atomically(o.output, dot);
  }
  return 0;
}

}  // namespace xg
