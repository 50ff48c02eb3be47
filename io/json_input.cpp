#include "io/json_input.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "io/number_text.hpp"

namespace xg {

using Json = nlohmann::json;

std::size_t json_nesting_depth(const char* text, std::size_t size, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // skip the escaped character (\" does not end the string)
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return limit + 1;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Json parse_json(const char* text, std::size_t size, const std::string& what) {
  if (json_nesting_depth(text, size) > kMaxJsonDepth) {
    throw InputError(what + " nests arrays or objects deeper than " + std::to_string(kMaxJsonDepth) +
                     " levels; hint: it was not written by xgrad");
  }
  try {
    return Json::parse(text, text + size);
  } catch (const Json::exception& e) {
    std::string message = e.what();
    if (message.size() > 160) message = message.substr(0, 157) + "...";
    throw InputError(what + " is not valid JSON (" + message + ")");
  }
}

Json parse_json(const std::string& text, const std::string& what) { return parse_json(text.data(), text.size(), what); }

JsonFields::JsonFields(const Json& object, std::string what) : object_(object), what_(std::move(what)) {
  if (!object_.is_object()) throw InputError(what_ + " is not a JSON object");
}

const Json& JsonFields::at(const char* key) const {
  const auto it = object_.find(key);
  if (it == object_.end()) throw InputError(what_ + " has no field \"" + key + "\"");
  return *it;
}

namespace {

// The checks shared by a field and an array's items; `where` names it in the error
// ("m.safetensors: xgrad metadata field "layers" item 2").
[[noreturn]] void refuse(const std::string& where, const std::string& problem) { throw InputError(where + " " + problem); }

std::string text_of(const Json& v, const std::string& where) {
  if (!v.is_string()) refuse(where, "must be a string, not " + std::string(v.type_name()));
  return v.get<std::string>();
}

std::uint64_t count_of(const Json& v, std::uint64_t max, const std::string& where) {
  if (!v.is_number_integer()) refuse(where, "must be a whole number, not " + std::string(v.is_number() ? "a fraction" : v.type_name()));
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > max) {
    refuse(where, "must be a whole number in 0.." + std::to_string(max) + ", not " + v.dump());
  }
  return v.get<std::uint64_t>();
}

double number_of(const Json& v, double min, double max, const std::string& where) {
  if (!v.is_number()) refuse(where, "must be a number, not " + std::string(v.type_name()));
  const double x = v.get<double>();
  if (!(x >= min && x <= max)) refuse(where, "must be in [" + format_number(min) + ", " + format_number(max) + "], not " + v.dump());
  return x;
}

}  // namespace

std::string JsonFields::where(const char* key) const { return what_ + " field \"" + key + "\""; }

void JsonFields::fail(const char* key, const std::string& problem) const { refuse(where(key), problem); }

std::string JsonFields::text(const char* key) const { return text_of(at(key), where(key)); }

std::string JsonFields::text(const char* key, const std::string& fallback) const {
  return has(key) ? text(key) : fallback;
}

std::uint64_t JsonFields::count(const char* key, std::uint64_t max) const { return count_of(at(key), max, where(key)); }

std::uint64_t JsonFields::count(const char* key, std::uint64_t max, std::uint64_t fallback) const {
  return has(key) ? count(key, max) : fallback;
}

double JsonFields::number(const char* key, double min, double max) const { return number_of(at(key), min, max, where(key)); }

double JsonFields::number(const char* key, double min, double max, double fallback) const {
  return has(key) ? number(key, min, max) : fallback;
}

bool JsonFields::flag(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  if (!at(key).is_boolean()) fail(key, "must be true or false, not " + std::string(at(key).type_name()));
  return at(key).get<bool>();
}

const Json& JsonFields::array(const char* key) const {
  const Json& v = at(key);
  if (!v.is_array()) fail(key, "must be an array, not " + std::string(v.type_name()));
  return v;
}

std::vector<std::string> JsonFields::texts(const char* key) const {
  std::vector<std::string> out;
  for (const Json& v : array(key)) out.push_back(text_of(v, where(key) + " item " + std::to_string(out.size())));
  return out;
}

std::vector<std::uint64_t> JsonFields::counts(const char* key, std::uint64_t max) const {
  std::vector<std::uint64_t> out;
  for (const Json& v : array(key)) out.push_back(count_of(v, max, where(key) + " item " + std::to_string(out.size())));
  return out;
}

std::vector<double> JsonFields::numbers(const char* key, double min, double max) const {
  std::vector<double> out;
  for (const Json& v : array(key)) out.push_back(number_of(v, min, max, where(key) + " item " + std::to_string(out.size())));
  return out;
}

const Json& JsonFields::object(const char* key) const {
  static const Json empty = Json::object();
  if (!has(key)) return empty;
  if (!at(key).is_object()) fail(key, "must be an object, not " + std::string(at(key).type_name()));
  return at(key);
}

}  // namespace xg
