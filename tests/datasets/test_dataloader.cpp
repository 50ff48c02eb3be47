// DataLoader: batch sizes, per-epoch order (reproducible from (seed, epoch)
// alone), normalisation (per channel for RGB images), and buffer reuse; and
// compute_normalization (datasets/dataset.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "datasets/augment.hpp"
#include "datasets/dataloader.hpp"
#include "datasets/image_folder.hpp"
#include "tests/support/files.hpp"
#include "tests/support/image_files.hpp"
#include "tests/support/threads.hpp"

namespace {

// count items of rows x cols; item i has label i (count <= 256) and pixel j
// equal to (3*i + j) % 256, so a row of x identifies its item.
xg::Split numbered_set(std::size_t count, std::size_t rows = 2, std::size_t cols = 3) {
  xg::Split set;
  set.count = count;
  set.shape = {rows, cols};
  for (std::size_t i = 0; i < count; ++i) {
    set.labels.push_back(std::uint8_t(i));
    for (std::size_t j = 0; j < rows * cols; ++j) set.pixels.push_back(std::uint8_t((3 * i + j) % 256));
  }
  return set;
}

// The labels (= item numbers) of one epoch, batch after batch.
std::vector<std::uint32_t> epoch_items(xg::DataLoader& loader, std::size_t epoch) {
  loader.start_epoch(epoch);
  std::vector<std::uint32_t> items, y;
  xg::Array x;
  for (std::size_t i = 0; i < loader.num_batches(); ++i) {
    loader.batch(i, x, y);
    items.insert(items.end(), y.begin(), y.end());
  }
  return items;
}

std::vector<std::uint32_t> iota(std::size_t n) {
  std::vector<std::uint32_t> v(n);
  std::iota(v.begin(), v.end(), 0u);
  return v;
}

}  // namespace

TEST_CASE("DataLoader: batch count and a partial final batch") {
  const xg::Split set = numbered_set(10);
  xg::DataLoader loader(set, 4, false, 0, {});
  CHECK(loader.size() == 10);
  CHECK(loader.num_batches() == 3);

  xg::Array x;
  std::vector<std::uint32_t> y;
  CHECK(loader.batch(0, x, y) == 4);
  CHECK(x.shape() == xg::Array::shape_type{4, 6});
  CHECK(loader.batch(2, x, y) == 2);
  CHECK(x.shape() == xg::Array::shape_type{2, 6});
  CHECK(y == std::vector<std::uint32_t>{8, 9});
  CHECK_THROWS_AS(loader.batch(3, x, y), std::out_of_range);

  xg::DataLoader exact(set, 5, true, 0, {});
  CHECK(exact.num_batches() == 2);
  xg::DataLoader one(set, 100, true, 0, {});
  CHECK(one.num_batches() == 1);
  CHECK(one.batch(0, x, y) == 10);

  CHECK_THROWS_AS(xg::DataLoader(set, 0, false, 0, {}), xg::InputError);
}

TEST_CASE("DataLoader: shape_batch sizes x and y as batch() would, and batch() then keeps their memory") {
  const xg::Split set = numbered_set(10);
  xg::DataLoader loader(set, 4, false, 0, {});
  xg::Array x;
  std::vector<std::uint32_t> y;
  CHECK(loader.shape_batch(2, x, y) == 2);
  CHECK(x.shape() == xg::Array::shape_type{2, 6});
  CHECK(y.size() == 2);
  const float* memory = x.data();
  CHECK(loader.batch(2, x, y) == 2);
  CHECK(x.data() == memory);  // batch() on another thread allocates nothing (the training loop's background copy)
  CHECK(y == std::vector<std::uint32_t>{8, 9});
  CHECK(loader.shape_batch(0, x, y) == 4);
  CHECK(x.shape() == xg::Array::shape_type{4, 6});
  CHECK_THROWS_AS(loader.shape_batch(3, x, y), std::out_of_range);
}

