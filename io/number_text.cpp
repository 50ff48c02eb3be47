#include "io/number_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/error.hpp"

namespace xg {

std::string format_number(double value, int significant) {
  if (std::isnan(value)) return "nan";
  char text[64];
  std::snprintf(text, sizeof text, "%.*g", significant, value);
  return text;
}

std::string format_fixed(double value, int decimals) {
  if (std::isnan(value)) return "nan";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string format_fixed_or_scientific(double value, int decimals, bool sign) {
  if (std::isnan(value)) return "nan";
  char text[64];
  const bool tiny = value != 0.0 && std::fabs(value) < 1e-4;
  std::snprintf(text, sizeof text, tiny ? (sign ? "%+.*e" : "%.*e") : (sign ? "%+.*f" : "%.*f"), tiny ? 3 : decimals, value);
  return text;
}

namespace {

// strtod over the whole text: no leading space, no trailing junk, finite.
bool read_number(const std::string& text, double& value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value);
}

bool read_count(const std::string& text, std::size_t& value) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;  // no sign: "-1" never wraps
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

std::vector<std::string> split_items(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

}  // namespace

double parse_number(const std::string& flag, const std::string& text, const std::string& what) {
  double value = 0.0;
  if (!read_number(text, value)) throw InputError(flag + ": '" + text + "' is not " + what);
  return value;
}

std::size_t parse_count(const std::string& flag, const std::string& text, std::size_t max, const std::string& what) {
  std::size_t value = 0;
  if (!read_count(text, value) || value > max) throw InputError(flag + ": '" + text + "' is not " + what);
  return value;
}

std::vector<double> parse_number_list(const std::string& flag, const std::string& text, const std::string& what) {
  std::vector<double> out;
  for (const std::string& item : split_items(text)) {
    double value = 0.0;
    if (!read_number(item, value)) throw InputError(flag + ": '" + text + "' is not " + what);
    out.push_back(value);
  }
  return out;
}

std::vector<std::size_t> parse_count_list(const std::string& flag, const std::string& text, const std::string& what) {
  std::vector<std::size_t> out;
  for (const std::string& item : split_items(text)) {
    std::size_t value = 0;
    if (!read_count(item, value)) throw InputError(flag + ": '" + text + "' is not " + what);
    out.push_back(value);
  }
  return out;
}

}  // namespace xg
