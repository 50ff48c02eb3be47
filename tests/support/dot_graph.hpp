#pragma once
// Reading back the Graphviz DOT that io/graph_export writes: each node's label
// and each edge as a (from label, to label) pair.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/files.hpp"

namespace xg::testing {

struct Dot {
  std::map<std::string, std::string> label_of;            // id -> label
  std::set<std::pair<std::string, std::string>> edges;  // (from label, to label)
};

// A node line reads `  n12 [label="…", …];`, an edge line `  n3 -> n5;`.
// (Read by hand, not with std::regex: GCC 12 warns inside <regex> in the
// sanitizer build, and CI builds with -Werror.)
inline Dot parse_dot(const std::string& dot) {
  Dot d;
  auto node_id = [](const std::string& line, std::size_t& at) {  // "n<digits>" at `at`, or ""
    if (at >= line.size() || line[at] != 'n') return std::string();
    std::size_t end = at + 1;
    while (end < line.size() && line[end] >= '0' && line[end] <= '9') ++end;
    if (end == at + 1) return std::string();
    std::string id = line.substr(at, end - at);
    at = end;
    return id;
  };
  std::vector<std::pair<std::string, std::string>> edge_ids;
  for (const std::string& line : lines_of(dot)) {
    std::size_t at = line.find_first_not_of(" \t");
    if (at == std::string::npos) continue;
    const std::string id = node_id(line, at);
    if (id.empty()) continue;
    if (line.compare(at, 9, " [label=\"") == 0) {
      const std::size_t begin = at + 9, end = line.find('"', begin);
      if (end != std::string::npos) d.label_of[id] = line.substr(begin, end - begin);
    } else if (line.compare(at, 4, " -> ") == 0) {
      at += 4;
      const std::string to = node_id(line, at);
      if (!to.empty() && at < line.size() && line[at] == ';') edge_ids.emplace_back(id, to);
    }
  }
  for (const auto& [from, to] : edge_ids) d.edges.insert({d.label_of.at(from), d.label_of.at(to)});
  return d;
}

}  // namespace xg::testing
