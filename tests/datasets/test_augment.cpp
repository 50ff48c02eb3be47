// datasets/augment: the --augment spec, the draws (a function of seed, epoch
// and item alone), the flip and shift themselves, and the DataLoader applying
// them to its batches.
#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "datasets/augment.hpp"
#include "datasets/dataloader.hpp"

using namespace xg;

TEST_CASE("augment: the spec is parsed and range-checked, with one message naming the bad item") {
  const Augment a = parse_augment("shift=2,flip");
  CHECK(a.shift == 2);
  CHECK(a.flip);
  CHECK(!a.edge_fill);
  CHECK(parse_augment("flip,shift=3,fill=edge").edge_fill);
  CHECK(!parse_augment("").any());
  CHECK(parse_augment("flip").shift == 0);
  CHECK_THROWS_WITH_AS(parse_augment("shift=2,flop"),
                       "--augment 'shift=2,flop': 'flop' is not an augmentation; expected shift=N (1..64), fill=zero|edge "
                       "and/or flip, comma separated, e.g. shift=2,flip",
                       InputError);
  for (const char* bad : {"shift=0", "shift=65", "shift=-1", "shift=", "shift=2x", "shift=1,shift=2", "flip,flip", "flip,",
                          ",flip", "fill=edge", "shift=2,fill=mirror", "shift=99999999999999999999"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_augment(bad), InputError);
  }
}

TEST_CASE("augment: draws depend on (seed, epoch, item) alone and cover the range evenly") {
  const Augment a = parse_augment("shift=2,flip");
  std::vector<int> dx(5, 0), dy(5, 0);
  int flips = 0;
  for (std::size_t item = 0; item < 5000; ++item) {
    const AugmentDraw d = draw_augment(a, augment_key(1, 3, item));
    const AugmentDraw again = draw_augment(a, augment_key(1, 3, item));
    CHECK((d.dx == again.dx && d.dy == again.dy && d.flip == again.flip));
    REQUIRE(d.dx >= -2);
    REQUIRE(d.dx <= 2);
    REQUIRE(d.dy >= -2);
    REQUIRE(d.dy <= 2);
    ++dx[std::size_t(d.dx + 2)], ++dy[std::size_t(d.dy + 2)];
    flips += d.flip;
  }
  for (int k = 0; k < 5; ++k) {
    CHECK(dx[std::size_t(k)] > 850);  // 1000 expected each
    CHECK(dy[std::size_t(k)] > 850);
  }
  CHECK(flips > 2300);
  CHECK(flips < 2700);
  CHECK(augment_key(1, 3, 0) != augment_key(1, 4, 0));
  CHECK(augment_key(1, 3, 0) != augment_key(2, 3, 0));
}

TEST_CASE("augment: flip mirrors, shift translates with zero or edge fill, plane by plane") {
  // 2 channels of 2 x 3: plane 0 = 1..6, plane 1 = 11..16.
  const std::vector<std::uint8_t> src = {1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16};
  std::vector<std::uint8_t> dst(12);
  Augment a;
  a.flip = true;
  augment_image(src.data(), 2, 2, 3, a, {0, 0, true}, dst.data());
  CHECK(dst == std::vector<std::uint8_t>{3, 2, 1, 6, 5, 4, 13, 12, 11, 16, 15, 14});
  augment_image(src.data(), 2, 2, 3, a, {0, 0, false}, dst.data());
  CHECK(dst == src);
  a = parse_augment("shift=1");
  augment_image(src.data(), 2, 2, 3, a, {1, -1, false}, dst.data());  // down 1, left 1
  CHECK(dst == std::vector<std::uint8_t>{0, 0, 0, 2, 3, 0, 0, 0, 0, 12, 13, 0});
  a = parse_augment("shift=1,fill=edge");
  augment_image(src.data(), 2, 2, 3, a, {1, -1, false}, dst.data());
  CHECK(dst == std::vector<std::uint8_t>{2, 3, 3, 2, 3, 3, 12, 13, 13, 12, 13, 13});
  // Mirrored, then moved right by 1: dst[r][x] = src[r][2 - (x - 1)].
  a = parse_augment("shift=1,flip");
  augment_image(src.data(), 1, 2, 3, a, {0, 1, true}, dst.data());
  CHECK(std::vector<std::uint8_t>(dst.begin(), dst.begin() + 6) == std::vector<std::uint8_t>{0, 3, 2, 0, 6, 5});
}

TEST_CASE("augment: the DataLoader changes each image per epoch, the same at any batch size, and only when asked") {
  Split set;
  set.count = 40;
  set.shape = {5, 4};
  for (std::size_t i = 0; i < set.count; ++i) {
    set.labels.push_back(std::uint32_t(i));
    for (std::size_t j = 0; j < 20; ++j) set.pixels.push_back(std::uint8_t(10 + (7 * i + 3 * j) % 240));
  }
  const Normalization norm;  // x = pixel / 255
  // Each item's batch row, by item, for one epoch.
  auto rows_by_item = [&](std::size_t batch, const std::string& spec, std::size_t epoch) {
    DataLoader loader(set, batch, true, 5, norm);
    loader.set_augment(parse_augment(spec));
    loader.start_epoch(epoch);
    std::vector<std::vector<float>> rows(set.count);
    Array x;
    std::vector<std::uint32_t> y;
    for (std::size_t b = 0; b < loader.num_batches(); ++b) {
      const std::size_t n = loader.batch(b, x, y);
      for (std::size_t r = 0; r < n; ++r) rows[y[r]].assign(x.data() + r * 20, x.data() + (r + 1) * 20);
    }
    return rows;
  };
  const auto plain = rows_by_item(8, "", 1);
  const auto a = rows_by_item(8, "shift=1,flip", 1);
  CHECK(a == rows_by_item(3, "shift=1,flip", 1));  // another batch size: the same images
  CHECK(a != rows_by_item(8, "shift=1,flip", 2));  // another epoch: other draws
  std::size_t changed = 0;
  for (std::size_t i = 0; i < set.count; ++i) {
    changed += a[i] != plain[i];
    // Each augmented image is its item's image under its own draw.
    const AugmentDraw d = draw_augment(parse_augment("shift=1,flip"), augment_key(5, 1, i));
    std::vector<std::uint8_t> expected(20);
    augment_image(set.pixels.data() + i * 20, 1, 5, 4, parse_augment("shift=1,flip"), d, expected.data());
    std::vector<float> as_float(20);
    for (std::size_t j = 0; j < 20; ++j) as_float[j] = float(expected[j]) * (1.0f / 255.0f) + 0.0f;
    CHECK(a[i] == as_float);
  }
  CHECK(changed > 25);  // 1 in 18 draws is the identity
  // A table, or a shift as large as the image, is refused.
  DataLoader small(set, 8, true, 5, norm);
  CHECK_THROWS_WITH_AS(small.set_augment(parse_augment("shift=4")),
                       "--augment shift=4 must be smaller than the images' sides (5x4 images)", InputError);
  Split table;
  table.count = 1;
  table.shape = {3};
  table.values = {1, 2, 3};
  table.labels = {0};
  DataLoader rows(table, 1, false, 0, Normalization{{0, 0, 0}, {1, 1, 1}});
  CHECK_THROWS_AS(rows.set_augment(parse_augment("flip")), InputError);
}
