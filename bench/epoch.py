#!/usr/bin/python3
"""xgrad's training epoch against the OpenBLAS floor and PyTorch, measured honestly.

  bench/epoch.py [--build DIR] [--runs N] [--skip installed,tta,...] [--arch cnn]

Every figure comes from a process of its own, and the processes run
round-robin (run 1 of each, then run 2 of each, ...), so a slow minute of the
machine hits all of them alike. Each figure is reported as the median, min and
max of --runs runs (default 5); every result line names the CPU model, the
OpenBLAS kernel and the date. See docs/PERFORMANCE.md for the method.

Each ratio is of the medians, and beside it "paired", the median of the ratios
within each round (run i of one figure against run i of the other, seconds
apart), and "fastest", of the fastest runs: some hosts switch between a fast and
a slow spell from one process to the next (seen on an Intel Xeon model 207: the
same epoch 0.53-0.60 s in one spell, 0.80-0.89 s in the other, OpenBLAS alike),
and a median of a few runs then depends on how many of each figure's runs the
slow spell caught. A spell that lasts a round slows both runs of a pair; the
fastest runs compare the two sides both in the fast spell.

Figures (the reference workload: Fashion-MNIST, MLP 784-256-128-10, ReLU,
softmax cross-entropy, plain SGD lr 0.1, batch 64):
  floor T      xgrad_floor --threads T: the GEMMs of one epoch through OpenBLAS
               (bench/training_gemms.hpp), OPENBLAS_NUM_THREADS=T
  gemms T      xgrad_bench --epoch-gemms --threads T: the same GEMMs through xg::gemm
  xgrad T      xgrad train ... --epochs 2 --threads T: the `seconds` of epoch 2 in
               --metrics (the whole training loop: data, forward, loss, backward,
               SGD; no evaluation); also its peak RSS (/usr/bin/time -f %M)
  core round trip ns   xgrad_bench --core-round-trip, before each run's figures:
               a cache line from CPU 0 to CPU 1 and back (see xgrad_bench.cpp);
               on a VM it tells which placement of the vCPUs a run had
  fma peak GFLOP/s     xgrad_bench --fma-peak, before each run's figures: one core
               doing only FMAs on the library's SIMD batches, the ceiling of any
               GEMM here; the summary gives floor and xgrad as shares of it
               (the epoch's GEMM FLOPs, as xgrad_floor counts them, per second,
               over the peak times the threads)
  torch t/b    bench/torch_mlp.py epoch --threads t (1 and 2) with OPENBLAS_NUM_THREADS=b (2):
               one epoch after 50 warm-up steps; "torch best" is the faster median;
               a setting whose first run takes over 2x the other's runs only once
  torch installed   the same with nothing set: PyTorch's and OpenBLAS's defaults
Then (section "tta") time to accuracy: wall seconds from starting the process
until it prints the first epoch whose test accuracy is >= 0.88, for `xgrad
train` and torch_mlp.py tta (capped at 15 epochs), once for each of
--tta-seeds seeds (default 3; both programs take --seed, xgrad and torch in
turn for each seed), and the median over the seeds: 0.88 lies near this
recipe's plateau, where the test accuracy moves by a point or two from one
epoch to the next, so the epoch a single run first reaches it depends on its
seed as much as on the program (on an Intel Xeon model 207: xgrad's seeds 0-4
first reached it at epochs 12, 8, 9, 8 and 7, PyTorch's seeds 0-2 at 7, 8 and 11).

With --arch cnn the workload is xgrad's `--arch cnn` network with the same
SGD recipe, against the same network in PyTorch; there is no GEMM floor for it
(floor and gemms are skipped), and time to accuracy aims at 0.90.

OPENBLAS_CORETYPE: Debian's OpenBLAS 0.3.21 misdetects recent CPUs as
Prescott, so the floor and "torch best" run with OPENBLAS_CORETYPE=SkylakeX
when the CPU has AVX-512 (else OpenBLAS's own choice); "torch installed" runs
with the variable unset.

Other guests: a virtual machine's load average does not count other guests on
the host's cores, which slow the two-thread figures most. After the ratios a
"host busy?" line names each sign of them in the bench's own figures: OpenBLAS
gaining under 1.2x from a second thread, the lowest FMA peak probe under 0.8 of
the highest, the highest core round trip over 3 times the lowest, the slowest
run of a timed figure over 1.25 times its fastest.
"""
import argparse
import atexit
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = ["--data", "fashion-mnist", "--hidden", "256,128", "--batch", "64", "--lr", "0.1",
          "--momentum", "0", "--schedule", "none"]
