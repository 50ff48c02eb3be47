#pragma once
// Gradient-flow diagnostics for `xgrad train --diagnostics`: per layer (each
// weight matrix) and per epoch,
//   weight_norm   ‖W‖₂ (Frobenius) at the end of the epoch
//   grad_norm     mean over the epoch's steps of ‖∂loss/∂W‖₂
//   update_ratio  mean over the steps of ‖W_after − W_before‖ / ‖W_before‖,
//                 the optimizer's relative change; ~1e-3 is healthy, ~1e-1 and
//                 up means the learning rate is too high
//   dead_relu     the fraction of the units of the ReLU fed by this layer that
//                 output 0 for every training item of the epoch (NaN: no ReLU)
// Biases are left out: they are vectors and rarely the problem.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/loop.hpp"
#include "layers/module.hpp"

namespace xg {

struct LayerDiagnostics {
  std::string parameter;  // "0.weight"
  Shape shape;            // (out, in)
  double weight_norm = 0.0, grad_norm = 0.0, update_ratio = 0.0;
  double dead_relu = 0.0;  // NaN when no ReLU follows the layer
};

class Diagnostics : public StepObserver {
 public:
  // Watches every parameter of rank 2 of `model`, in named_parameters() order.
  explicit Diagnostics(const Module& model);
  void start_epoch();
  void after_backward(const Tensor& loss) override;
  void after_step() override;
  // The epoch's figures, one per watched layer.
  std::vector<LayerDiagnostics> finish_epoch() const;

 private:
  struct Watched {
    std::string name;
    Tensor weight;
    Array before;                       // the weight before this step's update
    double grad_norm_sum = 0.0, ratio_sum = 0.0;
    std::vector<std::uint8_t> active;   // per unit of the following ReLU: ever > 0 this epoch
    bool has_relu = false;
  };
  std::vector<Watched> layers_;
  std::size_t steps_ = 0;
};

// An indented table, one line per layer.
std::string format_diagnostics(const std::vector<LayerDiagnostics>& layers);
// [{"parameter": "0.weight", "shape": [256, 784], "weight_norm": …, "grad_norm": …,
//   "update_ratio": …, "dead_relu": … or null}, …]
nlohmann::json diagnostics_json(const std::vector<LayerDiagnostics>& layers);

}  // namespace xg