TEST_CASE("DataLoader: prefetching is a hint: the same batches with or without it, nothing past the end") {
  const xg::Split set = numbered_set(10);
  xg::DataLoader with(set, 4, true, 7, {}), without(set, 4, true, 7, {});
  xg::Array xa, xb;
  std::vector<std::uint32_t> ya, yb;
  for (std::size_t i = 0; i < with.num_batches(); ++i) {
    CAPTURE(i);
    without.prefetch_batch(i + 1);  // the last one asks for batch 3 of 3: nothing
    CHECK(with.batch(i, xa, ya) == without.batch(i, xb, yb, false));
    CHECK(ya == yb);
    CHECK(std::memcmp(xa.data(), xb.data(), xa.size() * sizeof(float)) == 0);
  }
  without.prefetch_batch(100);  // far past the end: still nothing
}

TEST_CASE("DataLoader: no shuffle gives the identity order every epoch") {
  const xg::Split set = numbered_set(11);
  xg::DataLoader loader(set, 3, false, 42, {});
  CHECK(epoch_items(loader, 0) == iota(11));
  CHECK(epoch_items(loader, 5) == iota(11));
}

TEST_CASE("DataLoader: shuffled epochs visit every item exactly once") {
  const xg::Split set = numbered_set(100);
  xg::DataLoader loader(set, 7, true, 1, {});
  for (std::size_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::uint32_t> items = epoch_items(loader, epoch);
    CHECK(items != iota(100));  // 100! orders: the identity would mean no shuffle
    std::sort(items.begin(), items.end());
    CHECK(items == iota(100));
  }
}

TEST_CASE("DataLoader: the order depends on (seed, epoch) only") {
  const xg::Split set = numbered_set(50);
  xg::DataLoader resumed(set, 8, true, 7, {});
  const std::vector<std::uint32_t> epoch3_direct = epoch_items(resumed, 3);

  xg::DataLoader full_run(set, 8, true, 7, {});
  std::vector<std::uint32_t> epoch3_after_others;
  for (std::size_t epoch = 0; epoch <= 3; ++epoch) epoch3_after_others = epoch_items(full_run, epoch);
  CHECK(epoch3_direct == epoch3_after_others);
  CHECK(epoch_items(full_run, 3) == epoch3_direct);  // again, after epoch 3 itself

  CHECK(epoch_items(full_run, 4) != epoch3_direct);
  CHECK(epoch_items(full_run, 0) != epoch_items(full_run, 1));
  xg::DataLoader other_seed(set, 8, true, 8, {});
  CHECK(epoch_items(other_seed, 3) != epoch3_direct);
}

TEST_CASE("DataLoader: pixels are scaled to [0,1] then normalised") {
  const xg::Split set = numbered_set(5);
  const xg::Normalization norm{{0.5f}, {0.25f}};
  xg::DataLoader loader(set, 2, true, 3, norm);
  xg::Array x;
  std::vector<std::uint32_t> y;
  for (std::size_t i = 0; i < loader.num_batches(); ++i) {
    const std::size_t b = loader.batch(i, x, y);
    for (std::size_t r = 0; r < b; ++r) {
      for (std::size_t j = 0; j < set.features(); ++j) {
        const float pixel = set.pixels[y[r] * set.features() + j];
        CHECK(x(r, j) == doctest::Approx((pixel / 255.0f - 0.5f) / 0.25f).epsilon(1e-6));
      }
    }
  }

  xg::Split extremes = numbered_set(1, 1, 2);
  extremes.pixels = {0, 255};
  xg::DataLoader edge(extremes, 1, false, 0, norm);
  edge.batch(0, x, y);
  CHECK(x(0, 0) == doctest::Approx(-2.0f));
  CHECK(x(0, 1) == doctest::Approx(2.0f));

  xg::DataLoader plain(extremes, 1, false, 0, {});  // default: mean 0, std 1, so x = pixel/255
  plain.batch(0, x, y);
  CHECK(x(0, 0) == 0.0f);
  CHECK(x(0, 1) == doctest::Approx(1.0f));

  CHECK_THROWS_AS(xg::DataLoader(extremes, 1, false, 0, xg::Normalization{{0.0f}, {0.0f}}), xg::InputError);
  // A grey image has one mean and std for every pixel, not one per pixel.
  CHECK_THROWS_WITH_AS(xg::DataLoader(extremes, 1, false, 0, xg::Normalization{{0.0f, 0.0f}, {1.0f, 1.0f}}),
                       doctest::Contains("2 means and 2 stds for 1x2 images (expected 1 of each: one per channel)"),
                       xg::InputError);
}

