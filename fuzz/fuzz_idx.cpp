// libFuzzer target: IdxReader on arbitrary bytes (raw or gzip: the reader
// decides by content): the header, then the data. Any InputError is a correct refusal; a crash, a
// sanitizer report, a leak or a huge allocation is a bug.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>
#include <unistd.h>

#include "core/error.hpp"
#include "datasets/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // read_idx takes a path, so the input goes to a per-process scratch file.
  static const std::string path = "/tmp/xgrad-fuzz-idx-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    // The header alone first (as load_image_dataset reads it), then the data.
    xg::IdxReader reader(path);
    std::uint64_t n = 1;
    for (std::uint32_t d : reader.dims()) n *= d;
    if (n != reader.data_bytes() || n > xg::kMaxIdxBytes) __builtin_trap();
    // A raw file must hold exactly what its header promises, checked already.
    const std::vector<std::uint8_t> bytes = reader.read_data();
    if (bytes.size() != n) __builtin_trap();  // the reader's own promise
  } catch (const xg::InputError&) {
  }
  return 0;
}
