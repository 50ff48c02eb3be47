#!/usr/bin/env python3
"""Expected data-parallel efficiency of xgrad on a cluster (docs/DISTRIBUTED.md).

A step on N nodes computes the global batch's forward and backward in N shards,
then sums the gradients with a ring allreduce (no overlap: xgrad reduces after
backward). Per step:

  compute  = 6 x parameters x batch / (N x flops)           (forward 2, backward 4 FLOP per weight and row)
  allreduce = 2 (N - 1) / N x bytes / bandwidth  +  buckets x 2 (N - 1) x latency
  efficiency = compute(N = 1) / (N x (compute + allreduce))

  bench/distributed_model.py --flops 2.1e10     (one node's FLOP/s, from bench/distributed.sh)
"""
import argparse
import math

MODELS = {  # name: parameters (every one a Linear weight or bias)
    "MLP 784-256-128-10": 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10,
    "table 40-256-128-5": 40 * 256 + 256 + 256 * 128 + 128 + 128 * 5 + 5,
    "MLP 784-4096-4096-10": 784 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 10 + 10,
}
LINKS = {"10 Gbit/s": (10e9 / 8, 30e-6), "100 Gbit/s": (100e9 / 8, 3e-6)}  # bytes/s, latency per message
BUCKET_FLOATS = 1 << 20  # train/distributed.hpp GradientReducer::kBucketFloats


def efficiency(parameters, batch, nodes, flops, bandwidth, latency):
    compute_one = 6.0 * parameters * batch / flops
    data = 4.0 * (parameters + 1)  # float32 gradients and the loss
    buckets = math.ceil((parameters + 1) / BUCKET_FLOATS)
    allreduce = 2.0 * (nodes - 1) / nodes * data / bandwidth + buckets * 2 * (nodes - 1) * latency
    return compute_one / (nodes * (compute_one / nodes + allreduce)), data


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flops", type=float, required=True, help="one node's training FLOP/s")
    args = parser.parse_args()
    print(f"one node: {args.flops / 1e9:.1f} GFLOP/s; link latency per message: "
          + ", ".join(f"{name} {lat * 1e6:.0f} us" for name, (_, lat) in LINKS.items()))
    header = "| model (bytes per step) | global batch | compute per step, 1 node |"
    for nodes in (8, 64):
        for link in LINKS:
            header += f" {nodes} nodes, {link} |"
    print(header)
    print("|" + " --- |" * (3 + 2 * len(LINKS)))
    for name, parameters in MODELS.items():
        for batch in (64, 512, 4096, 32768):
            row = f"| {name} ({4 * (parameters + 1) / 1e6:.2f} MB) | {batch} | {6 * parameters * batch / args.flops * 1e3:.2f} ms |"
            for nodes in (8, 64):
                for bandwidth, latency in LINKS.values():
                    e, _ = efficiency(parameters, batch, nodes, args.flops, bandwidth, latency)
                    row += f" {e:.0%} |"
            print(row)


if __name__ == "__main__":
    main()