TEST_CASE("DataLoader: table rows are standardised per feature") {
  xg::Split table;
  table.count = 3;
  table.shape = {2};
  table.values = {1.0f, 100.0f, 2.0f, 300.0f, 3.0f, -50.0f};
  table.labels = {0, 1, 2};
  const xg::Normalization norm{{2.0f, 100.0f}, {0.5f, 200.0f}};
  xg::DataLoader loader(table, 3, false, 0, norm);
  xg::Array x;
  std::vector<std::uint32_t> y;
  loader.batch(0, x, y);
  for (std::size_t r = 0; r < 3; ++r) {
    CHECK(x(r, 0) == doctest::Approx((table.values[r * 2] - 2.0f) / 0.5f));
    CHECK(x(r, 1) == doctest::Approx((table.values[r * 2 + 1] - 100.0f) / 200.0f));
  }
  CHECK(y == std::vector<std::uint32_t>{0, 1, 2});
  // No normalisation given: the default single mean/std does not fit 2 features.
  CHECK_THROWS_WITH_AS(xg::DataLoader(table, 1, false, 0, {}),
                       doctest::Contains("for 2 features (expected 2 of each: one per column)"), xg::InputError);
  CHECK_THROWS_AS(xg::DataLoader(table, 1, false, 0, xg::Normalization{{0.0f, 0.0f}, {1.0f, -1.0f}}), xg::InputError);
}

TEST_CASE("compute_normalization: one mean and std for images, one per feature for tables") {
  xg::Split image = numbered_set(1, 1, 2);
  image.pixels = {0, 255};
  const xg::Normalization pixels = xg::compute_normalization(image);
  CHECK(pixels.mean == std::vector<float>{0.5f});
  CHECK(pixels.std == std::vector<float>{0.5f});
  xg::Split table;
  table.count = 2;
  table.shape = {3};
  table.values = {1.0f, 10.0f, 7.0f, 3.0f, 30.0f, 7.0f};
  table.labels = {0, 1};
  const xg::Normalization columns = xg::compute_normalization(table);
  CHECK(columns.mean == std::vector<float>{2.0f, 20.0f, 7.0f});
  CHECK(columns.std == std::vector<float>{1.0f, 10.0f, 1.0f});  // the constant third column keeps std 1
}

