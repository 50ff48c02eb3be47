#include "datasets/dataloader.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/random.hpp"

namespace xg {

std::pair<std::size_t, std::size_t> shard_range(std::size_t count, std::size_t rank, std::size_t ranks) {
  const std::size_t base = count / ranks, extra = count % ranks;  // the first `extra` shards get one more
  const std::size_t begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

DataLoader::DataLoader(const Split& set, std::size_t batch_size, bool shuffle, std::uint64_t seed,
                       const Normalization& norm)
    : set_(&set), batch_size_(batch_size), shuffle_(shuffle), seed_(seed) {
  if (batch_size == 0) throw InputError("batch size must be at least 1");
  if (set.count > std::numeric_limits<std::uint32_t>::max()) {
    throw InputError("data set of " + std::to_string(set.count) + " items is too large (limit 2^32 - 1)");
  }
  const std::size_t features = set.features();
  const std::size_t values = normalization_values(set);  // how many means and stds `norm` must have
  if (norm.mean.size() != values || norm.std.size() != values) {
    throw InputError("the normalisation has " + std::to_string(norm.mean.size()) + " means and " +
                     std::to_string(norm.std.size()) + " stds for " + set.item_description() + " (expected " +
                     std::to_string(values) + " of each: one per " + (set.is_image() ? "channel" : "column") + ")");
  }
  for (std::size_t j = 0; j < values; ++j) {
    if (!(norm.std[j] > 0.0f) || !std::isfinite(norm.std[j]) || !std::isfinite(norm.mean[j])) {
      throw InputError("normalisation std must be a positive number, got " + std::to_string(norm.std[j]));
    }
  }
  // Images: (p/255 - mean_c)/std_c == p * (1/(255 std_c)) + (-mean_c/std_c) for a pixel of channel c
  // (CHW: feature j lies in channel j / (rows*cols)). Tables: (v - mean_j)/std_j == v * (1/std_j) + (-mean_j/std_j).
  const float range = set.is_image() ? 255.0f : 1.0f;
  const std::size_t per_value = set.is_image() ? set.rows() * set.cols() : 1;  // features sharing one mean and std
  scale_.resize(features);
  shift_.resize(features);
  for (std::size_t j = 0; j < features; ++j) {
    const std::size_t k = j / per_value;
    scale_[j] = 1.0f / (range * norm.std[k]);
    shift_[j] = -norm.mean[k] / norm.std[k];
  }
  order_.resize(set.count);
  start_epoch(0);
}

void DataLoader::start_epoch(std::size_t epoch) {
  epoch_ = epoch;
  std::iota(order_.begin(), order_.end(), 0u);  // from the identity every time: no memory of past epochs
  if (!shuffle_) return;
  Rng rng(mix64(seed_ ^ mix64(std::uint64_t(epoch))));
  rng.shuffle(order_);
}

void DataLoader::set_augment(const Augment& augment) {
  if (!augment.any()) return;
  if (!set_->is_image()) throw InputError("--augment applies to images, not to " + set_->item_description());
  if (augment.shift >= std::min(set_->rows(), set_->cols())) {
    throw InputError("--augment shift=" + std::to_string(augment.shift) + " must be smaller than the images' sides (" +
                     set_->item_description() + ")");
  }
  augment_ = augment;  // batch() sizes augmented_, a row per piece
}

void DataLoader::set_shard(std::size_t rank, std::size_t ranks) {
  if (ranks == 0 || rank >= ranks) throw std::invalid_argument("DataLoader::set_shard: rank " + std::to_string(rank) + " of " + std::to_string(ranks));
  rank_ = rank, ranks_ = ranks;
}

namespace {
// Asks for `bytes` from `begin` and one label, with prefetch locality L: 3
// (x86: prefetcht0) fills L1, 2 (prefetcht1) stops at L2. A template because
// the locality must be a constant.
template <int L>
void prefetch_lines(const char* begin, std::size_t bytes, const std::uint32_t* label) {
  constexpr std::size_t kLine = 64;  // bytes per cache line on every CPU we build for
  for (std::size_t offset = 0; offset < bytes; offset += kLine) __builtin_prefetch(begin + offset, 0, L);
  __builtin_prefetch(label, 0, L);  // a random label misses the caches as much as its row
}
}  // namespace

void DataLoader::prefetch_item(std::size_t item, Soon when) const {
  const char* begin = set_->is_image() ? reinterpret_cast<const char*>(set_->pixels.data() + item * set_->features())
                                       : reinterpret_cast<const char*>(set_->values.data() + item * set_->features());
  const std::size_t bytes = set_->features() * (set_->is_image() ? sizeof(std::uint8_t) : sizeof(float));
  // Into L1 for the row converted next; into L2 for a batch's rows asked for
  // ahead: a batch's 832 requests for L1 stall the core while its few line-fill
  // buffers drain (10-15 µs with one thread; 7-12 µs into L2, the copy after it
  // as fast).
  if (when == Soon::Next)
    prefetch_lines<3>(begin, bytes, set_->labels.data() + item);
  else
    prefetch_lines<2>(begin, bytes, set_->labels.data() + item);
}

std::size_t DataLoader::shape_batch(std::size_t i, Array& x, std::vector<std::uint32_t>& y) const {
  if (i >= num_batches()) {
    throw std::out_of_range("DataLoader::batch: batch " + std::to_string(i) + " of " + std::to_string(num_batches()));
  }
  const auto [shard_begin, shard_end] = shard_of_batch(i);
  const std::size_t b = shard_end - shard_begin;
  const std::size_t features = set_->features();
  // x is (b, features); resize only when the shape differs (the shape array
  // lives inside xarray's small-vector storage, so a same-shape batch allocates nothing).
  if (x.dimension() != 2 || x.shape()[0] != b || x.shape()[1] != features) {
    x.resize(std::array<std::size_t, 2>{b, features});
  }
  y.resize(b);
  return b;
}

void DataLoader::prefetch_rows(std::size_t i, std::size_t begin, std::size_t end) const {
  const std::size_t first = i * batch_size_ + shard_of_batch(i).first;
  for (std::size_t r = begin; r < end; ++r) prefetch_item(order_[first + r], Soon::Later);
}

void DataLoader::prefetch_batch(std::size_t i) const {
  if (i >= num_batches()) return;
  const auto [begin, end] = shard_of_batch(i);
  prefetch_rows(i, 0, end - begin);
}

std::size_t DataLoader::batch(std::size_t i, Array& x, std::vector<std::uint32_t>& y, bool prefetch_next) {
  const std::size_t b = shape_batch(i, x, y);
  const std::size_t first = i * batch_size_ + shard_of_batch(i).first;
  const std::size_t features = set_->features();

  // Rows in contiguous ranges on the pool's threads, thread t's share being rows
  // thread_slice(b, t, threads) (parallel_pieces, core/parallel.hpp): each core then
  // holds the rows it wrote, and the first GEMM, which reads every row on every
  // core, finds half of them local on each instead of all on the calling thread's
  // core. A row's values never depend on the thread.
  const float* scale = scale_.data();
  const float* shift = shift_.data();
  const bool augment = set_->is_image() && augment_.any();
  const int threads = pass_threads(static_cast<long long>(b), b * features);
  const std::size_t scratch_rows = std::size_t(pass_pieces(threads));  // one per piece
  if (augment && augmented_.size() < scratch_rows * features) augmented_.resize(scratch_rows * features);
  // This rank's rows of the next batch (none after the last batch, none without
  // prefetch_next), prefetched below.
  std::size_t next_rows = 0;
  if (prefetch_next && i + 1 < num_batches()) {
    const auto [next_begin, next_end] = shard_of_batch(i + 1);
    next_rows = next_end - next_begin;
  }
  parallel_pieces(threads, [&](int piece, int pieces) {
    const auto [begin, end] = thread_slice(b, piece, pieces);
    for (std::size_t r = begin; r < end; ++r) {
      const std::size_t item = order_[first + r];
      // The rows are shuffled, so each lies somewhere in a data set far larger than
      // the caches and the hardware prefetcher cannot guess the next one: ask for
      // the next row's cache lines now, while this row is converted (a hint only,
      // it changes no value; without it the copy waits on memory for every row).
      if (r + 1 < b) prefetch_item(order_[first + r + 1], Soon::Next);
      float* out = x.data() + r * features;
      if (set_->is_image()) {
        const std::uint8_t* pixels = set_->pixels.data() + item * features;
        if (augment) {
          std::uint8_t* scratch = augmented_.data() + std::size_t(piece) * features;
          const AugmentDraw draw = draw_augment(augment_, augment_key(seed_, epoch_, item));
          augment_image(pixels, set_->channels(), set_->rows(), set_->cols(), augment_, draw, scratch);
          pixels = scratch;
        }
        for (std::size_t j = 0; j < features; ++j) out[j] = float(pixels[j]) * scale[j] + shift[j];
      } else {
        const float* values = set_->values.data() + item * features;
        for (std::size_t j = 0; j < features; ++j) out[j] = values[j] * scale[j] + shift[j];
      }
      y[r] = set_->labels[item];
    }
    // The next batch's rows are fetched from memory while this step computes (about
    // a millisecond): without this, the copy above waits on memory for most rows.
    // Each piece fetches the rows that the same piece of the next batch converts,
    // into the caches of the core that will most likely convert them (a hint only).
    const auto [next_begin, next_end] = thread_slice(next_rows, piece, pieces);
    if (next_begin < next_end) prefetch_rows(i + 1, next_begin, next_end);
  });
  return b;
}

}  // namespace xg
