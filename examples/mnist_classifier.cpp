// An MNIST-style classifier in the five-line loop:
//   zero_grad; forward; loss; backward; step
// with either network; only the model differs:
//   mlp: x (B, 784) -> Linear(784, 128), ReLU -> Linear(128, 10)
//   cnn: `xgrad train --arch cnn`, built layer by layer:
//        x (B, 784) as (B, 1, 28, 28) -> Conv2d(1, 16, 3, padding 1), ReLU -> (B, 16, 28, 28)
//        -> MaxPool2d(2) -> Conv2d(16, 32, 3, padding 1), ReLU -> (B, 32, 14, 14)
//        -> MaxPool2d(2) -> Flatten -> (B, 1568) -> Linear(1568, 128), ReLU -> Linear(128, 10)
// Usage: mnist_classifier [mlp|cnn] [DATA_DIR] [TRAIN_IMAGES] [EPOCHS] [TEST_IMAGES]
// (defaults: mlp, Fashion-MNIST from the Debian package, 10000 images, 2 epochs, all).
// Exits 1 unless the test accuracy reaches 75%.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "datasets/dataloader.hpp"
#include "datasets/image_dataset.hpp"
#include "layers/activations.hpp"
#include "layers/conv.hpp"
#include "layers/linear.hpp"
#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/sgd.hpp"

using namespace xg;

std::shared_ptr<Sequential> make_cnn(std::size_t rows, std::size_t cols, std::size_t classes, Rng& rng) {
  auto model = std::make_shared<Sequential>();
  model->set_input_shape({1, rows, cols});  // the loader's flat rows are one-channel images
  model->add(std::make_shared<Conv2d>(1, 16, 3, rng, /*stride=*/1, /*padding=*/1));
  model->add(std::make_shared<ReLU>());
  model->add(std::make_shared<MaxPool2d>(2));
  model->add(std::make_shared<Conv2d>(16, 32, 3, rng, 1, 1));
  model->add(std::make_shared<ReLU>());
  model->add(std::make_shared<MaxPool2d>(2));
  model->add(std::make_shared<Flatten>());
  model->add(std::make_shared<Linear>(32 * (rows / 4) * (cols / 4), 128, rng));
  model->add(std::make_shared<ReLU>());
  model->add(std::make_shared<Linear>(128, classes, rng));
  return model;
}

int main(int argc, char** argv) {
  const std::string network = argc > 1 ? argv[1] : "mlp";
  if (network != "mlp" && network != "cnn") {
    std::fprintf(stderr, "mnist_classifier: the network is mlp or cnn, not '%s'\n", network.c_str());
    return 2;
  }
  Dataset data = load_image_dataset(argc > 2 ? argv[2] : "fashion-mnist");
  truncate(data.train, argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 10000);
  const std::size_t epochs = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 2;
  if (argc > 5) truncate(data.test, std::strtoul(argv[5], nullptr, 10));
  const Normalization norm = compute_normalization(data.train);

  Rng rng(0);
  auto model = network == "cnn" ? make_cnn(data.train.shape[0], data.train.shape[1], data.num_classes(), rng)
                                : make_mlp({data.train.features(), 128, data.num_classes()}, rng);
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
  DataLoader test(data.test, 500, /*shuffle=*/false, 0, norm);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < test.num_batches(); ++i) {
    const std::size_t n = test.batch(i, x, y);
    const Tensor logits = (*model)(Tensor(x));
    for (std::size_t r = 0; r < n; ++r) correct += argmax(logits.data() + r * logits.dim(1), logits.dim(1)) == y[r];
  }
  const double accuracy = double(correct) / double(data.test.count);
  std::printf("%s: test accuracy %.4f on %zu images\n", network.c_str(), accuracy, data.test.count);
  return accuracy >= 0.75 ? 0 : 1;
}
