// `xgrad graph` (apps/graph_command): the DOT of one training step's loss
// graph, accepted by Graphviz when it is installed; bad flags exit 2.
// (The DOT itself: tests/io/test_graph_export.cpp.)
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "tests/support/dot_graph.hpp"
#include "tests/support/files.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg::testing;

TEST_CASE("graph command: writes DOT for one training step and rejects bad flags") {
  TempDir dir;
  write_toy_dataset(dir.path(), 32, 8, 3, 4, 4);
  const RunResult r = run_xgrad("graph --data " + dir.path() + " --hidden 8 --format dot -o " + dir.file("g.dot"));
  INFO(r.err);
  CHECK(r.status == 0);
  const Dot d = parse_dot(read_file(dir.file("g.dot")));
  CHECK(d.label_of.size() == 9);
  bool weight = false;
  for (auto& [id, label] : d.label_of) weight = weight || label.rfind("0.weight\\n(8, 16)\\ngrad norm ", 0) == 0;
  CHECK(weight);
  // Graphviz accepts it, when it is installed.
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    CHECK(std::system(("dot -Tsvg " + dir.file("g.dot") + " -o " + dir.file("g.svg")).c_str()) == 0);
    CHECK(read_file(dir.file("g.svg")).find("<svg") != std::string::npos);
  }
  // The architecture flags of train: the graph then has tanh nodes where relu was.
  const RunResult tanh = run_xgrad("graph --data " + dir.path() + " --hidden 8 --activation tanh --init xavier_uniform");
  INFO(tanh.err);
  REQUIRE(tanh.status == 0);
  const Dot t = parse_dot(tanh.out);
  bool has_tanh = false, has_relu = false;
  for (auto& [id, label] : t.label_of) {
    has_tanh = has_tanh || label.rfind("tanh", 0) == 0;
    has_relu = has_relu || label.rfind("relu", 0) == 0;
  }
  CHECK(has_tanh);
  CHECK(!has_relu);
  CHECK(run_xgrad("graph --data " + dir.path() + " --activation swish").status == 2);
  const RunResult bad = run_xgrad("graph --data " + dir.path() + " --format png");
  CHECK(bad.status == 2);
  CHECK(bad.err.find("--format") != std::string::npos);
}
