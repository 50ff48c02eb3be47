// libFuzzer target: the safetensors decoder on arbitrary bytes. An InputError
// is a correct refusal; a crash, a sanitizer report or a huge allocation is a bug.
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const xg::Safetensors file = xg::decode_safetensors(bytes, "fuzz.safetensors");
    // A decoded file must encode back to a file that decodes to the same tensors.
    std::vector<std::pair<std::string, const xg::Array*>> tensors;
    for (const auto& [name, array] : file.tensors) tensors.emplace_back(name, &array);
    const xg::Safetensors again = xg::decode_safetensors(xg::encode_safetensors(tensors, file.metadata), "re-encoded");
    if (again.tensors.size() != file.tensors.size() || again.metadata != file.metadata) __builtin_trap();
  } catch (const xg::InputError&) {
  }
  return 0;
}
