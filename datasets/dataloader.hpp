#pragma once
// Mini-batches of an ImageSet as float arrays, in a per-epoch shuffled order.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"
#include "datasets/image_dataset.hpp"

namespace xg {

class DataLoader {
 public:
  // Keeps a reference to `set`, which must outlive the loader. batch_size > 0.
  DataLoader(const ImageSet& set, std::size_t batch_size, bool shuffle, std::uint64_t seed, Normalization norm);

  std::size_t size() const { return set_->count; }  // items
  std::size_t batch_size() const { return batch_size_; }
  // ceil(items / batch_size): the last batch may be partial.
  std::size_t num_batches() const { return (set_->count + batch_size_ - 1) / batch_size_; }

  // Sets the order for this epoch: a permutation drawn from an Rng seeded by
  // (seed, epoch) alone, so the same (seed, epoch) always gives the same order
  // whatever epochs came before (a resumed run sees the same batches);
  // the identity order when shuffle is false. The constructor starts epoch 0.
  void start_epoch(std::size_t epoch);

  // Batch i (0 <= i < num_batches()) of the current epoch, b items:
  //   x (b, features) float32, x = (pixel/255 - mean) / std
  //   y (b)           labels
  // Returns b. Reuses x's and y's buffers when they already have the size, so
  // a steady-state training step allocates nothing.
  std::size_t batch(std::size_t i, Array& x, std::vector<std::uint32_t>& y);

  // The item indices of the current epoch, in order (for tests and debugging).
  const std::vector<std::uint32_t>& order() const { return order_; }

 private:
  const ImageSet* set_;
  std::size_t batch_size_;
  bool shuffle_;
  std::uint64_t seed_;
  float scale_, shift_;  // x = pixel * scale_ + shift_, the normalisation folded into one multiply-add
  std::vector<std::uint32_t> order_;
};

}  // namespace xg
