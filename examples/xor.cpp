// XOR with a 2-layer MLP: the smallest problem no linear model can solve.
// A hidden ReLU layer bends the plane so that (0,1) and (1,0) land on one side
// and (0,0) and (1,1) on the other. Exits 1 unless all four points are right.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/sgd.hpp"

using namespace xg;

int main() {
  Rng rng(0);
  auto model = make_mlp({2, 8, 2}, rng);  // Linear(2->8), ReLU, Linear(8->2)
  SGD optimizer(model->parameters(), /*lr=*/0.1f, /*momentum=*/0.9f);

  const Tensor x(Array{{0.0f, 0.0f}, {0.0f, 1.0f}, {1.0f, 0.0f}, {1.0f, 1.0f}});  // (4, 2)
  const std::vector<std::uint32_t> y{0, 1, 1, 0};                                     // a XOR b

  for (int step = 1; step <= 300; ++step) {
    optimizer.zero_grad();
    Tensor loss = softmax_cross_entropy((*model)(x), y);
    loss.backward();
    optimizer.step();
    if (step % 50 == 0) std::printf("step %3d  loss %.5f\n", step, loss.item());
  }

  NoGradGuard no_grad;  // evaluation: no graph
  const Tensor logits = (*model)(x);
  int correct = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const float* z = logits.data() + 2 * i;
    const std::uint32_t predicted = z[1] > z[0] ? 1 : 0;
    correct += predicted == y[i];
    std::printf("%g XOR %g = %u (predicted %u)\n", x.value()(i, 0), x.value()(i, 1), y[i], predicted);
  }
  std::printf("accuracy %d/4\n", correct);
  return correct == 4 ? 0 : 1;
}
