// Three interleaved 2-D spirals (the CS231n toy problem): a linear classifier
// gets about a third right, a small MLP nearly all. Prints the decision regions
// as text and exits 1 unless the training accuracy reaches 95%.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/sgd.hpp"

using namespace xg;

// argmax of each row of (B, C) logits
std::vector<std::uint32_t> predict(Module& model, const Array& points) {
  NoGradGuard no_grad;
  const Tensor logits = model(Tensor(points));
  const std::size_t B = logits.dim(0), C = logits.dim(1);
  std::vector<std::uint32_t> out(B, 0);
  for (std::size_t i = 0; i < B; ++i)
    for (std::size_t c = 1; c < C; ++c)
      if (logits.data()[i * C + c] > logits.data()[i * C + out[i]]) out[i] = std::uint32_t(c);
  return out;
}

int main() {
  const std::size_t per_class = 100, classes = 3, n = per_class * classes;
  Rng rng(0);
  Array x = Array::from_shape({n, 2});  // (n, 2): points in [-1, 1]²
  std::vector<std::uint32_t> y(n);
  for (std::size_t c = 0; c < classes; ++c)
    for (std::size_t i = 0; i < per_class; ++i) {
      const float r = float(i) / float(per_class);  // radius 0 .. 1
      const float t = 4.0f * (float(c) + r) + rng.normal(0.0f, 0.2f);  // angle
      x(c * per_class + i, 0) = r * std::sin(t);
      x(c * per_class + i, 1) = r * std::cos(t);
      y[c * per_class + i] = std::uint32_t(c);
    }

  auto model = make_mlp({2, 64, 3}, rng);
  SGD optimizer(model->parameters(), /*lr=*/0.5f, /*momentum=*/0.9f);
  const Tensor input(x);
  for (int step = 1; step <= 1500; ++step) {  // full-batch gradient descent
    optimizer.zero_grad();
    Tensor loss = softmax_cross_entropy((*model)(input), y);
    loss.backward();
    optimizer.step();
    if (step % 300 == 0) std::printf("step %4d  loss %.4f\n", step, loss.item());
  }

  // Decision regions on a 21 x 41 grid over [-1, 1]², one letter per class.
  const std::size_t rows = 21, cols = 41;
  Array grid = Array::from_shape({rows * cols, 2});
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      grid(r * cols + c, 0) = -1.0f + 2.0f * float(c) / float(cols - 1);
      grid(r * cols + c, 1) = 1.0f - 2.0f * float(r) / float(rows - 1);
    }
  const std::vector<std::uint32_t> regions = predict(*model, grid);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) std::putchar("abc"[regions[r * cols + c]]);
    std::putchar('\n');
  }

  const std::vector<std::uint32_t> predicted = predict(*model, x);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) correct += predicted[i] == y[i];
  const double accuracy = double(correct) / double(n);
  std::printf("training accuracy %.3f\n", accuracy);
  return accuracy >= 0.95 ? 0 : 1;
}
