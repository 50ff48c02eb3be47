#pragma once
// Reading back the Graphviz DOT that io/graph_export writes: each node's label
// and each edge as a (from label, to label) pair.
#include <map>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "tests/support/files.hpp"

namespace xg::testing {

struct Dot {
  std::map<std::string, std::string> label_of;            // id -> label
  std::set<std::pair<std::string, std::string>> edges;  // (from label, to label)
};

inline Dot parse_dot(const std::string& dot) {
  Dot d;
  const std::regex node(R"(^\s*(n\d+) \[label="([^"]*)\")"), edge(R"(^\s*(n\d+) -> (n\d+);)");
  std::smatch m;
  for (const std::string& line : lines_of(dot)) {
    if (std::regex_search(line, m, node)) d.label_of[m[1]] = m[2];
  }
  for (const std::string& line : lines_of(dot)) {
    if (std::regex_search(line, m, edge)) d.edges.insert({d.label_of.at(m[1]), d.label_of.at(m[2])});
  }
  return d;
}

}  // namespace xg::testing
