#include "layers/module.hpp"

namespace xg {

Tensor& Module::register_parameter(std::string name, Tensor parameter) {
  parameters_.emplace_back(std::move(name), std::move(parameter));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor buffer) {
  buffers_.emplace_back(std::move(name), std::move(buffer));
  return buffers_.back().second;
}

void Module::register_module(std::string name, std::shared_ptr<Module> module) {
  children_.emplace_back(std::move(name), std::move(module));
}

void Module::collect(const std::string& prefix, bool parameters, bool buffers,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  if (parameters)
    for (const auto& [name, p] : parameters_) out.emplace_back(prefix + name, p);
  if (buffers)
    for (const auto& [name, b] : buffers_) out.emplace_back(prefix + name, b);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", parameters, buffers, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, false, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, true, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& named : named_parameters()) out.push_back(named.second);
  return out;
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& child : children_) child.second->train(on);
}

}  // namespace xg
