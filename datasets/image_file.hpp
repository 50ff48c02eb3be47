#pragma once
// Single grey-scale images for `xgrad predict`: PGM (P2 text and P5 binary,
// maxval up to 65535) and PNG (grey, grey+alpha, 8 or 16 bits, not
// interlaced; the alpha channel is ignored), decoded with zlib.
//
// Files are untrusted: the declared size is bounded (at most 16384 x 16384)
// and checked against what the file can hold before anything is allocated,
// every chunk length and every read is checked, and inflated data must have
// exactly the size the header implies. Errors are InputErrors naming the file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

struct GreyImage {
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // rows*cols, row-major, 0 = black, 255 = white
};

constexpr std::size_t kMaxImageSide = 16384;

// Reads a .pgm or .png file (detected by content, not by name).
GreyImage read_grey_image(const std::string& path);
// The same from bytes in memory; `source` names the file in errors.
GreyImage decode_grey_image(const std::string& bytes, const std::string& source);

// Bilinear resize to rows x cols (area-averaging when shrinking by more than 2x
// would alias badly is not attempted: for MNIST-size targets this is enough).
GreyImage resize_image(const GreyImage& image, std::size_t rows, std::size_t cols);

}  // namespace xg
