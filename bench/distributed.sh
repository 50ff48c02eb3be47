#!/usr/bin/env bash
# Data-parallel scaling on this machine (docs/DISTRIBUTED.md): the same run as
# 1 process x 1 thread, 1 process x 2 threads and `mpirun -np 2` x 1 thread,
# for the MLP on Fashion-MNIST and for a generated CSV table, at two batch
# sizes. Prints seconds per training epoch (the mean of the epochs after the
# first; evaluation excluded), the speed-up over 1 x 1 and the scaling
# efficiency (speed-up / cores), and the CPU it ran on.
#
#   bench/distributed.sh [build/xgrad]      (EPOCHS=3 by default)
#
# Run it on an idle machine: every configuration uses two cores at most, and
# other processes on them distort the ratios.
set -euo pipefail
xgrad=$(realpath "${1:-build/xgrad}")
epochs=${EPOCHS:-3}
mpirun=(mpirun -q --oversubscribe -np 2)
[ "$(id -u)" -ne 0 ] || mpirun+=(--allow-run-as-root)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# A table of 100,000 rows: 5 classes, 40 numeric features whose means depend on the class.
python3 - "$scratch/table.csv" <<'EOF'
import sys, random
random.seed(0)
centres = [[random.gauss(0, 1) for _ in range(40)] for _ in range(5)]
with open(sys.argv[1], "w") as f:
    f.write("label," + ",".join(f"x{j}" for j in range(40)) + "\n")
    for i in range(100000):
        c = random.randrange(5)
        f.write(str(c) + "," + ",".join(f"{m + random.gauss(0, 2):.4f}" for m in centres[c]) + "\n")
EOF

# seconds per epoch: the mean over epochs 2.. of the metrics file's "seconds".
epoch_seconds() {
  python3 -c 'import json,sys; s=[json.loads(l)["seconds"] for l in open(sys.argv[1])][1:]; print(f"{sum(s)/len(s):.3f}")' "$1"
}

printf "%s\n" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-34s %10s %10s %10s   %s\n" "run" "1x1 s" "1x2 s" "2x1 s" "speed-up 1x2, 2x1 (efficiency)"
for workload in "fashion-mnist|--data fashion-mnist" "table|--data $scratch/table.csv --test-split 0.2"; do
  name=${workload%%|*}
  data=${workload#*|}
  for batch in 64 512; do
    flags="train $data --batch $batch --epochs $epochs --no-save --quiet"
    "$xgrad" $flags --threads 1 --metrics "$scratch/a.jsonl" >/dev/null
    "$xgrad" $flags --threads 2 --metrics "$scratch/b.jsonl" >/dev/null
    "${mpirun[@]}" "$xgrad" $flags --threads 1 --metrics "$scratch/c.jsonl" >/dev/null
    a=$(epoch_seconds "$scratch/a.jsonl") b=$(epoch_seconds "$scratch/b.jsonl") c=$(epoch_seconds "$scratch/c.jsonl")
    python3 -c 'import sys; n,a,b,c=sys.argv[1],*map(float,sys.argv[2:]); print(f"{n:34s} {a:10.3f} {b:10.3f} {c:10.3f}   {a/b:.2f}x ({a/b/2:.0%}), {a/c:.2f}x ({a/c/2:.0%})")' \
      "$name, batch $batch" "$a" "$b" "$c"
  done
done
