#!/usr/bin/env python3
"""Check the links from the docs to the code: docs/*.md and README.md.

Every markdown link (or image) whose target is a file of the repository must
point at a file that exists. A `#slug` anchor on a markdown file must name one
of its headings. A `#Lnn` or `#Lnn-Lmm` anchor must be a line (range) within
the file, and that line (range) must hold the symbol the text names.

The symbol a line link names
  The docs write these links as [`core/ops.cpp:106`](../core/ops.cpp#L106),
  right after the thing they point at: "`relu_backward` ([`core/ops.cpp:148`](...))",
  "the sum `s += e[c]` at [...]". So the symbol is
    - the link's own text, when that is a code span other than a label (below);
    - otherwise the nearest code span (`...`) before the link in the same
      paragraph. A list item, a table row and a heading each count as a
      paragraph of their own. Spans that are labels or file paths are skipped.
  A label is a link text of the form `path:nn` or `path:nn-mm`; it must agree
  with the link's target (same file, same lines).
  The span matches a line when the line's code contains the span's text,
  spaces ignored, not as part of a longer name. Comments and #include lines
  are not code; string literals are, only for a span with a quote in it. A
  call or a qualified name (`loss.backward()`, `make_result(op, ...)`,
  `SGD::step`) also matches a line that defines or declares its last name
  (`backward`, `make_result`, `step`): the definition as well as the call.
  A link with no such span names no symbol: its file and line must still exist.

--fix
  rewrites each stale #Lnn (and its label) to the line that now holds the
  symbol. When several lines hold it, a definition beats a declaration, which
  beats a mere use; a tie between lines of the same kind is broken only by the
  text the link's line had when the doc was last committed (git), else the
  link is reported as ambiguous and left alone. A range keeps its length and
  starts at the found line. A link to a file that no longer exists moves to
  the one definition of its symbol in a file of the same kind, if there is
  exactly one. Everything it cannot fix is listed; run it again to check.

Also listed, as notes that do not fail the check: code spans in the prose that
name a repository path which does not exist (e.g. `apps/training.cpp`).

  tools/check_doc_links.py [ROOT]        check the docs of the tree at ROOT
                                         (default: this checkout); exit 1 on
                                         any broken link
  tools/check_doc_links.py --fix [ROOT]  fix what can be fixed, list the rest
  tools/check_doc_links.py --self-test   check each verdict on a scratch tree
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

SOURCE_FOLDERS = ("core", "layers", "losses", "optim", "datasets", "metrics", "io", "train", "report",
                  "apps", "tests", "tools", "examples", "bench", "fuzz", "docs")
C_LIKE = (".c", ".cc", ".cpp", ".h", ".hpp", ".cxx", ".hxx")
HASH_COMMENTS = (".py", ".sh", ".cmake")

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
BLOCK_START = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s|^\s*\||^\s{0,3}#{1,6}\s")
ONE_LINE_BLOCK = re.compile(r"^\s*\||^\s{0,3}#{1,6}\s")  # a table row, a heading
TOKEN = re.compile(r"""
    (?P<link>!?\[(?P<text>(?:[^\[\]`\\]|\\.|`[^`]*`|\[[^\[\]]*\])*)\]
        \((?P<target>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\))
  | (?P<code>(?P<ticks>`+)(?P<code_text>.+?)(?<!`)(?P=ticks)(?!`))
""", re.X | re.S)
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
LINE_ANCHOR = re.compile(r"^L(\d+)(?:-(L?)(\d+))?$")
LABEL = re.compile(r"^(?P<path>[\w./-]+):(?P<a>\d+)(?:(?P<dash>[-–])(?P<b>\d+))?$")
PATHLIKE = re.compile(r"^(?:\.\./)*[\w.-]+(?:/[\w.-]*)+$|^[\w-]+\.(?:cpp|hpp|h|cc|md|py|txt|cmake|dot|svg)$")
PROSE_PATH = re.compile(r"^(?:%s)/[\w./-]*$" % "|".join(SOURCE_FOLDERS))
NAME_PATH = re.compile(r"^(?:[A-Za-z_]\w*(?:::|\.|->))*([A-Za-z_]\w*)\s*(\(.*\))?$", re.S)
KEYWORDS = r"(?:return|if|while|for|switch|else|case|throw|new|delete|co_return|sizeof|do|goto|not)\b"


# ---- reading markdown --------------------------------------------------------

class Link:
    def __init__(self, doc, start, end, text, text_start, target, target_start, line, symbol):
        self.doc, self.start, self.end = doc, start, end
        self.text, self.text_start = text, text_start
        self.target, self.target_start = target, target_start
        self.line = line          # line of the doc where the link starts
        self.symbol = symbol      # the code span the link names, or None


def paragraphs(text):
    """(start, end) offsets of each paragraph outside fenced code blocks."""
    out, pos, fence, start = [], 0, None, None
    for line in text.splitlines(keepends=True):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)):]:
                fence = None
        elif m:
            if start is not None:
                out.append((start, pos))
                start = None
            fence = m.group(1)
        elif not line.strip():
            if start is not None:
                out.append((start, pos))
                start = None
        else:
            if start is not None and BLOCK_START.match(line):
                out.append((start, pos))
                start = None
            if start is None:
                start = pos
            if ONE_LINE_BLOCK.match(line):
                out.append((start, pos + len(line)))
                start = None
        pos += len(line)
    if start is not None and not fence:
        out.append((start, pos))
    return out


def is_label(span):
    return bool(LABEL.match(span.strip()))


def is_path(span):
    s = span.strip()
    return bool(PATHLIKE.match(s)) and "(" not in s


def read_links(doc, text):
    """Every link of the doc, each with the symbol it names, and the prose code spans."""
    links, spans = [], []
    for pstart, pend in paragraphs(text):
        block = text[pstart:pend]
        symbols = []  # code spans so far in this paragraph that may name a symbol
        for m in TOKEN.finditer(block):
            if m.group("code"):
                span = m.group("code_text").strip()
                spans.append((pstart + m.start(), span))
                if not is_label(span) and not is_path(span):
                    symbols.append(span)
                continue
            inner = [c.group(2).strip() for c in CODE_SPAN.finditer(m.group("text"))]
            own = [s for s in inner if not is_label(s) and not is_path(s)]
            symbol = own[0] if own else (symbols[-1] if symbols else None)
            start = pstart + m.start()
            links.append(Link(doc, start, pstart + m.end(), m.group("text"), pstart + m.start("text"),
                              m.group("target"), pstart + m.start("target"), text.count("\n", 0, start) + 1, symbol))
            symbols += own
    return links, spans


def slugs(text):
    """GitHub's anchors for the headings of a markdown text."""
    seen, out, fence = {}, set(), None
    for line in text.splitlines():
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0]:
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        h = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not h:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h.group(1))
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


# ---- reading code ------------------------------------------------------------

def code_lines(path, text):
    """The file's lines with comments (and C's #include lines) blanked out."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    ext = os.path.splitext(path)[1].lower()
    if ext in C_LIKE:
        return strip_c_comments(lines)
    if ext in HASH_COMMENTS or os.path.basename(path) == "CMakeLists.txt":
        return [strip_hash_comment(line) for line in lines]
    return lines


def strip_c_comments(lines):
    out, in_block = [], False
    for line in lines:
        if not in_block and re.match(r"^\s*#\s*include\b", line):
            out.append("")
            continue
        code, i, quote = [], 0, None
        while i < len(line):
            c = line[i]
            if in_block:
                if line.startswith("*/", i):
                    in_block = False
                    i += 2
                else:
                    i += 1
                continue
            if quote:
                code.append(c)
                if c == "\\" and i + 1 < len(line):
                    code.append(line[i + 1])
                    i += 2
                    continue
                if c == quote:
                    quote = None
                i += 1
                continue
            if line.startswith("//", i):
                break
            if line.startswith("/*", i):
                in_block = True
                i += 2
                continue
            if c in "\"'" and not (c == "'" and i > 0 and line[i - 1].isalnum()):  # 1'000 digit separators
                quote = c
            code.append(c)
            i += 1
        out.append("".join(code))
    return out


def strip_hash_comment(line):
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i]
    return line


def blank_strings(line):
    """The line with the contents of its string and character literals blanked."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[0], line)


def fragment_regex(span):
    """The span's text as a regex: spaces optional, except between two words."""
    tokens = re.findall(r"\w+|\S", span)
    parts = []
    for i, t in enumerate(tokens):
        if i:
            word_pair = re.match(r"\w", tokens[i - 1][-1]) and re.match(r"\w", t[0])
            parts.append(r"\s+" if word_pair else r"\s*")
        parts.append(re.escape(t))
    pattern = "".join(parts)
    if re.match(r"\w", span[0]):
        pattern = r"(?<!\w)" + pattern
    if re.match(r"\w", span[-1]):
        pattern += r"(?!\w)"
    return re.compile(pattern)


def symbol_keys(span):
    """Regexes that find the span in a line, most specific first, and its name (or None).

    Each is a function of a line of code (comments removed): a span with no
    quote in it is looked for outside string literals only, so that an error
    message naming a function does not count as the function."""
    s = span.strip()
    keys, name = [finder(fragment_regex(s), strings="'" in s or '"' in s)], None
    m = NAME_PATH.match(s)
    if m:
        name = m.group(1)
        if name != s:
            keys.append(finder(re.compile(r"(?<!\w)%s(?!\w)" % re.escape(name)), strings=False, defines=name))
    return keys, name


def finder(regex, strings, defines=None):
    """A test of a line: regex found (outside strings unless `strings`), on a
    line that defines or declares `defines` if that is given."""
    def test(line):
        code = line if strings else blank_strings(line)
        return regex.search(code) is not None and (defines is None or rank(code, defines) >= 2)
    return test


def rank(line, name):
    """3: defines `name`, 2: declares it, 1: anything else."""
    if name is None:
        return 1
    n = re.escape(name)
    stripped = line.strip()
    if re.match(r"^\s*(?:template\s*<[^>]*>\s*)?(?:struct|class|union|enum(?:\s+class)?|namespace)\s+%s\b" % n, line) \
            or re.match(r"^\s*using\s+%s\s*=" % n, line) or re.match(r"^\s*#\s*define\s+%s\b" % n, line) \
            or re.match(r"^\s*(?:async\s+)?(?:def|class)\s+%s\b" % n, line):
        return 3
    typed = r"^\s*(?!%s)(?:[\w:<>,]+[\s*&]+)+" % KEYWORDS
    if re.match(typed + r"(?:\w+::)*%s\s*\(" % n, line) or re.match(r"^\s*(?:\w+::)+%s\s*\(" % n, line):
        return 2 if stripped.endswith(";") else 3
    if re.match(typed + r"%s\s*(?:=|;|\{|\[|,|\))" % n, line) or re.search(r"\(\s*\*\s*%s\s*\)\s*\(" % n, line):
        return 2
    return 1


# ---- checking ----------------------------------------------------------------

class Finding:
    def __init__(self, link, problem, kind):
        self.link, self.problem, self.kind = link, problem, kind


class Tree:
    """The repository: files read once, doc commits looked up once."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.cache, self.commits = {}, {}

    def rel(self, path):
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def lines(self, rel):
        if rel not in self.cache:
            with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
                text = f.read()
            self.cache[rel] = (text, code_lines(rel, text))
        return self.cache[rel]

    def committed_line(self, doc, rel, n):
        """Line n of rel as it was when doc was last committed (None without git)."""
        if doc not in self.commits:
            self.commits[doc] = git(self.root, "log", "-1", "--format=%H", "--", doc).strip() or None
        commit = self.commits[doc]
        if not commit:
            return None
        key = (commit, rel)
        if key not in self.cache:
            text = git(self.root, "show", f"{commit}:{rel}")
            self.cache[key] = text.split("\n") if text else []
        old = self.cache[key]
        return old[n - 1] if 0 < n <= len(old) else None


def git(root, *args):
    try:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def docs_of(root):
    docs = []
    if os.path.isfile(os.path.join(root, "README.md")):
        docs.append("README.md")
    folder = os.path.join(root, "docs")
    if os.path.isdir(folder):
        docs += ["docs/" + n for n in sorted(os.listdir(folder)) if n.endswith(".md")]
    return docs


def split_target(link):
    """(path part, anchor or None); path '' means the doc itself."""
    target = link.target.strip("<>")
    path, _, anchor = target.partition("#")
    return path, (anchor if "#" in target else None)


def resolve(tree, link, path):
    """The repository-relative path of a link's file part, or None if it leaves the tree."""
    if path == "":
        return link.doc
    if path.startswith("/"):
        full = os.path.normpath(os.path.join(tree.root, path.lstrip("/")))
    else:
        full = os.path.normpath(os.path.join(tree.root, os.path.dirname(link.doc), path))
    rel = tree.rel(full)
    return None if rel.startswith("../") or rel == ".." else rel


def external(target):
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//", target))


def symbol_lines(tree, rel, link):
    """Lines (1-based) that hold the link's symbol, with their rank, per key in order."""
    _, code = tree.lines(rel)
    keys, name = symbol_keys(link.symbol)
    for key in keys:
        hits = [(i + 1, rank(blank_strings(line), name)) for i, line in enumerate(code) if key(line)]
        if hits:
            return hits
    return []


def holds(tree, rel, link, a, b):
    _, code = tree.lines(rel)
    keys, _ = symbol_keys(link.symbol)
    return any(key(code[i - 1]) for key in keys for i in range(a, b + 1))


def check_link(tree, link):
    """None if the link is good, else a Finding: kind is 'file', 'line', 'symbol', 'label' or 'anchor'."""
    path, anchor = split_target(link)
    rel = resolve(tree, link, path)
    if rel is None:
        return Finding(link, "points outside the repository", "file")
    full = os.path.join(tree.root, rel)
    if not os.path.exists(full):
        return Finding(link, f"{rel} does not exist", "file")
    label = LABEL.match(link.text.strip().strip("`").strip())
    if anchor is None or anchor == "":
        if label:
            return Finding(link, f"label '{label.group(0)}' names a line but the link has no #L anchor", "label")
        return None
    lines = LINE_ANCHOR.match(anchor)
    if not lines:
        if rel.endswith(".md") and os.path.isfile(full):
            text, _ = tree.lines(rel)
            if anchor.lower() not in slugs(text):
                return Finding(link, f"{rel} has no heading '#{anchor}'", "anchor")
            return None
        return Finding(link, f"anchor '#{anchor}' is not a line (#Lnn or #Lnn-Lmm)", "anchor")
    if os.path.isdir(full):
        return Finding(link, f"{rel} is a folder, it has no lines", "line")
    a = int(lines.group(1))
    b = int(lines.group(3)) if lines.group(3) else a
    _, code = tree.lines(rel)
    if a < 1 or b < a or b > len(code):
        return Finding(link, f"line {a if a == b else f'{a}-{b}'} is not in {rel} ({len(code)} lines)", "line")
    if link.symbol and not holds(tree, rel, link, a, b):
        where = f"line {a}" if a == b else f"lines {a}-{b}"
        return Finding(link, f"{where} of {rel} does not hold `{link.symbol}`", "symbol")
    if label:
        want = f"{rel}:{a}" if a == b else f"{rel}:{a}-{b}"
        lb = label.group("b") or label.group("a")
        if resolve_label(label.group("path")) != rel or (int(label.group("a")), int(lb)) != (a, b):
            return Finding(link, f"label '{label.group(0)}' does not match the target (want '{want}')", "label")
    return None


def resolve_label(path):
    return os.path.normpath(path).replace(os.sep, "/")


def check(root):
    """(links, findings, notes) for the docs of the tree at root."""
    tree = Tree(root)
    links, findings, notes = [], [], []
    for doc in docs_of(tree.root):
        text, _ = tree.lines(doc)
        found, spans = read_links(doc, text)
        for link in found:
            if external(link.target):
                continue
            links.append(link)
            finding = check_link(tree, link)
            if finding:
                findings.append(finding)
        for start, span in spans:
            if PROSE_PATH.match(span) and not os.path.exists(os.path.join(tree.root, span)):
                notes.append(f"{doc}:{text.count(chr(10), 0, start) + 1}: `{span}` -> note: no such file or folder")
    return tree, links, findings, notes


# ---- fixing ------------------------------------------------------------------

def choose(tree, link, rel, hits, old_line):
    """The one line the symbol is at now, or (None, why)."""
    best = max(r for _, r in hits)
    top = [n for n, r in hits if r == best]
    if len(top) == 1:
        return top[0], None
    remembered = tree.committed_line(link.doc, rel, old_line) if old_line else None
    if remembered is not None:
        text, _ = tree.lines(rel)
        lines = text.split("\n")
        same = [n for n in top if lines[n - 1].strip() == remembered.strip()]
        if len(same) == 1:
            return same[0], None
    kind = {3: "definitions", 2: "declarations", 1: "lines"}[best]
    shown = ", ".join(str(n) for n in top[:8]) + (", ..." if len(top) > 8 else "")
    return None, f"ambiguous: `{link.symbol}` has {len(top)} {kind} in {rel} (lines {shown})"


def relocate(tree, link, old_rel):
    """The one file of the same kind that defines the link's symbol: (rel, line) or (None, why)."""
    if not link.symbol:
        return None, "names no symbol to look for elsewhere"
    ext = os.path.splitext(old_rel)[1]
    keys, name = symbol_keys(link.symbol)
    found = []
    for folder in SOURCE_FOLDERS:
        for dirpath, dirnames, files in os.walk(os.path.join(tree.root, folder)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for f in sorted(files):
                if not f.endswith(ext) or not ext:
                    continue
                rel = tree.rel(os.path.join(dirpath, f))
                _, code = tree.lines(rel)
                for i, line in enumerate(code):
                    if any(k(line) for k in keys) and rank(blank_strings(line), name) == 3:
                        found.append((rel, i + 1))
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"no {ext or 'such'} file defines `{link.symbol}`"
    return None, "ambiguous: `%s` is defined in %s" % (link.symbol, ", ".join(f"{r}:{n}" for r, n in found[:6]))


def fix_link(tree, link, finding):
    """Edits [(start, end, text)] that fix the link, or (None, why)."""
    path, anchor = split_target(link)
    lines = LINE_ANCHOR.match(anchor or "")
    rel = resolve(tree, link, path)
    if finding.kind == "file":
        if rel is None or not lines:
            return None, "fix the path by hand"
        found, why = relocate(tree, link, rel)
        if not found:
            return None, why
        new_rel, n = found
        length = (int(lines.group(3)) - int(lines.group(1))) if lines.group(3) else 0
        return edits_for(tree, link, new_rel, n, n + length, lines.group(2) if lines.group(3) else None, True), None
    if finding.kind == "label":
        if not lines:
            return None, "fix the label by hand"
        a = int(lines.group(1))
        b = int(lines.group(3)) if lines.group(3) else a
        return edits_for(tree, link, rel, a, b, lines.group(2) if lines.group(3) else None, False), None
    if finding.kind not in ("symbol", "line") or not lines:
        return None, "fix by hand"
    if not link.symbol:
        return None, "names no symbol, so there is nothing to look for"
    a = int(lines.group(1))
    length = int(lines.group(3)) - a if lines.group(3) else 0
    hits = symbol_lines(tree, rel, link)
    if not hits:
        return None, f"`{link.symbol}` is nowhere in {rel}"
    n, why = choose(tree, link, rel, hits, a)
    if n is None:
        return None, why
    _, code = tree.lines(rel)
    if n + length > len(code):
        return None, f"the range {n}-{n + length} would run past the end of {rel}"
    return edits_for(tree, link, rel, n, n + length, lines.group(2) if lines.group(3) else None, False), None


def edits_for(tree, link, rel, a, b, second_l, new_path):
    """Rewrite the target's anchor (and path, if new_path) and a label in the link text."""
    path, _ = split_target(link)
    anchor = f"L{a}" if b == a and second_l is None else f"L{a}-{second_l or ''}{b}"
    if new_path:
        path = os.path.relpath(os.path.join(tree.root, rel), os.path.join(tree.root, os.path.dirname(link.doc)))
        path = path.replace(os.sep, "/")
    edits = [(link.target_start, link.target_start + len(link.target), f"{path}#{anchor}")]
    stripped = link.text.strip().strip("`").strip()
    label = LABEL.match(stripped)
    if label:
        offset = link.text.index(stripped)
        numbers = f"{a}" if b == a else f"{a}{label.group('dash') or '-'}{b}"
        new = f"{rel}:{numbers}" if (new_path or resolve_label(label.group('path')) != rel) else \
            f"{label.group('path')}:{numbers}"
        edits.append((link.text_start + offset, link.text_start + offset + len(stripped), new))
    return edits


def fix(root):
    """Fix what can be fixed; return (links, fixed, unfixable findings with reasons)."""
    tree, links, findings, _ = check(root)
    by_doc, fixed, unfixable = {}, 0, []
    for finding in findings:
        edits, why = fix_link(tree, finding.link, finding)
        if edits is None:
            unfixable.append((finding, why))
            continue
        by_doc.setdefault(finding.link.doc, []).extend(edits)
        fixed += 1
    for doc, edits in by_doc.items():
        text, _ = tree.lines(doc)
        for start, end, new in sorted(edits, reverse=True):
            text = text[:start] + new + text[end:]
        with open(os.path.join(tree.root, doc), "w", encoding="utf-8") as f:
            f.write(text)
    return links, fixed, unfixable


# ---- the command -------------------------------------------------------------

def report(finding, extra=""):
    link = finding.link
    return f"{link.doc}:{link.line}: {link.target} -> {finding.problem}{extra}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("--fix", action="store_true", help="rewrite stale #Lnn anchors, list what cannot be fixed")
    parser.add_argument("--self-test", action="store_true", help="check each verdict on a scratch tree")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if args.fix:
        links, fixed, unfixable = fix(args.root)
        for finding, why in unfixable:
            print(report(finding, f"; not fixed: {why}"))
        _, links, findings, _ = check(args.root)
        print(f"check_doc_links --fix: {len(links)} links, {fixed} fixed, {len(unfixable)} unfixable, "
              f"{len(findings)} still broken")
        return 1 if findings else 0
    _, links, findings, notes = check(args.root)
    for finding in findings:
        print(report(finding))
    for note in notes:
        print(note)
    line_links = [link for link in links if LINE_ANCHOR.match(split_target(link)[1] or "")]
    unnamed = sum(1 for link in line_links if not link.symbol)
    print(f"check_doc_links: {len(links)} links, {len(findings)} broken "
          f"({len(line_links)} to lines, {unnamed} of them naming no symbol)")
    return 1 if findings else 0


# ---- self-test ---------------------------------------------------------------

SELF_TEST_CODE = """\
#include "relu.hpp"

// relu: y = max(x, 0); relu_backward passes dy where y > 0
static void relu_backward(Node& n) {
  for (int i = 0; i < n; ++i) dx[i] += y[i] > 0 ? dy[i] : 0;
}

Tensor relu(const Tensor& x) {
  if (!x) throw Error("relu: no input");
  return make_result("relu", x, relu_backward);
}

void twin(int a) {}
void twin(double a) {}
"""

SELF_TEST_DOC = """\
# Notes

`relu` is at [`src/a.cpp:8`](../src/a.cpp#L8), its backward
`relu_backward` at [`src/a.cpp:4`](../src/a.cpp#L4).

The mask `y[i] > 0 ? dy[i] : 0` is at [`src/a.cpp:5`](../src/a.cpp#L5).

Gone: `relu` in [`src/gone.cpp:3`](../src/gone.cpp#L3).

Stale: `relu` at [`src/a.cpp:2`](../src/a.cpp#L2).

A range: `relu` at [`src/a.cpp:1-2`](../src/a.cpp#L1-L2).

A twin: `twin` at [`src/a.cpp:3`](../src/a.cpp#L3).

Nothing named, past the end: [here](../src/a.cpp#L99). Nothing named, fine: [there](../src/a.cpp#L1).

The label lies: `relu` at [`src/a.cpp:9`](../src/a.cpp#L8).

Headings: [ok](#notes), [bad](#no-such-heading). A web page: [x](https://example.com/y).

- `relu_backward`, one item;
- the next item names nothing: [line 1](../src/a.cpp#L1).

A message is not the function: `relu` at [`src/a.cpp:9`](../src/a.cpp#L9).

A call matches its definition: `n.relu_backward()` at [`src/a.cpp:4`](../src/a.cpp#L4), not
another call: `n.relu_backward()` at [`src/a.cpp:10`](../src/a.cpp#L10).
"""


def self_test():
    """Each kind of link on a scratch tree: the check's verdicts, then --fix's."""
    results = []

    def expect(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")

    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "src"))
        os.makedirs(os.path.join(root, "docs"))
        with open(os.path.join(root, "src", "a.cpp"), "w") as f:
            f.write(SELF_TEST_CODE)
        with open(os.path.join(root, "docs", "notes.md"), "w") as f:
            f.write(SELF_TEST_DOC)
        _, links, findings, _ = check(root)
        verdict = {}
        for f in findings:
            verdict[(f.link.line, f.link.target)] = f.kind

        def v(line, target):
            return verdict.get((line, target), "good")

        expect("16 repository links found (the web link is skipped)", len(links) == 16,
               f"found {len(links)}")
        expect("a good link to a definition", v(3, "../src/a.cpp#L8") == "good", v(3, "../src/a.cpp#L8"))
        expect("a symbol named before the link, on the line before", v(4, "../src/a.cpp#L4") == "good")
        expect("a code fragment on its line", v(6, "../src/a.cpp#L5") == "good", v(6, "../src/a.cpp#L5"))
        expect("a link to a missing file", v(8, "../src/gone.cpp#L3") == "file", v(8, "../src/gone.cpp#L3"))
        expect("a line that no longer holds its symbol", v(10, "../src/a.cpp#L2") == "symbol",
               v(10, "../src/a.cpp#L2"))
        expect("a range that does not hold its symbol (an #include naming it does not count)",
               v(12, "../src/a.cpp#L1-L2") == "symbol")
        expect("no symbol named, line past the end", v(16, "../src/a.cpp#L99") == "line", v(16, "../src/a.cpp#L99"))
        expect("no symbol named, line in the file", v(16, "../src/a.cpp#L1") == "good")
        expect("a label that disagrees with its target", v(18, "../src/a.cpp#L8") == "label",
               v(18, "../src/a.cpp#L8"))
        expect("a heading anchor that exists", v(20, "#notes") == "good")
        expect("a heading anchor that does not", v(20, "#no-such-heading") == "anchor")
        expect("a list item names nothing of the item before", v(23, "../src/a.cpp#L1") == "good",
               v(23, "../src/a.cpp#L1"))
        expect("a call's name on the line that defines it", v(27, "../src/a.cpp#L4") == "good",
               v(27, "../src/a.cpp#L4"))
        expect("a call's name on another call's line", v(28, "../src/a.cpp#L10") == "symbol",
               v(28, "../src/a.cpp#L10"))
        expect("a string literal naming the symbol does not count", v(25, "../src/a.cpp#L9") == "symbol",
               v(25, "../src/a.cpp#L9"))

        links, fixed, unfixable = fix(root)
        with open(os.path.join(root, "docs", "notes.md")) as f:
            after = f.read()
        left = {(f.link.line, f.link.target): why for f, why in unfixable}
        expect("--fix moves a stale line to its symbol's definition, label too",
               "Stale: `relu` at [`src/a.cpp:8`](../src/a.cpp#L8)." in after)
        expect("--fix keeps a range's length", "[`src/a.cpp:8-9`](../src/a.cpp#L8-L9)" in after)
        expect("--fix refuses an ambiguous symbol", "[`src/a.cpp:3`](../src/a.cpp#L3)" in after
               and "ambiguous" in left.get((14, "../src/a.cpp#L3"), ""), str(left))
        expect("--fix refuses a missing file it cannot place", (8, "../src/gone.cpp#L3") in left
               or "../src/a.cpp#L8)." in after.split("Gone:")[1].split("\n")[0])
        expect("--fix moves a link off a message to the definition",
               "the function: `relu` at [`src/a.cpp:8`](../src/a.cpp#L8)." in after)
        expect("--fix moves a call's link to the definition",
               "another call: `n.relu_backward()` at [`src/a.cpp:4`](../src/a.cpp#L4)." in after)
        expect("--fix corrects a lying label", "The label lies: `relu` at [`src/a.cpp:8`](../src/a.cpp#L8)." in after)
        expect("--fix leaves a nameless line past the end for a person", (16, "../src/a.cpp#L99") in left)
        expect("--fix leaves the good links alone", "`relu` is at [`src/a.cpp:8`](../src/a.cpp#L8)" in after
               and "[`src/a.cpp:5`](../src/a.cpp#L5)" in after)
        _, _, findings, _ = check(root)
        expect("after --fix only the unfixable links are broken", len(findings) == len(unfixable),
               f"{len(findings)} broken, {len(unfixable)} unfixable")

        # A file that moved: the one definition elsewhere is found.
        os.makedirs(os.path.join(root, "lib"))
        os.rename(os.path.join(root, "src", "a.cpp"), os.path.join(root, "lib", "b.cpp"))
        with open(os.path.join(root, "docs", "notes.md"), "w") as f:
            f.write("`relu_backward` at [`src/a.cpp:4`](../src/a.cpp#L4).\n")
        _, _, findings, _ = check(root)
        expect("a moved file is a missing file", [f.kind for f in findings] == ["file"])
        # lib/ is not a source folder of the repository; put it in one.
        os.makedirs(os.path.join(root, "core"))
        os.rename(os.path.join(root, "lib", "b.cpp"), os.path.join(root, "core", "b.cpp"))
        fix(root)
        with open(os.path.join(root, "docs", "notes.md")) as f:
            after = f.read()
        expect("--fix follows a symbol to the one file that defines it",
               after == "`relu_backward` at [`core/b.cpp:4`](../core/b.cpp#L4).\n", after)

    failed = results.count(False)
    print(f"self-test: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