TEST_CASE("compute_normalization and DataLoader: RGB images have a mean and std per channel, applied to that channel") {
  xg::testing::TempDir dir;
  xg::testing::write_rgb_image_folder(dir.file("train"), 2, 4);  // 8 RGB images of 8x8
  xg::testing::write_rgb_image_folder(dir.file("test"), 2, 2);
  xg::ImageFolderOptions rgb;
  rgb.channels = 3;
  const xg::Dataset data = xg::load_image_folder(dir.path(), rgb);
  const xg::Split& train = data.train;
  REQUIRE(train.shape == std::vector<std::size_t>{3, 8, 8});
  // Red is 255 everywhere: mean 1, and a constant keeps std 1. Green is 255 on
  // one row of 8: mean 1/8, std sqrt(1/8 * 7/8). Blue is 255 in half the images.
  const xg::Normalization norm = xg::compute_normalization(train);
  CHECK(norm.mean == std::vector<float>{1.0f, 0.125f, 0.5f});
  CHECK(norm.std == std::vector<float>{1.0f, float(std::sqrt(0.125 * 0.875)), 0.5f});

  // Each pixel of channel c becomes (p/255 - mean_c)/std_c: red 0; green
  // sqrt(7) on the bar, -1/sqrt(7) off it; blue +1 or -1.
  xg::DataLoader loader(train, train.count, false, 0, norm);
  xg::Array x;
  std::vector<std::uint32_t> y;
  REQUIRE(loader.batch(0, x, y) == train.count);
  const std::size_t plane = 64;
  for (std::size_t i = 0; i < train.count; ++i) {
    CAPTURE(i);
    for (std::size_t p = 0; p < plane; ++p) {
      CHECK(x(i, p) == doctest::Approx(0.0).epsilon(1e-6).scale(1));
      const bool bar = train.pixels[i * 3 * plane + plane + p] == 255;
      CHECK(x(i, plane + p) == doctest::Approx(bar ? std::sqrt(7.0) : -1.0 / std::sqrt(7.0)).epsilon(1e-6));
      const bool blue = train.pixels[i * 3 * plane + 2 * plane + p] == 255;
      CHECK(x(i, 2 * plane + p) == doctest::Approx(blue ? 1.0 : -1.0).epsilon(1e-6));
    }
  }
  CHECK(x(0, plane + 0) == doctest::Approx(std::sqrt(7.0)).epsilon(1e-6));  // class c0's bar is row 0
  CHECK(x(0, 2 * plane) == doctest::Approx(1.0).epsilon(1e-6));             // c0/0.png is blue
  CHECK(x(1, 2 * plane) == doctest::Approx(-1.0).epsilon(1e-6));            // c0/1.png is not

  // One mean and std for three channels is refused, naming what it expects.
  CHECK_THROWS_WITH_AS(xg::DataLoader(train, 1, false, 0, xg::Normalization{}),
                       doctest::Contains("1 means and 1 stds for 8x8 RGB images (expected 3 of each: one per channel)"),
                       xg::InputError);
}

TEST_CASE("compute_normalization: each channel's statistics come from its own plane of every item") {
  xg::Split set;  // 2 items of 3 channels of 1x2 pixels, CHW
  set.count = 2;
  set.shape = {3, 1, 2};
  set.pixels = {0, 255, 51, 51, 255, 255,  // item 0: channel 0, 1, 2
                0, 255, 102, 102, 0, 255};  // item 1
  set.labels = {0, 1};
  const xg::Normalization norm = xg::compute_normalization(set);
  CHECK(norm.mean == std::vector<float>{0.5f, float((0.2 + 0.2 + 0.4 + 0.4) / 4), 0.75f});
  CHECK(norm.std[0] == 0.5f);
  CHECK(norm.std[1] == float(std::sqrt(0.01)));
  CHECK(norm.std[2] == float(std::sqrt(0.75 * 0.25)));
}

TEST_CASE("compute_normalization: the counts behind mean and std cover every pixel of an odd-sized plane") {
  // 5x7 planes (35 pixels: not a multiple of the 4 partial histograms), 2 channels,
  // random values: the result is the plain two-pass mean and std of each channel.
  xg::Split set;
  set.count = 9;
  set.shape = {2, 5, 7};
  set.labels.assign(set.count, 0);
  std::mt19937 rng(5);
  for (std::size_t i = 0; i < set.count * 2 * 35; ++i) set.pixels.push_back(std::uint8_t(rng() % 7 == 0 ? 0 : rng()));
  const xg::Normalization norm = xg::compute_normalization(set);
  for (std::size_t c = 0; c < 2; ++c) {
    CAPTURE(c);
    double sum = 0.0, squares = 0.0;
    for (std::size_t i = 0; i < set.count; ++i)
      for (std::size_t p = 0; p < 35; ++p) sum += set.pixels[(i * 2 + c) * 35 + p] / 255.0;
    const double mean = sum / double(set.count * 35);
    for (std::size_t i = 0; i < set.count; ++i)
      for (std::size_t p = 0; p < 35; ++p) squares += std::pow(set.pixels[(i * 2 + c) * 35 + p] / 255.0 - mean, 2);
    CHECK(norm.mean[c] == doctest::Approx(mean).epsilon(1e-6));
    CHECK(norm.std[c] == doctest::Approx(std::sqrt(squares / double(set.count * 35))).epsilon(1e-6));
  }
}

