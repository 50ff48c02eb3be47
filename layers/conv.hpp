#pragma once
// The layers of convolutional networks, thin wrappers over core/conv.hpp's ops,
// on NCHW batches x (B, C, H, W) as in PyTorch.
#include <cstddef>

#include "core/random.hpp"
#include "layers/module.hpp"

namespace xg {

// y = conv2d(x, W, b): x (B, in, H, W), weight W (out, in, k, k) — PyTorch's
// layout — bias b (out), y (B, out, Ho, Wo), Ho = (H + 2·padding - k)/stride + 1.
// Initialised as torch.nn.Conv2d does (Kaiming-uniform with a = √5): every
// weight and bias uniform in [-1/√fan_in, 1/√fan_in], fan_in = in·k·k.
class Conv2d : public Module {
 public:
  Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, Rng& rng, std::size_t stride = 1,
         std::size_t padding = 0);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

  std::size_t in_channels() const { return weight.dim(1); }
  std::size_t out_channels() const { return weight.dim(0); }
  std::size_t kernel() const { return weight.dim(2); }
  std::size_t stride() const { return stride_; }
  std::size_t padding() const { return padding_; }

  Tensor weight;  // (out, in, k, k)
  Tensor bias;    // (out)

 private:
  std::size_t stride_, padding_;
};

// y = max over kernel×kernel windows moved by stride (torch.nn.MaxPool2d;
// stride defaults to the kernel): x (B, C, H, W) -> (B, C, Ho, Wo). No parameters.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(std::size_t kernel, std::size_t stride = 0);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  std::size_t kernel() const { return kernel_; }
  std::size_t stride() const { return stride_; }

 private:
  std::size_t kernel_, stride_;
};

// y = mean over kernel×kernel windows moved by stride (torch.nn.AvgPool2d with
// padding 0; stride defaults to the kernel): x (B, C, H, W) -> (B, C, Ho, Wo).
// No parameters.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(std::size_t kernel, std::size_t stride = 0);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  std::size_t kernel() const { return kernel_; }
  std::size_t stride() const { return stride_; }

 private:
  std::size_t kernel_, stride_;
};

// x (B, d1, d2, …) -> (B, d1·d2·…) (torch.nn.Flatten). No parameters.
class Flatten : public Module {
 public:
  Flatten() : Module("Flatten") {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Flatten"; }
};

}  // namespace xg
