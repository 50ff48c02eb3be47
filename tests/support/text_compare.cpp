#include "tests/support/text_compare.hpp"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <vector>

namespace xg::testing {
namespace {

// The text split into runs of non-number text and numbers, in order.
struct Piece {
  std::string text;
  bool number = false;
};

std::vector<Piece> pieces_of(const std::string& s) {
  static const std::regex number(R"([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)");
  std::vector<Piece> out;
  std::size_t at = 0;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), number); it != std::sregex_iterator(); ++it) {
    const auto pos = static_cast<std::size_t>(it->position());
    out.push_back({s.substr(at, pos - at), false});
    out.push_back({it->str(), true});
    at = pos + static_cast<std::size_t>(it->length());
  }
  out.push_back({s.substr(at), false});
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

}  // namespace xg::testing
