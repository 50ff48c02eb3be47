#pragma once
// Optimizer: updates a fixed list of parameters from their gradients.
// Per-parameter state (e.g. momentum) is indexed by the parameter's position
// in that list, never by address, so it can be saved and restored.
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace xg {

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> parameters, float lr);
  virtual ~Optimizer() = default;

  // Sets every parameter's gradient to zero. Call before each backward():
  // gradients accumulate otherwise.
  void zero_grad();
  // One update from the current gradients.
  virtual void step() = 0;

  // The update inside the backward pass. SGD's update of a weight is elementwise
  // in its gradient, so the op that makes a weight's whole gradient (a linear
  // layer's weight-gradient GEMM) can write the new weight instead of the
  // gradient (Node::sgd_step): the gradient is never stored, and the step makes
  // no pass over it. begin_update_in_backward() asks the next backward pass to
  // do so and returns true; an optimizer that cannot (Adam) returns false and
  // asks nothing. Only for a step where nothing else reads the gradients. The
  // next step() updates what the backward pass did not, and ends the request (so
  // gradients are stored again after it); end_update_in_backward() ends it
  // without a step.
  virtual bool begin_update_in_backward() { return false; }
  void end_update_in_backward();
  // Whether the last step() left every parameter finite (no inf, no NaN). This
  // one reads every parameter; an optimizer that checks each value as it writes
  // it (SGD) answers from that instead, saving a pass over all the weights.
  virtual bool step_left_parameters_finite() const;

  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  const std::vector<Tensor>& parameters() const { return parameters_; }

  // Checkpoints: the per-parameter state as named arrays, by position (SGD:
  // "velocity.0", "velocity.1", …); empty for no state or before the first step.
  using State = std::vector<std::pair<std::string, Array>>;
  virtual State state() const { return {}; }
  // Restores what state() returned. Throws InputError naming an entry that is
  // missing, has the wrong shape or holds a value no step could have produced
  // (NaN, infinity; for Adam a step that is not a positive whole number, a negative v).
  virtual void load_state(const State& state);

 protected:
  std::vector<Tensor> parameters_;
  float lr_;
};

// The array named `name` in `state`, checked to have `shape` and finite values
// (checkpoint loading); an InputError naming it otherwise.
const Array& find_state(const Optimizer::State& state, const std::string& name, const Array::shape_type& shape);

}  // namespace xg
