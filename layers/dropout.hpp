#pragma once
#include <cstdint>

#include "core/random.hpp"
#include "layers/module.hpp"

namespace xg {

// Inverted dropout (torch.nn.Dropout): in training mode each element is zeroed
// with probability p and the others are scaled by 1/(1-p); in eval() mode it is
// the identity. The masks come from the module's own Rng, seeded at
// construction, so a run repeats exactly for a given seed.
class Dropout : public Module {
 public:
  explicit Dropout(float p, std::uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  float p() const { return p_; }
  // Data-parallel training (train/distributed.hpp): this process sees rows
  // of a larger batch; each forward skips the draws of the `before` rows
  // ahead of its own and the `after` rows behind them, so its masks are the
  // ones a single process draws for the same rows.
  void set_shard(std::size_t before, std::size_t after) { before_ = before, after_ = after; }

 private:
  float p_;
  Rng rng_;
  std::size_t before_ = 0, after_ = 0;
};

}  // namespace xg
