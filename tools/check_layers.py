#!/usr/bin/env python3
"""The layout is the architecture: check it (docs/ARCHITECTURE.md).

Fails (exit 1, one line per violation) when
  - a folder includes a folder it may not (only folders below it: LAYERS),
  - a file outside apps/ includes apps/ or CLI11,
  - project files include each other in a cycle (a .hpp and its .cpp count as
    one unit, so a.cpp -> b.hpp -> a.hpp is a cycle too).

  tools/check_layers.py [ROOT]      check the tree at ROOT (default: this checkout)
  tools/check_layers.py --self-test plant each kind of violation in a scratch tree
                                    and check that every one is caught
"""
import os
import re
import sys
import tempfile

# What each library folder may include, besides itself. Peers on one level
# (layers, losses, optim, datasets, metrics) know nothing of each other.
BELOW = {
    "core": set(),
    "layers": {"core"},
    "losses": {"core"},
    "optim": {"core"},
    "datasets": {"core"},
    "metrics": {"core"},
    "io": {"core", "layers"},
    "train": {"core", "layers", "losses", "optim", "datasets", "metrics", "io"},
    "report": {"core", "datasets", "metrics", "io", "train"},
    "apps": {"core", "layers", "losses", "optim", "datasets", "metrics", "io", "train", "report"},
}
LIBRARY = set(BELOW) - {"apps"}
# Programs built on the library: everything but the commands.
PROGRAMS = {"examples": LIBRARY, "bench": LIBRARY, "fuzz": {"core", "layers", "datasets", "io"}}
SOURCE = re.compile(r"\.(cpp|hpp|h|cc)$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(root):
    for folder in list(BELOW) + list(PROGRAMS) + ["tests"]:
        top = os.path.join(root, folder)
        for dirpath, _, files in os.walk(top):
            for name in sorted(files):
                if SOURCE.search(name):
                    path = os.path.join(dirpath, name)
                    yield os.path.relpath(path, root).replace(os.sep, "/")


def check(root):
    errors = []
    edges = {}  # unit -> {unit: (file, line)}
    for rel in sources(root):
        folder = rel.split("/")[0]
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        unit = SOURCE.sub("", rel)
        for m in INCLUDE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            bracket, target = m.group(1), m.group(2)
            where = f"{rel}:{line}"
            if target.startswith("CLI/") and folder not in ("apps", "tests"):
                errors.append(f"{where}: includes <{target}>: only apps/ uses CLI11")
                continue
            if bracket != '"' or "/" not in target:
                continue
            dest = target.split("/")[0]
            if dest not in BELOW:
                continue
            if dest == "apps" and folder not in ("apps", "tests"):
                errors.append(f"{where}: includes {target}: nothing outside apps/ includes apps/")
            elif folder in BELOW and dest != folder and dest not in BELOW[folder]:
                errors.append(f"{where}: {folder}/ includes {target}, but {dest}/ is not below {folder}/")
            elif folder in PROGRAMS and dest not in PROGRAMS[folder]:
                errors.append(f"{where}: {folder}/ includes {target}: {folder}/ may use only {', '.join(sorted(PROGRAMS[folder]))}")
            if os.path.exists(os.path.join(root, target)):
                edges.setdefault(unit, {}).setdefault(SOURCE.sub("", target), where)
    errors += cycles(edges)
    return errors


def cycles(edges):
    """Every include cycle between units, each reported once (iterative DFS)."""
    found, state, reported = [], {}, set()
    for start in sorted(edges):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges.get(start, {}))))]
        path = [start]
        state[start] = 1  # on the path
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2  # done
                stack.pop()
                path.pop()
                continue
            if child == node:
                continue  # a .cpp including its own .hpp
            if state.get(child) == 1:
                loop = path[path.index(child):] + [child]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    found.append(f"{edges[node][child]}: include cycle: {' -> '.join(loop)}")
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(edges.get(child, {})))))
    return found


def self_test():
    plants = {
        "upward include": {"core/a.hpp": '#include "layers/b.hpp"\n', "layers/b.hpp": ""},
        "peer include": {"layers/a.hpp": '#include "optim/b.hpp"\n', "optim/b.hpp": ""},
        "apps from a library": {"train/a.cpp": '#include "apps/b.hpp"\n', "apps/b.hpp": ""},
        "apps from an example": {"examples/a.cpp": '#include "apps/b.hpp"\n', "apps/b.hpp": ""},
        "CLI11 outside apps": {"report/a.cpp": "#include <CLI/CLI.hpp>\n"},
        "cycle": {"train/a.hpp": '#include "train/b.hpp"\n', "train/b.hpp": "",
                  "train/b.cpp": '#include "train/b.hpp"\n#include "train/a.hpp"\n'},
    }
    clean = {"core/a.hpp": "", "layers/b.hpp": '#include "core/a.hpp"\n', "apps/c.cpp": '#include "layers/b.hpp"\n#include <CLI/CLI.hpp>\n'}
    failures = 0
    for name, files in list(plants.items()) + [("clean tree", clean)]:
        with tempfile.TemporaryDirectory() as root:
            for rel, text in files.items():
                os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
                with open(os.path.join(root, rel), "w") as f:
                    f.write(text)
            errors = check(root)
        expected = name != "clean tree"
        ok = bool(errors) == expected
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {errors[0] if errors else 'no violation'}")
    print(f"self-test: {len(plants) + 1 - failures} passed, {failures} failed")
    return 1 if failures else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    errors = check(root)
    for e in errors:
        print(e)
    print(f"check_layers: {len(errors)} violation{'s' if len(errors) != 1 else ''}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
