#pragma once
// Data augmentation of training images (`--augment`): each epoch, each
// training image is changed at random before it is normalised, so the model
// sees a slightly different picture every time:
//
//   shift=N    a translation by dx, dy, each uniform in [-N, N] pixels; the
//              pixels moved in are 0 (black, before normalisation, as
//              torchvision's RandomCrop(padding=N) fills them) or, with
//              fill=edge, copies of the nearest edge pixel
//   flip       a horizontal (left-right) mirror, with probability 1/2
//
// The draws of image i in epoch e depend on (seed, e, i) alone, through a
// hash (not a generator stream), so they are the same whatever the batch
// size, the thread count, the number of mpirun ranks or the epochs before.
// The DataLoader of the training split applies it (DataLoader::set_augment);
// test and validation images are never changed.
#include <cstddef>
#include <cstdint>
#include <string>

namespace xg {

constexpr std::size_t kMaxAugmentShift = 64;

struct Augment {
  std::size_t shift = 0;   // 0: no translation
  bool edge_fill = false;  // fill=edge instead of zeros
  bool flip = false;
  bool any() const { return shift > 0 || flip; }
};

// "shift=2,flip", "flip", "shift=3,fill=edge" (tokens in any order, each at
// most once); "" is no augmentation. Throws InputError naming --augment and
// the bad token.
Augment parse_augment(const std::string& spec);

// The random choices for one image: a shift (dy rows down, dx columns right)
// and whether to mirror it; `key` identifies (seed, epoch, item).
struct AugmentDraw {
  int dy = 0, dx = 0;
  bool flip = false;
};
AugmentDraw draw_augment(const Augment& augment, std::uint64_t key);

// dst = the image `src` (channels planes of rows x cols bytes) mirrored when
// draw.flip, then shifted by (draw.dy, draw.dx):
//   dst[c][r][x] = src[c][r - dy][s],  s = x - dx, or cols - 1 - (x - dx) when flipped,
// where a source pixel outside the image is 0, or the nearest edge pixel with edge fill.
void augment_image(const std::uint8_t* src, std::size_t channels, std::size_t rows, std::size_t cols, const Augment& augment,
                   const AugmentDraw& draw, std::uint8_t* dst);

// A well-mixed 64-bit key for (seed, epoch, item), for draw_augment.
std::uint64_t augment_key(std::uint64_t seed, std::size_t epoch, std::size_t item);

}  // namespace xg
