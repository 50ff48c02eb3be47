// io/json_input: JSON from files is parsed only when it nests at most 64
// levels (a deep document would overflow the stack when copied), and typed
// fields are read with one-line errors naming the document and the field
// instead of nlohmann's type_error.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/json_input.hpp"

using namespace xg;

namespace {

std::size_t depth(const std::string& text) { return json_nesting_depth(text.data(), text.size()); }

std::string deep(std::size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

}  // namespace

TEST_CASE("json_input: the nesting depth counts brackets outside strings, and parse_json refuses more than 64 levels") {
  CHECK(depth("1") == 0);
  CHECK(depth(R"({"a": [1, {"b": []}]})") == 4);
  CHECK(depth(R"(["[[[[", "\"[[[", "\\", {}])") == 2);  // brackets in strings, escaped quotes and backslashes
  CHECK(depth(deep(64)) == 64);
  CHECK(depth(deep(300000)) == kMaxJsonDepth + 1);  // stops counting at the limit
  CHECK(parse_json(deep(64), "ok.json").is_array());
  CHECK_THROWS_WITH_AS(parse_json(deep(65), "m.safetensors: xgrad metadata"),
                       doctest::Contains("m.safetensors: xgrad metadata nests arrays or objects deeper than 64 levels"), InputError);
  CHECK_THROWS_WITH_AS(parse_json(R"({"a": [)" + deep(300000) + "]}", "s.state"), doctest::Contains("s.state"), InputError);
  CHECK_THROWS_WITH_AS(parse_json("{\"a\": 1", "bad.json"), doctest::Contains("bad.json is not valid JSON"), InputError);
  CHECK_THROWS_WITH_AS(parse_json("", "empty.json"), doctest::Contains("empty.json is not valid JSON"), InputError);
}

TEST_CASE("json_input: JsonFields reads typed fields and names the document and the field when one is missing or wrong") {
  const nlohmann::json doc = nlohmann::json::parse(R"({"name": "x", "n": 3, "neg": -1, "frac": 2.5, "big": 3e38,
      "ratio": 0.25, "on": true, "sizes": [1, 2, 3], "names": ["a", 1], "losses": [0.5, "x"], "config": {"k": 1}})");
  const JsonFields f(doc, "m.safetensors: xgrad metadata");
  CHECK(f.text("name") == "x");
  CHECK(f.text("absent", "fallback") == "fallback");
  CHECK(f.count("n", 10) == 3);
  CHECK(f.count("absent", 10, 7) == 7);
  CHECK(f.number("ratio", 0.0, 1.0) == 0.25);
  CHECK(f.number("n", 0.0, 5.0) == 3.0);
  CHECK(f.flag("on", false));
  CHECK(f.counts("sizes", 5) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(f.object("config").at("k") == 1);
  CHECK(f.object("absent").empty());

  auto refused = [&](auto read, const char* message) {
    CHECK_THROWS_WITH_AS(read(), doctest::Contains(message), InputError);
  };
  refused([&] { return f.text("n"); }, "m.safetensors: xgrad metadata field \"n\" must be a string, not number");
  refused([&] { return f.text("absent"); }, "m.safetensors: xgrad metadata has no field \"absent\"");
  refused([&] { return f.count("neg", 10); }, "field \"neg\" must be a whole number in 0..10, not -1");
  refused([&] { return f.count("frac", 10); }, "field \"frac\" must be a whole number, not a fraction");
  refused([&] { return f.count("name", 10); }, "field \"name\" must be a whole number, not string");
  refused([&] { return f.count("n", 2); }, "field \"n\" must be a whole number in 0..2, not 3");
  refused([&] { return f.number("big", 0.0, 1e30); }, "field \"big\" must be in [0, 1e+30]");
  refused([&] { return f.number("name", 0.0, 1.0); }, "field \"name\" must be a number, not string");
  refused([&] { return f.flag("n", false); }, "field \"n\" must be true or false");
  refused([&] { return f.texts("names"); }, "field \"names\" item 1 must be a string, not number");
  refused([&] { return f.numbers("losses", 0.0, 1.0); }, "field \"losses\" item 1 must be a number, not string");
  refused([&] { return f.counts("name", 5); }, "field \"name\" must be an array, not string");
  refused([&] { return f.object("sizes"); }, "field \"sizes\" must be an object, not array");
  CHECK_THROWS_WITH_AS(JsonFields(nlohmann::json::array(), "s.state: xgrad_state metadata"),
                       "s.state: xgrad_state metadata is not a JSON object", InputError);
}
