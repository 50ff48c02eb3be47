#pragma once
// Module: the base of every layer and model, after PyTorch's nn.Module.
// A module registers its parameters and sub-modules explicitly, in order, so
// parameters() and named_parameters() are deterministic and their names match
// PyTorch's state_dict ("0.weight", "0.bias", "2.weight", …).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace xg {

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
  // The forward pass when a ReLU takes the result next (Sequential). A layer
  // whose own pass can make relu(y) as well, for that ReLU to take instead of
  // making its own (Linear, Conv2d), overrides it; the rest run forward().
  virtual Tensor forward_before_relu(const Tensor& x) { return forward(x); }

  // Own parameters in registration order, then each sub-module's, depth first.
  std::vector<Tensor> parameters() const;
  // The same order, with dotted names as in PyTorch's state_dict.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  // Buffers: state that is saved with the model but is not a parameter (no
  // gradient; never seen by an optimizer, a penalty, clipping or diagnostics),
  // e.g. BatchNorm2d's running statistics. Same order rule, dotted names.
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Everything a model file holds, in PyTorch's state_dict order: each module's
  // parameters, then its buffers, then its sub-modules' (depth first).
  std::vector<std::pair<std::string, Tensor>> named_state() const;
  void zero_grad();

  // Training mode (the default) vs evaluation mode; recursive.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // A label for messages, e.g. "Linear#2" (set by Sequential to the position).
  const std::string& label() const { return label_; }
  void set_label(std::string label) { label_ = std::move(label); }
  // One line describing the module, e.g. "Linear(784 -> 256)".
  virtual std::string describe() const = 0;

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 protected:
  explicit Module(std::string label) : label_(std::move(label)) {}
  Tensor& register_parameter(std::string name, Tensor parameter);
  Tensor& register_buffer(std::string name, Tensor buffer);
  void register_module(std::string name, std::shared_ptr<Module> module);

 private:
  void collect(const std::string& prefix, bool parameters, bool buffers,
               std::vector<std::pair<std::string, Tensor>>& out) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  std::string label_;
};

}  // namespace xg
