// layers/dropout: the Dropout module keeps a fraction 1-p scaled by 1/(1-p),
// draws its mask from its seed, and is the identity in eval mode.
#include <doctest/doctest.h>

#include <stdexcept>
#include <utility>

#include "layers/dropout.hpp"

using namespace xg;

TEST_CASE("Dropout keeps a fraction 1-p, scales by 1/(1-p), is seeded, and is the identity in eval()") {
  const float p = 0.3f;
  Tensor x(xt::ones<float>(Shape{200, 500}));
  Dropout drop(p, 5);
  Tensor y = drop(x);
  std::size_t kept = 0;
  for (float v : y.value()) {
    if (v != 0.0f) {
      ++kept;
      CHECK(v == doctest::Approx(1.0f / (1.0f - p)));
    }
  }
  const double fraction = double(kept) / double(x.size());
  CHECK(fraction == doctest::Approx(1.0 - p).epsilon(0.01).scale(0));  // within 0.007; 100k draws: σ ≈ 0.0015
  Dropout same(p, 5);
  CHECK(same(x).value() == y.value());
  drop.eval();
  Tensor z = drop(x);
  CHECK(z.node() == x.node());
  CHECK_THROWS_AS(Dropout(1.0f), std::invalid_argument);
}

TEST_CASE("Dropout with a shard draws the masks the whole batch gives those rows") {
  Tensor x(xt::ones<float>(Shape{10, 7}));
  for (auto [begin, end] : {std::pair<std::size_t, std::size_t>{0, 4}, {4, 7}, {7, 10}, {3, 3}}) {
    Dropout whole(0.4f, 9), shard(0.4f, 9);
    const Array all = whole(x).value();
    shard.set_shard(begin, 10 - end);
    Tensor rows(xt::ones<float>(Shape{end - begin, 7}));
    const Array mine = shard(rows).value();
    for (std::size_t r = begin; r < end; ++r)
      for (std::size_t c = 0; c < 7; ++c) CHECK(mine(r - begin, c) == all(r, c));
    // the next batch: again the whole batch's draws
    const Array next = whole(x).value(), next_mine = shard(rows).value();
    for (std::size_t r = begin; r < end; ++r)
      for (std::size_t c = 0; c < 7; ++c) CHECK(next_mine(r - begin, c) == next(r, c));
  }
}
