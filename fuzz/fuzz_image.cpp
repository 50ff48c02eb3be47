// libFuzzer target: the PGM/PNG/JPEG header reader and decoder (our PGM
// reader, libpng, libjpeg-turbo and the longjmp error handling around them) on
// arbitrary bytes, read as grey and as RGB (they must agree on the size), then a
// resize of what was decoded. An InputError is a correct refusal; anything else is a bug.
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "datasets/image_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // The header alone (what predict checks before decoding), then the whole image.
  xg::ImageSize declared;
  bool header_ok = true;
  try {
    declared = xg::image_size(bytes, "fuzz.png");
    if (declared.rows * declared.cols > xg::kMaxImagePixels || declared.rows > xg::kMaxImageSide ||
        declared.cols > xg::kMaxImageSide) {
      __builtin_trap();
    }
  } catch (const xg::InputError&) {
    header_ok = false;
  }
  try {
    const xg::GreyImage image = xg::decode_grey_image(bytes, "fuzz.png");
    if (!header_ok) __builtin_trap();  // an image whose header is refused cannot decode
    if (image.rows != declared.rows || image.cols != declared.cols) __builtin_trap();
    if (image.pixels.size() != image.rows * image.cols) __builtin_trap();
    const xg::GreyImage small = xg::resize_image(image, 7, 5);
    if (small.pixels.size() != 35) __builtin_trap();
    // What decodes as grey decodes as RGB too, at the same size.
    const xg::Image colour = xg::decode_image(bytes, "fuzz.png", 3);
    if (colour.channels != 3 || colour.rows != image.rows || colour.cols != image.cols) __builtin_trap();
    if (colour.pixels.size() != 3 * image.rows * image.cols) __builtin_trap();
  } catch (const xg::InputError&) {
  }
  return 0;
}
