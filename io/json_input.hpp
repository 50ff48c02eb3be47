#pragma once
// JSON read from files (a model's "xgrad" metadata, a .state file's
// "xgrad_state", a safetensors header, the metrics lines a state carries):
// one parser with a nesting limit, and typed reading of an object's fields.
// Both treat the text as hostile; every error is one InputError line that
// names the document (`what`, e.g. "m.safetensors: xgrad metadata") and, for a
// field, the field.
//
// Why a nesting limit: nlohmann::json parses iteratively, but copying,
// comparing or printing a document recurses once per level, so 300,000 nested
// brackets (600 KB) overflow the stack. The limit is checked by a scan of the
// text before anything is built.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xg {

// Deeper than any document xgrad writes (the deepest, a model's metadata, has 3 levels).
constexpr std::size_t kMaxJsonDepth = 64;

// How deeply `text` nests arrays and objects, counting brackets outside
// strings; stops counting past `limit` (returns limit + 1). Exact for valid JSON.
std::size_t json_nesting_depth(const char* text, std::size_t size, std::size_t limit = kMaxJsonDepth);

// Parses `text` whole. Throws InputError "WHAT nests deeper than 64 levels" or
// "WHAT is not valid JSON (...)".
nlohmann::json parse_json(const char* text, std::size_t size, const std::string& what);
nlohmann::json parse_json(const std::string& text, const std::string& what);

// The fields of one JSON object, read by type. A missing required field, or
// one of the wrong type or out of range, is an InputError naming `what` and
// the field: "m.safetensors: xgrad metadata field "dropout" must be a number".
// JSON has no NaN or infinity, so every number read here is finite.
class JsonFields {
 public:
  // Throws InputError unless `object` is an object.
  JsonFields(const nlohmann::json& object, std::string what);

  bool has(const char* key) const { return object_.contains(key); }
  // The field's value as is (an InputError if missing).
  const nlohmann::json& at(const char* key) const;

  std::string text(const char* key) const;
  std::string text(const char* key, const std::string& fallback) const;  // fallback when missing
  // A whole number ≥ 0 written as an integer (not 3.0, not -1), at most `max`.
  std::uint64_t count(const char* key, std::uint64_t max) const;
  std::uint64_t count(const char* key, std::uint64_t max, std::uint64_t fallback) const;
  // A number in [min, max].
  double number(const char* key, double min, double max) const;
  double number(const char* key, double min, double max, double fallback) const;
  bool flag(const char* key, bool fallback) const;

  std::vector<std::string> texts(const char* key) const;
  std::vector<std::uint64_t> counts(const char* key, std::uint64_t max) const;
  std::vector<double> numbers(const char* key, double min, double max) const;

  // A field that must be an object (a missing one is an empty object), or an array.
  const nlohmann::json& object(const char* key) const;
  const nlohmann::json& array(const char* key) const;

  // Throws InputError "WHAT field "KEY" PROBLEM".
  [[noreturn]] void fail(const char* key, const std::string& problem) const;

 private:
  std::string where(const char* key) const;  // "WHAT field "KEY""
  const nlohmann::json& object_;
  std::string what_;
};

}  // namespace xg
