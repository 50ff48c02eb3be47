// libFuzzer target: the JSON documents of a checkpoint's metadata on arbitrary
// text, the first byte choosing which: even, a model file's "xgrad" document
// (parse_json, then model_info_from_json); odd, a .state file's "xgrad_state"
// document (training_state_from_text). An InputError is a correct refusal; a
// crash (a deep document overflowing the stack), a sanitizer report, or an
// accepted document that breaks the checks' promises is a bug.
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "io/checkpoint_metadata.hpp"
#include "io/json_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 1) {
      const xg::TrainingState s = xg::training_state_from_text(text, "fuzz.state");
      if (s.has_losses && s.monitored_losses.size() != s.epoch) __builtin_trap();
      for (double loss : s.monitored_losses)
        if (!std::isfinite(loss)) __builtin_trap();
      if (s.has_best_loss && !std::isfinite(s.best_test_loss)) __builtin_trap();
    } else {
      const xg::ModelInfo info = xg::model_info_from_json(xg::parse_json(text, "fuzz.safetensors: xgrad metadata"), "fuzz.safetensors");
      if (info.layers.size() < 2 || info.mean.size() != info.std.size()) __builtin_trap();
      for (std::size_t k = 0; k < info.std.size(); ++k)
        if (!(info.std[k] > 0.0f) || !std::isfinite(info.std[k]) || !std::isfinite(info.mean[k])) __builtin_trap();
      // An accepted document writes back to one that reads the same.
      const xg::ModelInfo again = xg::model_info_from_json(xg::model_info_json(info), "re-encoded");
      if (again.layers != info.layers || again.mean != info.mean || again.std != info.std || again.classes != info.classes ||
          again.config != info.config || again.epoch != info.epoch) {
        __builtin_trap();
      }
    }
  } catch (const xg::InputError&) {
  }
  return 0;
}
