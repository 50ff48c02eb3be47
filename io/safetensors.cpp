#include "io/safetensors.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/json_input.hpp"

namespace xg {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; this reader copies it as is");

namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxRank = 8;

// A tensor name as it appears in messages: quoted, and cut if very long.
std::string quote_name(const std::string& name) {
  if (name.size() <= 80) return "'" + name + "'";
  return "'" + name.substr(0, 77) + "...'";
}

[[noreturn]] void fail_checkpoint(const std::string& source, const std::string& what) {
  fail(source, what + "; hint: the file is not an intact safetensors checkpoint written by xgrad or PyTorch");
}

using Entry = SafetensorsEntry;

Entry parse_entry(const std::string& source, const std::string& name, const Json& value, std::uint64_t buffer_size) {
  const std::string tensor = "tensor " + quote_name(name);
  if (!value.is_object()) fail_checkpoint(source, tensor + ": header entry is not an object");
  auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) fail_checkpoint(source, tensor + ": header entry has no \"dtype\" string");
  const std::string& type = dtype->get_ref<const std::string&>();
  if (type != "F32" && type != "I64") {
    fail_checkpoint(source, tensor + ": dtype " + type.substr(0, 20) + " is not supported, only F32 (float32) and I64 (int64)");
  }
  const std::uint64_t width = type == "I64" ? 8 : 4;
  auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array()) fail_checkpoint(source, tensor + ": header entry has no \"shape\" array");
  if (shape->size() > kMaxRank) fail_checkpoint(source, tensor + ": shape has " + std::to_string(shape->size()) + " dimensions, at most 8 are supported");
  Entry entry;
  entry.name = name;
  entry.int64 = width == 8;
  std::uint64_t elements = 1;
  for (const Json& d : *shape) {
    if (!d.is_number_unsigned()) fail_checkpoint(source, tensor + ": shape holds something other than a non-negative integer");
    const std::uint64_t size = d.get<std::uint64_t>();
    if (size != 0 && elements > (kMaxSafetensorsFile / width) / size) fail_checkpoint(source, tensor + ": shape is larger than the 16 GiB file limit");
    elements *= size;
    entry.shape.push_back(std::size_t(size));
  }
  auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned()) {
    fail_checkpoint(source, tensor + ": header entry needs \"data_offsets\": [begin, end] with non-negative integers");
  }
  entry.begin = (*offsets)[0].get<std::uint64_t>();
  entry.end = (*offsets)[1].get<std::uint64_t>();
  const std::string range = "[" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
  if (entry.begin > entry.end) fail_checkpoint(source, tensor + ": data_offsets " + range + " end before they begin");
  if (entry.end > buffer_size) {
    fail_checkpoint(source, tensor + ": data_offsets " + range + " run past the end of the " + std::to_string(buffer_size) + "-byte data buffer");
  }
  if (entry.end - entry.begin != elements * width) {
    fail_checkpoint(source, tensor + ": shape " + shape_string(entry.shape) + " needs " + std::to_string(elements * width) + " bytes of " +
                     (entry.int64 ? "int64" : "float32") + " but data_offsets " + range + " hold " + std::to_string(entry.end - entry.begin));
  }
  return entry;
}

// The values of entry `e` from its `bytes` (e.end - e.begin of them), as floats.
Array entry_values(const Entry& e, const char* bytes) {
  Array array;
  array.resize(e.shape);
  if (!e.int64) {
    if (e.end > e.begin) std::memcpy(array.data(), bytes, std::size_t(e.end - e.begin));
    return array;
  }
  for (std::size_t k = 0; k < array.size(); ++k) {
    std::int64_t v;
    std::memcpy(&v, bytes + 8 * k, 8);
    array.data()[k] = float(v);
  }
  return array;
}

}  // namespace

const Array* Safetensors::find(const std::string& name) const {
  for (const auto& [n, a] : tensors)
    if (n == name) return &a;
  return nullptr;
}

