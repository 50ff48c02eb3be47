#pragma once
#include "layers/module.hpp"

namespace xg {

// y = max(x, 0), no parameters.
class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ReLU"; }
};

}  // namespace xg
