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
  // The same, when a ReLU takes the result next (Sequential): each image's GEMM
  // makes relu(y) too, for that ReLU to take (core/conv.hpp, conv2d).
  Tensor forward(const Tensor& x, bool relu_follows);
  Tensor forward_before_relu(const Tensor& x) override { return forward(x, true); }
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

// What the pooling layers share: a kernel×kernel window moved by stride (the
// kernel when 0), no padding, no parameters.
class Pool2d : public Module {
 public:
  std::string describe() const override;  // "MaxPool2d(2, stride 2)"
  std::size_t kernel() const { return kernel_; }
  std::size_t stride() const { return stride_; }

 protected:
  Pool2d(const char* type, std::size_t kernel, std::size_t stride);

 private:
  const char* type_;
  std::size_t kernel_, stride_;
};

// y = max over each window (torch.nn.MaxPool2d): x (B, C, H, W) -> (B, C, Ho, Wo).
class MaxPool2d : public Pool2d {
 public:
  explicit MaxPool2d(std::size_t kernel, std::size_t stride = 0) : Pool2d("MaxPool2d", kernel, stride) {}
  Tensor forward(const Tensor& x) override;
};

// y = mean over each window (torch.nn.AvgPool2d with padding 0): x (B, C, H, W) -> (B, C, Ho, Wo).
class AvgPool2d : public Pool2d {
 public:
  explicit AvgPool2d(std::size_t kernel, std::size_t stride = 0) : Pool2d("AvgPool2d", kernel, stride) {}
  Tensor forward(const Tensor& x) override;
};

// x (B, d1, d2, …) -> (B, d1·d2·…) (torch.nn.Flatten). No parameters.
class Flatten : public Module {
 public:
  Flatten() : Module("Flatten") {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Flatten"; }
};

}  // namespace xg
