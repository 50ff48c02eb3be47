// Train, save, load: the library without the command line.
//   1. an MLP trained for one epoch by train/'s loop on a slice of Fashion-MNIST,
//   2. saved as a safetensors model file (io/model_file.hpp) that PyTorch loads,
//   3. loaded into a fresh model, whose logits on the test images must be
//      bit-identical to the trained model's.
// Usage: save_load [DATA_DIR] [TRAIN_IMAGES] [MODEL_PATH]
// (defaults: Fashion-MNIST from the Debian package, 5000 images, save_load.safetensors).
// Exits 1 unless the logits match exactly and the model learned (accuracy > 50%).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "datasets/dataloader.hpp"
#include "datasets/image_dataset.hpp"
#include "io/model_file.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"
#include "train/loop.hpp"

using namespace xg;

// The model's logits (count, classes) on every item of `set`, in eval mode.
Array logits_of(Sequential& model, const Split& set, const Normalization& norm) {
  NoGradGuard no_grad;
  model.eval();
  DataLoader loader(set, 500, /*shuffle=*/false, 0, norm);
  Array all = xt::zeros<float>({set.count, std::size_t(10)}), x;
  std::vector<std::uint32_t> y;
  for (std::size_t i = 0, first = 0; i < loader.num_batches(); ++i) {
    const std::size_t rows = loader.batch(i, x, y);
    const Tensor logits = model(Tensor(x));
    std::memcpy(all.data() + first * 10, logits.data(), rows * 10 * sizeof(float));
    first += rows;
  }
  return all;
}

int main(int argc, char** argv) {
  Dataset data = load_image_dataset(argc > 1 ? argv[1] : "fashion-mnist");
  truncate(data.train, argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5000);
  truncate(data.test, 1000);
  const std::string path = argc > 3 ? argv[3] : "save_load.safetensors";
  const Normalization norm = compute_normalization(data.train);

  // 1. Train one epoch.
  Rng rng(0);
  std::shared_ptr<Sequential> model = make_mlp({data.train.features(), 64, data.num_classes()}, rng);
  SGD optimizer(model->parameters(), /*lr=*/0.05f, /*momentum=*/0.9f);
  DataLoader loader(data.train, /*batch=*/64, /*shuffle=*/true, /*seed=*/0, norm);
  loader.start_epoch(1);
  const TrainResult trained = train_epoch(*model, optimizer, loader, /*epoch=*/1);
  const Evaluation test = evaluate(*model, data.test, norm, data.num_classes());
  std::printf("trained 1 epoch on %zu images: train loss %.4f, test accuracy %.4f\n", data.train.count, trained.loss,
              test.accuracy());

  // 2. Save: the tensors under PyTorch's nn.Sequential names, and what is needed to rebuild the model.
  ModelInfo info;
  info.layers = {data.train.features(), 64, data.num_classes()};
  info.input_shape = data.train.shape;
  info.mean = norm.mean;
  info.std = norm.std;
  info.classes = data.class_names;
  info.version = kXgradVersion;
  info.epoch = 1;
  save_model(path, *model, info);

  // 3. Load into a fresh model and compare the logits bit for bit.
  LoadedModel loaded = load_model(path);
  const Array before = logits_of(*model, data.test, norm);
  const Array after = logits_of(*loaded.model, data.test, Normalization{loaded.info.mean, loaded.info.std});
  const bool identical = std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) == 0;
  std::printf("saved %s (%s); loaded: %s\n", path.c_str(), loaded.model->describe().c_str(),
              identical ? "identical logits on the test images" : "LOGITS DIFFER");
  std::printf("first test image: logits");
  for (std::size_t c = 0; c < 10; ++c) std::printf(" %.4f", double(after(0, c)));
  std::printf(" (label %s)\n", data.class_names[data.test.labels[0]].c_str());
  return identical && test.accuracy() > 0.5 ? 0 : 1;
}
