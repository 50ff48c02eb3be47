#pragma once
// Image files, for `xgrad predict` and image-folder data sets: PGM (P2 text and
// P5 binary, maxval up to 65535, our own reader), PNG through libpng (every
// colour type and bit depth: grey, RGB, palette, grey + alpha, RGBA, 1 to 16
// bits, interlaced or not) and JPEG through libjpeg-turbo (grey and YCbCr
// photos, baseline or progressive; CMYK is refused). The format is detected by
// content, not by name.
//
// Read as grey (one channel) or RGB (three). A colour pixel becomes grey by its
// luma, ITU-R BT.601's 0.299 R + 0.587 G + 0.114 B; a grey pixel read as RGB
// repeats its level in all three. A transparent pixel is composited over white
// (v = a·v + (1 − a)·255, for each channel), as a viewer shows it on a white page.
//
// Files are untrusted: the size in the header is read and checked first
// (image_size: at most kMaxImageSide a side and kMaxImagePixels in all, and a
// caller can compare it with the size it needs before any pixel is decoded);
// a PNG must also be long enough to hold that many pixels at deflate's best
// ratio before the pixel buffer is allocated, and libjpeg's working memory is
// capped (kMaxJpegWorkingBytes). Truncated or corrupt data is an error, not a
// grey patch. Errors are InputErrors naming the file; the libraries' errors
// (which they report by longjmp) are caught at the call that raised them,
// without skipping a destructor, and everything they allocated is freed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xg {

// A decoded image: `channels` planes (1: grey, 3: R, G, B) of rows x cols
// bytes, 0 = black, 255 = white, plane after plane (CHW, as a CNN takes it).
struct Image {
  std::size_t channels = 1, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // channels*rows*cols
};
using GreyImage = Image;  // an Image of one channel

// Limits on what a header may declare (the pixel limit keeps the samples of a
// 16-bit RGBA PNG, 8 bytes a pixel, to 128 MiB while it is decoded) and on the file itself.
constexpr std::size_t kMaxImageSide = 16384;
constexpr std::uint64_t kMaxImagePixels = std::uint64_t(1) << 24;  // e.g. 4096 x 4096
constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t(256) << 20;
// libjpeg's own buffers (a progressive JPEG keeps every coefficient of the
// image: 2 bytes a sample, so up to 96 MiB for a 4096x4096 colour photo).
constexpr std::size_t kMaxJpegWorkingBytes = std::size_t(192) << 20;

// The bytes of an image file, after checking that it is a regular file of at
// most kMaxImageFileBytes.
std::string read_image_file(const std::string& path);

// The size a PGM, PNG or JPEG header declares, within the limits above; no
// pixel is decoded. `source` names the file in errors.
struct ImageSize {
  std::size_t rows = 0, cols = 0;
};
ImageSize image_size(const std::string& bytes, const std::string& source);

// Decodes a PGM, PNG or JPEG file's bytes into `channels` (1 or 3) channels.
Image decode_image(const std::string& bytes, const std::string& source, std::size_t channels);
// decode_image with one channel.
GreyImage decode_grey_image(const std::string& bytes, const std::string& source);
// read_image_file, then decode_image / decode_grey_image.
Image read_image(const std::string& path, std::size_t channels);
GreyImage read_grey_image(const std::string& path);

// The polarity of a drawing against the images a model was trained on: the
// image's background is taken as the mean of its outermost ring of pixels (a
// drawing's subject rarely touches every edge; of every channel), light when above 127.5; the
// training images' background is taken as dark when their mean brightness
// `training_mean` (in [0, 1], the model's normalisation mean; of a colour model, the mean of its channels' means) is below 0.5, as
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

// Bilinear resize of each channel to rows x cols, pixel centres aligned
// (align_corners = false, as PIL and torch do); area-averaging, which
// shrinking by more than 2x would need to avoid aliasing, is not attempted:
// for MNIST-size targets this is enough.
Image resize_image(const Image& image, std::size_t rows, std::size_t cols);

}  // namespace xg