TORCH_BEST_CONFIGS = [(1, 2), (2, 2)]  # (torch.set_num_threads, OPENBLAS_NUM_THREADS)


def cpu_info():
    """(model name with family/model, has AVX-512 F/BW/DQ/VL) from /proc/cpuinfo."""
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if not line.strip():
                break  # the first processor is enough
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    name = "%s (family %s model %s, %d cores)" % (fields.get("model name", "unknown CPU"), fields.get("cpu family", "?"),
                                                  fields.get("model", "?"), os.cpu_count() or 0)
    return name, {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def clean_env(**settings):
    """The environment without any OpenMP/OpenBLAS tuning, plus settings (None: unset)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENBLAS_", "OMP_", "GOMP_", "MKL_"))}
    env.update({k: v for k, v in settings.items() if v is not None})
    return env


WORKDIR = tempfile.mkdtemp(prefix="xgrad-epoch-")  # xgrad train saves its model in the working directory
atexit.register(shutil.rmtree, WORKDIR, True)


def run(cmd, env):
    p = subprocess.run(cmd, env=env, cwd=WORKDIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("epoch.py: %s failed (exit %d):\n%s" % (" ".join(cmd), p.returncode, p.stderr))
    return p.stdout


def field(text, name):
    m = re.search(r"\b%s=(\S+)" % name, text)
    if not m:
        sys.exit("epoch.py: no %s= in output:\n%s" % (name, text))
    return m.group(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"),
                    help="the build directory holding xgrad, xgrad_floor, xgrad_bench (default: build)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma list of sections to leave out: floor,gemms,xgrad,torch,installed,tta")
    ap.add_argument("--python", default="/usr/bin/python3", help="the Python with torch (Debian's)")
    ap.add_argument("--arch", choices=["mlp", "cnn"], default="mlp", help="the network (default: the reference MLP)")
    ap.add_argument("--tta-seeds", type=int, default=3, help="seeds for the time to accuracy, 0, 1, ... (default 3)")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    recipe, target = (RECIPE, 0.88)
    if a.arch == "cnn":
        recipe, target = ([f for f in RECIPE if f != "256,128" and f != "--hidden"] + ["--arch", "cnn"], 0.90)
        skip |= {"floor", "gemms"}
    if a.runs < 1:
        ap.error("--runs must be >= 1")  # exit status 2, as for any bad flag
    if a.tta_seeds < 1:
        ap.error("--tta-seeds must be >= 1")
    xgrad, floor, bench = (os.path.abspath(os.path.join(a.build, n)) for n in ("xgrad", "xgrad_floor", "xgrad_bench"))
    for exe in (xgrad, floor, bench):
        if not os.access(exe, os.X_OK):
            sys.exit("epoch.py: %s not found; build with OpenBLAS installed (bench/ needs it) or pass --build" % exe)

    cpu, avx512 = cpu_info()
    coretype = "SkylakeX" if avx512 else None
    floor_line = run([floor, "--threads", "1"], clean_env(OPENBLAS_CORETYPE=coretype, OPENBLAS_NUM_THREADS="1"))
    core, epoch_gflop = field(floor_line, "core"), float(field(floor_line, "epoch_gflop"))
    stamp = "| cpu=%s openblas=%s date=%s" % (cpu, core, datetime.date.today().isoformat())
    tmp = WORKDIR

    def xgrad_epoch(threads, results):
        metrics, rss = os.path.join(tmp, "m.jsonl"), os.path.join(tmp, "rss")
        run(["/usr/bin/time", "-f", "%M", "-o", rss, xgrad, "train", *recipe, "--epochs", "2", "--threads", str(threads),
             "--quiet", "--metrics", metrics], clean_env())
        with open(metrics) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        with open(rss) as f:
            results.setdefault("xgrad peak RSS MB", []).append(int(f.read().split()[-1]) / 1024)
        return lines[-1]["seconds"]

    figures = []  # (name, function returning seconds)
    if a.arch == "mlp" and "gemms" not in skip:
        figures.append(("core round trip ns", lambda r: float(field(run([bench, "--core-round-trip"], clean_env()), "ns"))))
        figures.append(("fma peak GFLOP/s", lambda r: float(field(run([bench, "--fma-peak"], clean_env()), "gflops"))))
    for t in (1, 2):
        if "floor" not in skip:
            figures.append(("floor %d" % t, lambda r, t=t: float(field(run(
                [floor, "--threads", str(t)], clean_env(OPENBLAS_CORETYPE=coretype, OPENBLAS_NUM_THREADS=str(t))),
                "seconds"))))
        if "gemms" not in skip:
            figures.append(("gemms %d" % t, lambda r, t=t: float(field(run(
                [bench, "--epoch-gemms", "--threads", str(t)], clean_env()), "seconds"))))
        if "xgrad" not in skip:
            figures.append(("xgrad %d" % t, lambda r, t=t: xgrad_epoch(t, r)))
    torch = [a.python, os.path.join(HERE, "torch_mlp.py"), "epoch", "--arch", a.arch]
    if "torch" not in skip:
        for t, b in TORCH_BEST_CONFIGS:
            figures.append(("torch %d/%d" % (t, b), lambda r, t=t, b=b: float(field(run(
                torch + ["--threads", str(t)], clean_env(OPENBLAS_CORETYPE=coretype, OPENBLAS_NUM_THREADS=str(b))),
                "seconds"))))
    if "installed" not in skip:
        figures.append(("torch installed", lambda r: float(field(run(torch, clean_env()), "seconds"))))

    print("load average at start: %s" % loadavg())
    results = {}
    for i in range(a.runs if figures else 0):
        for name, measure in figures:
            results.setdefault(name, []).append(measure(results))
        if i == 0:  # a torch setting over 2x the fastest one's first run is not its best: run it no more
            torch_first = {n: v[0] for n, v in results.items() if re.match(r"torch \d", n)}
            dropped = {n for n, v in torch_first.items() if v > 2 * min(torch_first.values())}
            figures = [(n, m) for n, m in figures if n not in dropped]
        print("run %d of %d: %s" % (i + 1, a.runs, ", ".join("%s %.3f" % (k, v[i]) for k, v in results.items() if len(v) > i)),
              file=sys.stderr, flush=True)

    med = {k: statistics.median(v) for k, v in results.items()}
    if figures:
        print("load average at end:   %s (other processes on these cores slow the 2-thread figures most)" % loadavg())
        print("seconds per epoch, median min max of %d runs (one process each, round-robin):" % a.runs)
    for name, v in results.items():
        print("%-20s %8.3f %8.3f %8.3f %-2s (%d runs)  %s" % (name, med[name], min(v), max(v), unit_of(name), len(v), stamp))
    signs = host_warnings(results)  # before "torch best" joins results as another name for a torch figure

    fastest = {k: min(v) for k, v in results.items()}

    def ratio(label, num, den):
        if num in med and den in med:
            pairs = [n / d for n, d in zip(results[num], results[den])]
            print("%-34s %6.2f  (paired %5.2f, fastest %5.2f)  %s" % (
                label, med[num] / med[den], statistics.median(pairs), fastest[num] / fastest[den], stamp))

    ratio("xgrad/floor, 1 thread", "xgrad 1", "floor 1")
    ratio("xgrad/floor, 2 threads", "xgrad 2", "floor 2")
    ratio("xgrad gemms/floor, 1 thread", "gemms 1", "floor 1")
    ratio("xgrad gemms/floor, 2 threads", "gemms 2", "floor 2")
    ratio("speed-up 1->2 threads, xgrad", "xgrad 1", "xgrad 2")
    ratio("speed-up 1->2 threads, floor", "floor 1", "floor 2")
    torch_best = min((k for k in med if re.match(r"torch \d", k)), key=med.get, default=None)
    xgrad_best = min((k for k in med if k.startswith("xgrad ") and "MB" not in k), key=med.get, default=None)
    if torch_best and xgrad_best:
        med["torch best"], fastest["torch best"] = med[torch_best], fastest[torch_best]
        results["torch best"] = results[torch_best]
        ratio("torch best (%s)/xgrad (%s)" % (torch_best[6:], xgrad_best[6:] + "T"), "torch best", xgrad_best)
    if xgrad_best:
        ratio("torch installed/xgrad (%sT)" % xgrad_best[6:], "torch installed", xgrad_best)
    for sign in signs:
        print("host busy? %s: the thread figures say more about the host than about xgrad  %s" % (sign, stamp))
    peak = "fma peak GFLOP/s"
    for t in (1, 2):
        shares = []
        for name in ("floor %d" % t, "gemms %d" % t, "xgrad %d" % t):
            if name in med and peak in med:  # paired: each run's seconds against that run's peak
                paired = [epoch_gflop / s / (p * t) for s, p in zip(results[name], results[peak])]
                shares.append("%s %.2f" % (name.split()[0], statistics.median(paired)))
        if shares:
            print("%-34s %s  %s" % ("share of FMA peak, %d thread%s" % (t, "s" if t > 1 else ""), ", ".join(shares), stamp))

    if "tta" not in skip:
        xgrad_threads = xgrad_best[6:] if xgrad_best else "0"
        t, b = (int(x) for x in torch_best[6:].split("/")) if torch_best else (1, 2)
        # (name, command without --seed, environment, accuracy of an output line): xgrad, then PyTorch.
        programs = [
            ("xgrad (--threads %s)" % xgrad_threads,
             [xgrad, "train", *recipe, "--epochs", "15", "--threads", xgrad_threads, "--quiet"], clean_env(),
             xgrad_row_accuracy),
            ("torch %d/%d" % (t, b), torch[:2] + ["tta", "--arch", a.arch, "--target", str(target), "--threads", str(t)],
             clean_env(OPENBLAS_CORETYPE=coretype, OPENBLAS_NUM_THREADS=str(b)), torch_row_accuracy)]
        reached = [[] for _ in programs]  # seconds per seed, None where not reached
        for seed in range(a.tta_seeds):
            for (name, cmd, env, accuracy_of), seconds in zip(programs, reached):
                seconds.append(time_to_accuracy(name, seed, cmd + ["--seed", str(seed)], env, accuracy_of, stamp, target))
        median = [median_reached(v) for v in reached]
        text = ["%s %s" % (p[0], "%.2f s" % m if m != float("inf") else "not reached") for p, m in zip(programs, median)]
        ratio_text = "%.2f" % (median[0] / median[1]) if float("inf") not in median else "-"
        print("time to %.2f test accuracy, median of %d seed%s: %s, %s, xgrad/torch %s  %s" % (
            target, a.tta_seeds, "s" if a.tta_seeds > 1 else "", text[0], text[1], ratio_text, stamp))


def unit_of(figure):
    """The unit of a figure's values, by its name: "s" for the timed ones."""
    return "MB" if "MB" in figure else "ns" if figure.endswith(" ns") else "" if figure.endswith("GFLOP/s") else "s"


def host_warnings(results):
    """Signs in the probes that the host shares these cores with someone else.

    The load average inside a virtual machine does not count other guests on the
    host's cores, and the bench's thread figures then say more about the host
    than about xgrad. Four signs, each measured in every round. Thresholds from
    an Intel Xeon model 167, quiet one morning and busy that afternoon
    (docs/PERFORMANCE.md, twenty-first and twenty-second rounds): quiet, the
    floor's speed-up was 1.45-1.51 in each invocation, the FMA peak probes within
    0.88 and the core round trips within 1.73 of each other, and each timed
    figure's slowest run within 1.17 times its fastest; busy, each of eight
    invocations showed at least one of the first three signs.
    results: {figure name: [value per run]}. Returns one line per sign seen."""
    out = []
    if results.get("floor 1") and results.get("floor 2"):
        gain = statistics.median(results["floor 1"]) / statistics.median(results["floor 2"])
        if gain < 1.2:
            out.append("OpenBLAS gained only %.2fx from a second thread" % gain)
    peak = results.get("fma peak GFLOP/s", [])
    if len(peak) > 1 and min(peak) < 0.8 * max(peak):
        out.append("the core's FMA peak ranged %.0f-%.0f GFLOP/s between runs" % (min(peak), max(peak)))
    trip = results.get("core round trip ns", [])
    if len(trip) > 1 and max(trip) > 3 * min(trip):
        out.append("the round trip between the cores ranged %.0f-%.0f ns" % (min(trip), max(trip)))
    # The timed figures (seconds; three runs or more), the widest spread of them.
    timed = [(max(v) / min(v), name, v) for name, v in results.items()
             if unit_of(name) == "s" and len(v) >= 3 and min(v) > 0]
    if timed:
        spread, name, v = max(timed)
        if spread > 1.25:
            out.append("the runs of '%s' ranged %.3f-%.3f s (%.2fx)" % (name, min(v), max(v), spread))
    return out


def xgrad_row_accuracy(line):
    """The test accuracy of an `xgrad train --quiet` epoch row ("3/15  0.41  0.85  0.45  0.84 ..."), else None."""
    cells = [c for c in re.split(r"[\s│|]+", line) if c]
    if len(cells) >= 5 and re.fullmatch(r"\d+/\d+", cells[0]):
        return float(cells[4])
    return None


def torch_row_accuracy(line):
    """The test accuracy of a `torch_mlp.py tta` epoch line ("epoch=3 test_acc=0.8693 seconds=1.40"), else None."""
    return float(field(line, "test_acc")) if line.startswith("epoch=") else None


def median_reached(seconds):
    """The median of time_to_accuracy's results, a seed that never got there (None) counting as slower than
    every seed that did: inf when half or more never did."""
    return statistics.median([x if x is not None else float("inf") for x in seconds])


def time_to_accuracy(name, seed, cmd, env, accuracy_of, stamp, target=0.88):
    """Wall seconds from starting cmd until it prints an epoch with accuracy >= target (then stops it); None if
    it never does."""
    t0 = time.perf_counter()
    reached, epochs = None, 0
    with subprocess.Popen(cmd, env=env, cwd=WORKDIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as p:
        for line in p.stdout:
            acc = accuracy_of(line)
            if acc is None:
                continue
            epochs += 1
            if acc >= target:
                reached = time.perf_counter() - t0
                p.kill()  # the rest of its run is not timed
                break
    if reached is None and p.returncode != 0:
        sys.exit("epoch.py: %s failed (exit %d)" % (" ".join(cmd), p.returncode))
    if reached is None:
        print("time to %.2f test accuracy, %-22s seed %d  not reached in %d epochs  %s" % (
            target, name, seed, epochs, stamp), flush=True)
    else:
        print("time to %.2f test accuracy, %-22s seed %d %6.2f s (epoch %d)  %s" % (
            target, name, seed, reached, epochs, stamp), flush=True)
    return reached


if __name__ == "__main__":
    main()