std::string encode_safetensors(const std::vector<std::pair<std::string, const Array*>>& tensors,
                               const std::map<std::string, std::string>& metadata, const std::set<std::string>& int64) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, array] : tensors) {
    if (name.empty() || name == "__metadata__" || header.contains(name)) {
      throw std::invalid_argument("encode_safetensors: empty, reserved or duplicate tensor name '" + name + "'");
    }
    const bool whole = int64.count(name) > 0;
    const std::uint64_t bytes = std::uint64_t(array->size()) * (whole ? 8 : 4);
    header[name] = {{"dtype", whole ? "I64" : "F32"},
                    {"shape", Shape(array->shape().begin(), array->shape().end())},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data buffer starts 8-byte aligned
  std::string out(8, '\0');
  const std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char((n >> (8 * i)) & 0xff);
  out += text;
  out.reserve(out.size() + offset);
  for (const auto& [name, array] : tensors) {
    if (!int64.count(name)) {
      out.append(reinterpret_cast<const char*>(array->data()), array->size() * 4);
      continue;
    }
    for (std::size_t k = 0; k < array->size(); ++k) {
      const float v = array->data()[k];
      if (!(std::abs(v) < 9.2e18f) || v != std::trunc(v)) {
        throw std::invalid_argument("encode_safetensors: int64 tensor '" + name + "' holds " + std::to_string(v) + ", not a whole number");
      }
      const std::int64_t whole = std::int64_t(v);
      out.append(reinterpret_cast<const char*>(&whole), 8);
    }
  }
  return out;
}

namespace {

// The header length (the file's first 8 bytes, little-endian), checked against
// the `available` bytes after them and the 64 MiB limit.
std::uint64_t header_length(const char* first8, std::uint64_t available, const std::string& source) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | std::uint8_t(first8[i]);
  if (n > available) {
    fail_checkpoint(source, "header length " + std::to_string(n) + " is larger than the " + std::to_string(available) + " bytes that follow it");
  }
  if (n > kMaxSafetensorsHeader) fail_checkpoint(source, "header length " + std::to_string(n) + " exceeds the 64 MiB limit");
  return n;
}

// Parses and checks the header text of a file whose data buffer holds `buffer_size` bytes.
SafetensorsHeader decode_header(const char* text, std::uint64_t size, std::uint64_t buffer_size, const std::string& source) {
  if (size < 2 || text[0] != '{') fail_checkpoint(source, "header is not a JSON object");
  const Json header = parse_json(text, std::size_t(size), source + ": header");
  if (!header.is_object()) fail_checkpoint(source, "header is not a JSON object");

  SafetensorsHeader result;
  result.data_start = 8 + size;
  result.data_size = buffer_size;
  std::vector<Entry>& entries = result.tensors;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail_checkpoint(source, "__metadata__ is not an object of strings");
      for (const auto& [key, text_value] : value.items()) {
        if (!text_value.is_string()) fail_checkpoint(source, "__metadata__ value " + quote_name(key) + " is not a string");
        result.metadata[key] = text_value.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(source, name, value, buffer_size));
  }

  // The tensors must tile the buffer: sorted by offset, each starts where the previous ended.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t expected = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.begin < expected) {
      fail_checkpoint(source, "tensor " + quote_name(e.name) + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                       "] overlap tensor " + quote_name(entries[i - 1].name));
    }
    if (e.begin > expected) {
      fail_checkpoint(source, "tensor " + quote_name(e.name) + ": data_offsets begin at " + std::to_string(e.begin) + ", leaving bytes " +
                       std::to_string(expected) + " to " + std::to_string(e.begin) + " of the data buffer unused");
    }
    expected = e.end;
  }
  if (expected != buffer_size) {
    fail_checkpoint(source, "the data buffer holds " + std::to_string(buffer_size) + " bytes but the tensors cover " +
                     std::to_string(expected) + (entries.empty() ? "" : " (the last is " + quote_name(entries.back().name) + ")"));
  }
  return result;
}

