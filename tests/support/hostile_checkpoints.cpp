#include "tests/support/hostile_checkpoints.hpp"

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"

namespace xg::testing {

namespace {

using Json = nlohmann::json;

// Rewrites the safetensors file at `path`: edit(metadata, tensors) then writes it back.
void rewrite(const std::string& path,
             const std::function<void(std::map<std::string, std::string>&, Safetensors&)>& edit) {
  Safetensors file = read_safetensors(path);
  std::map<std::string, std::string> metadata = file.metadata;
  edit(metadata, file);
  std::vector<std::pair<std::string, const Array*>> tensors;
  for (const auto& [name, array] : file.tensors) tensors.emplace_back(name, &array);
  write_safetensors(path, tensors, metadata);
}

// A case that edits the JSON document under metadata `entry` ("xgrad" of the model, "xgrad_state" of the state).
HostileCheckpoint edit_json(const std::string& what, const char* entry, const std::string& must_mention,
                            const std::function<void(Json&)>& edit) {
  const std::string e = entry;
  return {what, e != "xgrad",
          [e, edit](const std::string& model) {
            rewrite(model + (e == "xgrad" ? "" : ".state"), [&](std::map<std::string, std::string>& metadata, Safetensors&) {
              Json doc = Json::parse(metadata.at(e));
              edit(doc);
              metadata[e] = doc.dump();
            });
          },
          must_mention};
}

// A case that sets `key` of that document to `value`.
HostileCheckpoint set_field(const std::string& what, const char* entry, const char* key, const Json& value) {
  const std::string k = key;
  return edit_json(what, entry, k, [k, value](Json& doc) { doc[k] = value; });
}

// A case that sets metadata `entry` (of the model or its state) to `text`.
HostileCheckpoint set_entry(const std::string& what, const char* entry, std::string text) {
  const std::string e = entry;
  return {what, e != "xgrad",
          [e, text](const std::string& model) {
            rewrite(model + (e == "xgrad" ? "" : ".state"),
                    [&](std::map<std::string, std::string>& metadata, Safetensors&) { metadata[e] = text; });
          },
          e};
}

// A case that sets element `index` of the state tensor "optimizer.NAME" to `value`.
HostileCheckpoint set_state_value(const std::string& what, const std::string& name, std::size_t index, float value) {
  return {what, true,
          [name, index, value](const std::string& model) {
            rewrite(model + ".state", [&](std::map<std::string, std::string>&, Safetensors& file) {
              for (auto& [n, array] : file.tensors)
                if (n == "optimizer." + name) array.data()[index] = value;
            });
          },
          name};
}

}  // namespace

std::string deep_json(std::size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); }

