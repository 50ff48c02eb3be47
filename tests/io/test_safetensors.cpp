// Hostile input: safetensors files whose header lies, each generated here and
// fed to `xgrad eval --model`; every one must exit 2 with one line that names
// the file (and the tensor, where there is one). The fuzzers' crash inputs,
// if any, are replayed at the end (fuzz/regressions/).
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "datasets/csv.hpp"
#include "datasets/idx.hpp"
#include "datasets/image_file.hpp"
#include "test_support.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

std::string with_header(const std::string& header, std::size_t data_bytes, std::uint64_t declared = UINT64_MAX) {
  const std::uint64_t n = declared == UINT64_MAX ? header.size() : declared;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

struct Case {
  const char* what;
  std::string bytes;
  const char* must_mention;  // the tensor (or the problem) the message must name
};

}  // namespace

TEST_CASE("hostile: lying safetensors headers exit 2 with one line naming the tensor") {
  TempDir dir;
  const std::string good = R"({"0.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                           R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})";
  const Case cases[] = {
      {"header length larger than the file", with_header(good, 24, 1u << 30), "larger than"},
      {"header length near 2^64", with_header(good, 24, ~std::uint64_t(0) - 3), "larger than"},
      {"offsets past the end", with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "'a'"},
      {"end before begin", with_header(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), "'a'"},
      {"overlapping tensors",
       with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       "'b'"},
      {"shape does not match the data length", with_header(R"({"w":{"dtype":"F32","shape":[3,3],"data_offsets":[0,16]}})", 16), "'w'"},
      {"huge shape", with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", 16), "'w'"},
      {"negative dimension", with_header(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", 16), "'w'"},
      {"non-float32 dtype", with_header(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4), "'w'"},
      {"no dtype", with_header(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), "'w'"},
      {"bytes not covered by any tensor", with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12), "'w'"},
      {"a gap between tensors",
       with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
       "'b'"},
      {"metadata that is not strings", with_header(R"({"__metadata__":{"xgrad":3}})", 0), "__metadata__"},
      {"not JSON", with_header("{\"w\": [1, 2", 0), "JSON"},
      {"a JSON array", with_header("[1,2,3]", 0), "JSON object"},
      {"too short", std::string("\x10\0\0", 3), "too short"},
      {"empty file", std::string(), "too short"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const std::string path = dir.file("bad.safetensors");
    write(path, c.bytes);
    CHECK_THROWS_AS(decode_safetensors(c.bytes, "bad.safetensors"), InputError);
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find(path) != std::string::npos);
    CHECK(r.err.find(c.must_mention) != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("hostile: a well-formed safetensors file that is not a usable xgrad model exits 2 naming the problem") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  Array w = xt::zeros<float>({3, 4}), b = xt::zeros<float>({3});
  nlohmann::json info = {{"layers", {4, 3}},       {"activation", "relu"}, {"head", "softmax_cross_entropy"},
                         {"input_shape", {2, 2}},  {"mean", {0.0}},        {"std", {1.0}},
                         {"classes", {"a", "b", "c"}}, {"seed", 0},        {"version", "0.1.0"}};
  SUBCASE("no xgrad metadata") {
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {});
    const RunResult r = run_xgrad("predict --model " + path + " --index 0");
    CHECK(r.status == 2);
    CHECK(r.err.find("xgrad") != std::string::npos);
  }
  SUBCASE("a missing tensor") {
    write_safetensors(path, {{"0.weight", &w}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("'0.bias'") != std::string::npos);
  }
  SUBCASE("an extra tensor") {
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}, {"2.weight", &w}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("'2.weight'") != std::string::npos);
  }
  SUBCASE("a tensor of the wrong shape names both shapes") {
    Array wrong = xt::zeros<float>({4, 3});
    write_safetensors(path, {{"0.weight", &wrong}, {"0.bias", &b}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("'0.weight'") != std::string::npos);
    CHECK(r.err.find("(4, 3)") != std::string::npos);
    CHECK(r.err.find("(3, 4)") != std::string::npos);
  }
  SUBCASE("a NaN weight") {
    w(1, 1) = std::nanf("");
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("'0.weight'") != std::string::npos);
  }
  SUBCASE("metadata naming an unknown activation, a dropout out of range, or a sigmoid head with 3 outputs") {
    const std::pair<const char*, nlohmann::json> bad[] = {
        {"activation", "swish"}, {"dropout", 1.5}, {"head", "sigmoid"}};
    for (const auto& [field, value] : bad) {
      nlohmann::json broken = info;
      broken[field] = value;
      write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", broken.dump()}});
      const RunResult r = run_xgrad("eval --model " + path);
      INFO(field << ": " << r.err);
      CHECK(r.status == 2);
      CHECK(lines_of(r.err).size() == 1);
      CHECK(r.err.find(field) != std::string::npos);
    }
  }
  SUBCASE("metadata whose class count does not fit the last layer") {
    info["classes"] = {"a", "b"};
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("classes") != std::string::npos);
  }
  CHECK(std::filesystem::exists(path));
}

// Inputs that once crashed or hung a fuzz target (fuzz/regressions/<target>/),
// replayed through the same loader: each must be refused with an InputError
// or accepted, never crash.
TEST_CASE("hostile: the fuzzers' regression inputs are handled") {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(XGRAD_SOURCE_DIR) / "fuzz" / "regressions";
  std::size_t replayed = 0;
  for (const char* target : {"idx", "csv", "safetensors", "image"}) {
    if (!fs::exists(root / target)) continue;
    for (const auto& entry : fs::directory_iterator(root / target)) {
      const std::string bytes = read_file(entry.path().string());
      CAPTURE(entry.path().string());
      try {
        if (std::string(target) == "idx") {
          read_idx(entry.path().string());
        } else if (std::string(target) == "csv") {
          const std::size_t cut = bytes.find('\xFF');
          CsvOptions options;
          options.seed = bytes.size();
          if (cut == std::string::npos) csv_dataset_from_text(bytes, "train.csv", "", "", options);
          else csv_dataset_from_text(bytes.substr(0, cut), "train.csv", bytes.substr(cut + 1), "test.csv", options);
        } else if (std::string(target) == "safetensors") {
          decode_safetensors(bytes, "regression.safetensors");
        } else {
          resize_image(decode_grey_image(bytes, "regression.png"), 7, 5);
        }
      } catch (const InputError&) {
      }
      ++replayed;
    }
  }
  MESSAGE(replayed << " fuzz regression inputs replayed");
}