std::string too_short(std::uint64_t size) {
  return "too short for a safetensors file (" + std::to_string(size) + " bytes, the header length alone takes 8)";
}

}  // namespace

const SafetensorsEntry* SafetensorsHeader::find(const std::string& name) const {
  for (const SafetensorsEntry& e : tensors)
    if (e.name == name) return &e;
  return nullptr;
}

Safetensors decode_safetensors(const std::string& bytes, const std::string& source) {
  if (bytes.size() < 8) fail_checkpoint(source, too_short(bytes.size()));
  const std::uint64_t available = bytes.size() - 8;
  const std::uint64_t n = header_length(bytes.data(), available, source);
  const SafetensorsHeader header = decode_header(bytes.data() + 8, n, available - n, source);
  Safetensors result;
  result.metadata = header.metadata;
  const char* buffer = bytes.data() + header.data_start;
  for (const Entry& e : header.tensors) result.tensors.emplace_back(e.name, entry_values(e, buffer + e.begin));
  return result;
}

namespace {

// The size of the regular file `path`, checked against the 16 GiB limit.
std::uint64_t checked_file_size(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw InputError(path + ": file does not exist");
  if (fs::is_directory(status)) throw InputError(path + ": is a directory, expected a .safetensors file");
  if (!fs::is_regular_file(status)) throw InputError(path + ": is not a regular file, expected a .safetensors file");
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) throw InputError(path + ": cannot read the file size: " + ec.message());
  if (size > kMaxSafetensorsFile) throw InputError(path + ": " + std::to_string(size) + " bytes is larger than the 16 GiB limit");
  return size;
}

void read_exactly(std::ifstream& in, char* out, std::uint64_t n, const std::string& path) {
  in.read(out, std::streamsize(n));
  if (std::uint64_t(in.gcount()) != n) throw InputError(path + ": read error (file shorter than its size, or it changed while reading)");
}

}  // namespace

SafetensorsHeader read_safetensors_header(const std::string& path) {
  const std::uint64_t size = checked_file_size(path);
  if (size < 8) fail_checkpoint(path, too_short(size));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading");
  char first8[8];
  read_exactly(in, first8, 8, path);
  const std::uint64_t n = header_length(first8, size - 8, path);
  std::string text(std::size_t(n), '\0');
  read_exactly(in, text.data(), n, path);
  return decode_header(text.data(), n, size - 8 - n, path);
}

Safetensors read_safetensors(const std::string& path, const SafetensorsHeader& header) {
  if (checked_file_size(path) != header.data_start + header.data_size) {
    throw InputError(path + ": the file changed while it was read (its size differs from when its header was read)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading");
  Safetensors result;
  result.metadata = header.metadata;
  std::string bytes;
  for (const Entry& e : header.tensors) {
    if (!e.int64) {  // straight into the array
      Array array;
      array.resize(e.shape);
      in.seekg(std::streamoff(header.data_start + e.begin));
      read_exactly(in, reinterpret_cast<char*>(array.data()), e.end - e.begin, path);
      result.tensors.emplace_back(e.name, std::move(array));
      continue;
    }
    bytes.resize(std::size_t(e.end - e.begin));
    in.seekg(std::streamoff(header.data_start + e.begin));
    read_exactly(in, bytes.data(), e.end - e.begin, path);
    result.tensors.emplace_back(e.name, entry_values(e, bytes.data()));
  }
  return result;
}

Safetensors read_safetensors(const std::string& path) { return read_safetensors(path, read_safetensors_header(path)); }

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, const Array*>>& tensors,
                       const std::map<std::string, std::string>& metadata, const std::set<std::string>& int64) {
  write_file_atomically(path, encode_safetensors(tensors, metadata, int64));
}

}  // namespace xg
