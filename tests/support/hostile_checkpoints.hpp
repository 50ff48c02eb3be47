#pragma once
// Checkpoints that lie, for the readers of model files and training states
// (xgrad eval, predict and train --resume; tests/apps/): each case rewrites a
// good checkpoint written by `xgrad train --save` (the model PATH, or its
// PATH.state) into a hostile one, and names what the refusal must mention.
// A reader must exit 2 with one stderr line naming the file and that field,
// print nothing on stdout, write nothing, and allocate nothing big (the
// commands run under run_xgrad_capped's address-space cap).
#include <functional>
#include <string>
#include <vector>

namespace xg::testing {

struct HostileCheckpoint {
  std::string what;
  bool in_state = false;  // corrupts PATH.state, not the model PATH
  std::function<void(const std::string& model_path)> corrupt;  // rewrites the file in place
  std::string must_mention;  // besides the file's path
};

// JSON nested `levels` deep: "[[[…]]]".
std::string deep_json(std::size_t levels);

// Corruptions of the model file: its "xgrad" metadata nested 300,000 levels
// deep, of the wrong types, describing a huge architecture, with a nonsensical
// mean or std; and a sparse 6 GB file. For eval, predict and train --resume.
std::vector<HostileCheckpoint> hostile_model_files();
// Corruptions of the training state: "xgrad_state" nested deep or of the wrong
// types, a NaN in the optimizer state, and (adam: a checkpoint of --optimizer
// adam) Adam steps that are NaN, negative, fractional or 3e38 and a negative v.
std::vector<HostileCheckpoint> hostile_state_files(bool adam);

// Every file in `dir` with its size and modification time, one per line: a
// run that refuses its input leaves this unchanged.
std::string directory_listing(const std::string& dir);

// Runs `xgrad ARGS` under run_xgrad_capped and checks (doctest CHECKs) the
// promise for bad input: exit 2, one stderr line naming `path` and
// `must_mention`, empty stdout, and `dir` unchanged.
void check_refused(const std::string& args, const std::string& path, const std::string& must_mention, const std::string& dir);

}  // namespace xg::testing
