#pragma once
// Mini-batches of a Split (images or table rows) as normalised float arrays,
// in a per-epoch shuffled order.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <algorithm>
#include <vector>

#include "core/tensor.hpp"
#include "datasets/augment.hpp"
#include "datasets/dataset.hpp"

namespace xg {

// Item range [begin, end) of shard `rank` when `count` items are split into
// `ranks` contiguous shards, the remainder going to the lowest shards
// (10 items in 3 shards: 0-4, 4-7, 7-10).
std::pair<std::size_t, std::size_t> shard_range(std::size_t count, std::size_t rank, std::size_t ranks);

class DataLoader {
 public:
  // Keeps a reference to `set`, which must outlive the loader. batch_size > 0;
  // `norm` has one mean and std per channel (images: one for grey, three for
  // RGB) or per feature (tables).
  DataLoader(const Split& set, std::size_t batch_size, bool shuffle, std::uint64_t seed, const Normalization& norm);

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
  //   x (b, features) float32, x = (pixel/255 - mean_c) / std_c for a pixel of channel c of an image,
  //                            x = (value - mean_j) / std_j for feature j of a table
  //   y (b)           labels
  // Returns b. Reuses x's and y's buffers when they already have the size, so
  // a steady-state training step allocates nothing. With prefetch_next, it then
  // asks for batch i + 1's rows (prefetch_batch); a caller that knows a better
  // moment for that (just before it needs them) passes false and calls
  // prefetch_batch itself.
  std::size_t batch(std::size_t i, Array& x, std::vector<std::uint32_t>& y, bool prefetch_next = true);

  // Asks the CPU to start loading this rank's rows of batch i (and their labels)
  // from memory: the rows are shuffled, so neither the caches nor the hardware
  // prefetcher hold or guess them. A hint: no value changes. Nothing past the
  // last batch.
  void prefetch_batch(std::size_t i) const;

  // Gives x and y batch i's shapes (what batch(i, x, y) does first), allocating
  // only when a shape differs: a caller that runs batch() on another thread
  // calls it first on its own, so the memory belongs to the thread that frees
  // it (core/memory_pool.hpp keeps free lists per thread). Returns b.
  std::size_t shape_batch(std::size_t i, Array& x, std::vector<std::uint32_t>& y) const;

  // Augments every image of every batch from now on (datasets/augment.hpp),
  // drawn from (seed, epoch, item); for the training split's loader only.
  // Throws InputError for a table split or a shift not smaller than the images.
  void set_augment(const Augment& augment);

  // Data-parallel training (train/distributed.hpp): batch(i) then gives only
  // shard `rank` of `ranks` (shard_range) of the global batch i; the batches,
  // their order and num_batches() stay those of the whole set.
  void set_shard(std::size_t rank, std::size_t ranks);
  // The rows of global batch i, and the shard's [begin, end) within them.
  std::size_t batch_rows(std::size_t i) const { return std::min(batch_size_, set_->count - i * batch_size_); }
  std::pair<std::size_t, std::size_t> shard_of_batch(std::size_t i) const {
    return shard_range(batch_rows(i), rank_, ranks_);
  }

  // The item indices of the current epoch, in order (for tests and debugging).
  const std::vector<std::uint32_t>& order() const { return order_; }

 private:
  // Asks the CPU to start loading item's row (a hint: no value changes): into
  // L1 when it is converted next, into L2 when its batch comes later.
  enum class Soon { Next, Later };
  void prefetch_item(std::size_t item, Soon when) const;
  // prefetch_item(Soon::Later) for rows [begin, end) of this rank's shard of batch i.
  void prefetch_rows(std::size_t i, std::size_t begin, std::size_t end) const;

  const Split* set_;
  std::size_t batch_size_;
  bool shuffle_;
  std::uint64_t seed_;
  // x_j = item_j * scale_[j] + shift_[j]: the normalisation folded into one multiply-add per feature.
  std::vector<float> scale_, shift_;
  std::vector<std::uint32_t> order_;
  std::size_t epoch_ = 0;
  Augment augment_;
  std::vector<std::uint8_t> augmented_;  // one item's augmented pixels per piece of batch()
  std::size_t rank_ = 0, ranks_ = 1;
};

}  // namespace xg
