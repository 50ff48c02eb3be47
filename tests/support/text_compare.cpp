#include "tests/support/text_compare.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace xg::testing {
namespace {

// The text split into runs of non-number text and numbers, in order.
struct Piece {
  std::string text;
  bool number = false;
};

// The length of the number (digits, an optional fraction and exponent) that
// starts at s[i], or 0. (No std::regex: GCC 12 warns inside <regex> in the
// sanitizer build, which CI builds with -Werror.)
std::size_t number_length(const std::string& s, std::size_t i) {
  auto digits = [&](std::size_t j) {
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    return j;
  };
  std::size_t j = digits(i);
  const bool whole = j > i;
  if (j < s.size() && s[j] == '.') j = digits(j + 1);
  if (!whole && j <= i + 1) return 0;  // no digits at all
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    std::size_t k = j + 1;
    if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
    if (digits(k) > k) j = digits(k);
  }
  return j - i;
}

std::vector<Piece> pieces_of(const std::string& s) {
  std::vector<Piece> out;
  std::string text;
  for (std::size_t i = 0; i < s.size();) {
    const bool after_word = i > 0 && std::isalpha(static_cast<unsigned char>(s[i - 1]));  // the 2 of "L2" is text
    const std::size_t sign = (s[i] == '-' || s[i] == '+') ? 1 : 0;
    const std::size_t length = after_word ? 0 : number_length(s, i + sign);
    if (length == 0) {
      text += s[i++];
      continue;
    }
    out.push_back({text, false});
    out.push_back({s.substr(i, sign + length), true});
    text.clear();
    i += sign + length;
  }
  out.push_back({text, false});
  return out;
}

}  // namespace

std::string text_difference(const std::string& got, const std::string& want, double rel) {
  const auto g = pieces_of(got);
  const auto w = pieces_of(want);
  if (g.size() != w.size()) return "the texts hold different counts of numbers";
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!g[i].number) {
      if (g[i].text != w[i].text) return "text '" + g[i].text + "' where the sample has '" + w[i].text + "'";
      continue;
    }
    const double a = std::strtod(g[i].text.c_str(), nullptr);
    const double b = std::strtod(w[i].text.c_str(), nullptr);
    if (std::fabs(a - b) > rel * std::fmax(std::fabs(a), std::fabs(b)))
      return "number " + g[i].text + " where the sample has " + w[i].text;
  }
  return "";
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  if (what.empty()) return 0;  // find("") matches everywhere and would never move on
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace xg::testing
