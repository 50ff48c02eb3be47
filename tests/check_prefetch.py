#!/usr/bin/env python3
"""Fails unless the GEMM's cache prefetches are in the compiled code.

GCC deletes the calls to a function that does nothing but prefetch (it takes
such a function for one without effects), and says nothing: a hint written in
core/gemm.cpp can be missing from the binary while the source still reads as
if it were there. It was, for eight rounds of issue 12 (docs/PERFORMANCE.md,
twenty-first round). This reads the disassembly of the core library's objects
and requires, in the object that holds the GEMM:
  - prefetch_tile (a tile's lines of C, asked for before the sums) with a
    prefetch instruction in it, and a call to it;
  - a prefetch outside prefetch_tile (the packing's prefetch_rows_ahead,
    inlined into the packing).
x86-64 only (CMake adds the test there).

usage: check_prefetch.py OBJDUMP OBJECT...
       check_prefetch.py --self-test
"""
import re
import subprocess
import sys

FUNCTION = re.compile(r"^[0-9a-f]+ <(.*)>:$")
INSTRUCTION = re.compile(r"^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$")


def functions(disassembly):
    """{function name: [(mnemonic, operands), ...]} of `objdump -d -C` output."""
    out, current = {}, None
    for line in disassembly.splitlines():
        m = FUNCTION.match(line)
        if m:
            current = out.setdefault(m.group(1), [])
            continue
        m = INSTRUCTION.match(line)
        if m and current is not None:
            current.append((m.group(1), m.group(2)))
    return out


def problems(funcs):
    """What is missing from one object's functions (empty: all there)."""
    tiles = [name for name in funcs if "prefetch_tile(" in name]
    if not tiles:
        return ["no function prefetch_tile (deleted, or inlined away with its prefetches)"]
    found = []
    if not any(op.startswith("prefetch") for name in tiles for op, _ in funcs[name]):
        found.append("prefetch_tile has no prefetch instruction")
    if not any(op.startswith("call") and "prefetch_tile(" in args
               for name, body in funcs.items() if name not in tiles for op, args in body):
        found.append("nothing calls prefetch_tile")
    if not any(op.startswith("prefetch") for name, body in funcs.items() if name not in tiles for op, _ in body):
        found.append("no prefetch outside prefetch_tile (the packing's prefetch_rows_ahead)")
    return found


def self_test():
    good = """
0000000000000010 <xg::(anonymous namespace)::prefetch_tile(float const*, float const*, int, int, int)>:
  10:\tprefetchw (%rax)
  14:\tret
0000000000000020 <xg::(anonymous namespace)::pack_transposed(float const*, int, int, int, int, int, float*)>:
  20:\tprefetcht0 0x100(%rdi)
  24:\tcall   10 <xg::(anonymous namespace)::prefetch_tile(float const*, float const*, int, int, int)>
"""
    assert problems(functions(good)) == [], problems(functions(good))
    no_call = good.replace("call   10", "jmp    10")
    assert problems(functions(no_call)) == ["nothing calls prefetch_tile"]
    no_pack = good.replace("prefetcht0 0x100(%rdi)", "vmovups (%rdi),%zmm0")
    assert problems(functions(no_pack)) == ["no prefetch outside prefetch_tile (the packing's prefetch_rows_ahead)"]
    empty_tile = good.replace("prefetchw (%rax)", "nop")
    assert problems(functions(empty_tile)) == ["prefetch_tile has no prefetch instruction"]
    assert problems(functions("0000000000000020 <f()>:\n  20:\tret\n"))[0].startswith("no function prefetch_tile")
    print("check_prefetch self-test: ok")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[-2].strip(), file=sys.stderr)
        return 2
    # CMake passes $<TARGET_OBJECTS:...> as one argument, its paths joined by ';'.
    objdump, objects = argv[1], [o for arg in argv[2:] for o in arg.split(";") if o]
    gemm_objects = 0
    failures = []
    for obj in objects:
        text = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", obj], check=True,
                              capture_output=True, text=True).stdout
        funcs = functions(text)
        if not any("xg::gemm(" in name for name in funcs):  # not the object with the GEMM in it
            continue
        gemm_objects += 1
        failures += [f"{obj}: {p}" for p in problems(funcs)]
    if gemm_objects == 0:
        failures.append("no object defines xg::gemm(): " + " ".join(objects))
    for f in failures:
        print("check_prefetch: " + f, file=sys.stderr)
    if not failures:
        print(f"check_prefetch: prefetch_tile and the packing's prefetch are in {gemm_objects} object(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