TEST_CASE("DataLoader: full batches reuse the caller's buffers") {
  const xg::Split set = numbered_set(64);
  xg::DataLoader loader(set, 16, true, 0, {});
  xg::Array x;
  std::vector<std::uint32_t> y;
  loader.batch(0, x, y);
  const float* x_data = x.data();
  const std::uint32_t* y_data = y.data();
  for (std::size_t epoch = 1; epoch < 3; ++epoch) {
    loader.start_epoch(epoch);
    for (std::size_t i = 0; i < loader.num_batches(); ++i) {
      loader.batch(i, x, y);
      CHECK(x.data() == x_data);
      CHECK(y.data() == y_data);
    }
  }
}

TEST_CASE("DataLoader: a batch has the same bits at any thread count, with and without --augment") {
  // 28x28 images in batches of 64: enough values for the rows to be cut across threads.
  const xg::Split set = numbered_set(200, 28, 28);
  for (const std::string spec : {"", "shift=2,flip"}) {
    CAPTURE(spec);
    auto epoch_values = [&](int threads) {
      const xg::testing::ScopedThreads scope(threads);
      xg::DataLoader loader(set, 64, true, 3, {{0.25f}, {0.5f}});
      loader.set_augment(xg::parse_augment(spec));
      loader.start_epoch(1);
      std::vector<float> values;
      std::vector<std::uint32_t> labels, y;
      xg::Array x;
      for (std::size_t i = 0; i < loader.num_batches(); ++i) {
        loader.batch(i, x, y);
        values.insert(values.end(), x.data(), x.data() + x.size());
        labels.insert(labels.end(), y.begin(), y.end());
      }
      return std::make_pair(values, labels);
    };
    const auto one = epoch_values(1);
    REQUIRE(one.first.size() == 200 * 784);
    for (const int threads : {2, 3}) {
      CAPTURE(threads);
      const auto many = epoch_values(threads);
      CHECK(many.second == one.second);
      CHECK(std::memcmp(many.first.data(), one.first.data(), one.first.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("shard_range: contiguous shards, the remainder to the lowest") {
  CHECK(xg::shard_range(10, 0, 3) == std::pair<std::size_t, std::size_t>{0, 4});
  CHECK(xg::shard_range(10, 1, 3) == std::pair<std::size_t, std::size_t>{4, 7});
  CHECK(xg::shard_range(10, 2, 3) == std::pair<std::size_t, std::size_t>{7, 10});
  CHECK(xg::shard_range(2, 2, 3) == std::pair<std::size_t, std::size_t>{2, 2});  // fewer items than shards: empty
  CHECK(xg::shard_range(7, 0, 1) == std::pair<std::size_t, std::size_t>{0, 7});
}

TEST_CASE("DataLoader: the shards of a batch are, in rank order, the batch itself") {
  const xg::Split set = numbered_set(50);
  const xg::Normalization norm{{0.0f}, {1.0f}};
  xg::DataLoader whole(set, 16, true, 3, norm);
  whole.start_epoch(2);
  for (std::size_t ranks : {2, 3, 5}) {
    std::vector<xg::DataLoader> shards;
    for (std::size_t r = 0; r < ranks; ++r) {
      shards.emplace_back(set, 16, true, 3, norm);
      shards.back().set_shard(r, ranks);
      shards.back().start_epoch(2);
    }
    for (std::size_t i = 0; i < whole.num_batches(); ++i) {
      xg::Array x;
      std::vector<std::uint32_t> expected, joined, y;
      whole.batch(i, x, expected);
      for (xg::DataLoader& shard : shards) {
        CHECK(shard.num_batches() == whole.num_batches());
        CHECK(shard.batch_rows(i) == expected.size());
        const std::size_t rows = shard.batch(i, x, y);
        CHECK(rows == y.size());
        joined.insert(joined.end(), y.begin(), y.end());
      }
      CHECK(joined == expected);  // the last batch (2 items) leaves 5 ranks 3 empty shards
    }
  }
  CHECK_THROWS(whole.set_shard(3, 3));
}
