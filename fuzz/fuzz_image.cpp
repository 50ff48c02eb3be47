// libFuzzer target: the PGM/PNG decoder on arbitrary bytes, then a resize of
// what it decoded. An InputError is a correct refusal; anything else is a bug.
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "datasets/image_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const xg::GreyImage image = xg::decode_grey_image(bytes, "fuzz.png");
    if (image.pixels.size() != image.rows * image.cols) __builtin_trap();
    const xg::GreyImage small = xg::resize_image(image, 7, 5);
    if (small.pixels.size() != 35) __builtin_trap();
  } catch (const xg::InputError&) {
  }
  return 0;
}