std::vector<HostileCheckpoint> hostile_model_files() {
  // A hidden layer of `units`, between the model's own input and output sizes.
  auto huge_layers = [](std::vector<std::size_t> hidden) {
    return [hidden](Json& doc) {
      std::vector<std::size_t> layers = {doc["layers"].front().get<std::size_t>()};
      layers.insert(layers.end(), hidden.begin(), hidden.end());
      layers.push_back(doc["layers"].back().get<std::size_t>());
      doc["layers"] = layers;
    };
  };
  std::vector<HostileCheckpoint> cases = {
      set_entry("metadata nested 300,000 levels deep", "xgrad", deep_json(300000)),
      {"a metadata field nested 300,000 levels deep", false,
       [](const std::string& model) {
         // Spliced into the good document's text (dumping a deep value would itself recurse).
         rewrite(model, [](std::map<std::string, std::string>& metadata, Safetensors&) {
           Json doc = Json::parse(metadata.at("xgrad"));
           doc.erase("config");
           std::string text = doc.dump();
           text.pop_back();  // the closing '}'
           metadata["xgrad"] = text + R"(,"config":{"x":)" + deep_json(300000) + "}}";
         });
       },
       "xgrad"},
      set_field("a string for dropout", "xgrad", "dropout", "0.1"),
      set_field("a string for epoch", "xgrad", "epoch", "2"),
      set_field("a number for data_sha256", "xgrad", "data_sha256", 12345),
      set_field("classes that are not strings", "xgrad", "classes", Json::array({0, 1, 2})),
      edit_json("layers claiming a million hidden units", "xgrad", "0.weight", huge_layers({1000000})),
      edit_json("layers claiming two hidden layers of 100,000", "xgrad", "0.weight", huge_layers({100000, 100000})),
      set_field("std 1e-45", "xgrad", "std", Json::array({1e-45})),
      set_field("mean 3e38", "xgrad", "mean", Json::array({3e38})),
  };
  // A sparse 6 GB file: the good header, then 6 GB of (unwritten) data.
  cases.push_back({"a sparse 6 GB file", false,
                   [](const std::string& model) { std::filesystem::resize_file(model, std::uintmax_t(6) << 30); },
                   "data buffer"});
  // A sparse 6 GB file whose header declares a 6 GB first layer (metadata unchanged).
  cases.push_back({"a sparse 6 GB file declaring a 6 GB tensor", false,
                   [](const std::string& model) {
                     const std::string metadata = read_safetensors_header(model).metadata.at("xgrad");
                     const std::uint64_t bytes = std::uint64_t(6) << 30;
                     std::string header = Json{{"__metadata__", {{"xgrad", metadata}}},
                                               {"0.weight", {{"dtype", "F32"}, {"shape", {bytes / 4}}, {"data_offsets", {0, bytes}}}}}
                                              .dump();
                     header.append((8 - header.size() % 8) % 8, ' ');
                     std::string start(8, '\0');
                     for (int i = 0; i < 8; ++i) start[std::size_t(i)] = char((header.size() >> (8 * i)) & 0xff);
                     write_file_atomically(model, start + header);
                     std::filesystem::resize_file(model, 8 + header.size() + bytes);
                   },
                   "0.weight"});
  return cases;
}

std::vector<HostileCheckpoint> hostile_state_files(bool adam) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<HostileCheckpoint> cases = {
      set_entry("state nested 300,000 levels deep", "xgrad_state", deep_json(300000)),
      set_field("a string for epoch", "xgrad_state", "epoch", "1"),
      set_field("a number for metrics", "xgrad_state", "metrics", 5),
      set_field("metrics lines nested 300,000 levels deep", "xgrad_state", "metrics", deep_json(300000) + "\n"),
      set_field("a string for best_test_loss", "xgrad_state", "best_test_loss", "low"),
      set_field("monitored_losses that are not numbers", "xgrad_state", "monitored_losses", Json::array({"a"})),
  };
  if (!adam) {
    cases.push_back(set_state_value("a NaN momentum", "velocity.0", 3, nan));
    return cases;
  }
  cases.push_back(set_state_value("a NaN first moment", "m.0", 0, nan));
  cases.push_back(set_state_value("a negative second moment", "v.1", 0, -1.0f));
  // step holds t as [t >> 20, t & 0xFFFFF].
  cases.push_back(set_state_value("a NaN Adam step", "step", 1, nan));
  cases.push_back(set_state_value("a negative Adam step", "step", 1, -3.0f));
  cases.push_back(set_state_value("a fractional Adam step", "step", 1, 7.5f));
  cases.push_back(set_state_value("an Adam step of 3e38", "step", 0, 3e38f));
  return cases;
}

std::string directory_listing(const std::string& dir) {
  std::set<std::string> lines;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ostringstream line;
    line << entry.path().filename().string() << ' ' << entry.file_size() << ' '
         << entry.last_write_time().time_since_epoch().count();
    lines.insert(line.str());
  }
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

void check_refused(const std::string& args, const std::string& path, const std::string& must_mention, const std::string& dir) {
  const std::string before = directory_listing(dir);
  const RunResult r = run_xgrad_capped(args);
  INFO("xgrad " << args << "\nstderr: " << r.err.substr(0, 400));
  CHECK(r.status == 2);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find(path) != std::string::npos);
  CHECK(r.err.find(must_mention) != std::string::npos);
  CHECK(r.out.empty());
  CHECK(directory_listing(dir) == before);
}

}  // namespace xg::testing
