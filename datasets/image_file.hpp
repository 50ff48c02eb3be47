#pragma once
// Single images for `xgrad predict`, read as grey levels: PGM (P2 text and
// P5 binary, maxval up to 65535) and PNG (grey, RGB, grey + alpha and RGBA of
// 8 or 16 bits, 8-bit palette images; not interlaced), decoded with zlib.
// A colour pixel becomes its luma, ITU-R BT.601's 0.299 R + 0.587 G + 0.114 B;
// a transparent one is composited over white (grey = a·luma + (1 − a)·255),
// as a viewer shows it on a white page.
//
// Files are untrusted: the size in the header is read and checked first
// (image_size: at most kMaxImageSide a side and kMaxImagePixels in all, and a
// caller can compare it with the size it needs before any pixel is decoded),
// then checked against what the file can hold before anything is allocated;
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

// Limits on what a header may declare (the pixel limit keeps the samples of a
// 16-bit RGBA PNG, 8 bytes a pixel, to 128 MiB while it is decoded) and on the file itself.
constexpr std::size_t kMaxImageSide = 16384;
constexpr std::uint64_t kMaxImagePixels = std::uint64_t(1) << 24;  // e.g. 4096 x 4096
constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t(256) << 20;

// The bytes of an image file, after checking that it is a regular file of at
// most kMaxImageFileBytes.
std::string read_image_file(const std::string& path);

// The size a PGM or PNG header declares, within the limits above; no pixel is
// decoded. `source` names the file in errors.
struct ImageSize {
  std::size_t rows = 0, cols = 0;
};
ImageSize image_size(const std::string& bytes, const std::string& source);

// Decodes a .pgm or .png file's bytes (detected by content, not by name).
GreyImage decode_grey_image(const std::string& bytes, const std::string& source);
// read_image_file, then decode_grey_image.
GreyImage read_grey_image(const std::string& path);

// The polarity of a drawing against the images a model was trained on: the
// image's background is taken as the mean of its outermost ring of pixels (a
// drawing's subject rarely touches every edge), light when above 127.5; the
// training images' background is taken as dark when their mean brightness
// `training_mean` (in [0, 1], the model's normalisation mean) is below 0.5, as
// for MNIST (0.13) and Fashion-MNIST (0.29). Inverted when the two differ.
struct Polarity {
  double border_mean = 0.0;  // 0..255
  bool light_background = false;
  bool training_light_background = false;
  bool inverted() const { return light_background != training_light_background; }
};
Polarity image_polarity(const GreyImage& image, double training_mean);

// 255 - pixel, each pixel: white on black becomes black on white.
void invert_image(GreyImage& image);

// Bilinear resize to rows x cols (area-averaging when shrinking by more than 2x
// would alias badly is not attempted: for MNIST-size targets this is enough).
GreyImage resize_image(const GreyImage& image, std::size_t rows, std::size_t cols);

}  // namespace xg
