// An MNIST-style classifier in the five-line loop:
//   zero_grad; forward; loss; backward; step
// Usage: mnist_classifier [DATA_DIR] [TRAIN_IMAGES] [EPOCHS]
// (defaults: Fashion-MNIST from the Debian package, 10000 images, 2 epochs).
// Exits 1 unless the test accuracy reaches 75%.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "datasets/dataloader.hpp"
#include "datasets/image_dataset.hpp"
#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/sgd.hpp"

using namespace xg;

int main(int argc, char** argv) {
  Dataset data = load_image_dataset(argc > 1 ? argv[1] : "fashion-mnist");
  truncate(data.train, argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 10000);
  const std::size_t epochs = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 2;
  const Normalization norm = compute_normalization(data.train);

  Rng rng(0);
  auto model = make_mlp({data.train.features(), 128, data.num_classes()}, rng);
  SGD optimizer(model->parameters(), /*lr=*/0.05f, /*momentum=*/0.9f);
  DataLoader loader(data.train, /*batch=*/64, /*shuffle=*/true, /*seed=*/0, norm);

  Array x;
  std::vector<std::uint32_t> y;
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    loader.start_epoch(epoch);
    double total = 0.0;
    for (std::size_t i = 0; i < loader.num_batches(); ++i) {
      loader.batch(i, x, y);
      optimizer.zero_grad();                                  // 1. forget the last step's gradients
      Tensor logits = (*model)(Tensor(x));                    // 2. forward
      Tensor loss = softmax_cross_entropy(logits, y);         // 3. loss
      loss.backward();                                        // 4. backward
      optimizer.step();                                       // 5. step
      total += loss.item();
    }
    std::printf("epoch %zu  mean training loss %.4f\n", epoch, total / double(loader.num_batches()));
  }

  // Test accuracy, without recording a graph.
  NoGradGuard no_grad;
  DataLoader test(data.test, 1000, /*shuffle=*/false, 0, norm);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < test.num_batches(); ++i) {
    const std::size_t rows = test.batch(i, x, y);
    const Tensor logits = (*model)(Tensor(x));
    const std::size_t C = logits.dim(1);
    for (std::size_t r = 0; r < rows; ++r) {
      std::size_t best = 0;
      for (std::size_t c = 1; c < C; ++c)
        if (logits.data()[r * C + c] > logits.data()[r * C + best]) best = c;
      correct += best == y[r];
    }
  }
  const double accuracy = double(correct) / double(data.test.count);
  std::printf("test accuracy %.4f on %zu images\n", accuracy, data.test.count);
  return accuracy >= 0.75 ? 0 : 1;
}
