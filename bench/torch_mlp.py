#!/usr/bin/python3
"""The reference workload in PyTorch, for bench/epoch.py to compare xgrad with.

Fashion-MNIST, MLP 784-256-128-10 (PyTorch's default Linear init), ReLU,
softmax cross-entropy, plain SGD lr 0.1 (no momentum, no weight decay), batch
64, shuffled each epoch, the last batch partial (938 steps), as
`xgrad train --hidden 256,128 --batch 64 --lr 0.1 --momentum 0 --schedule none`.
Inputs are x/255 normalised by the training set's mean and standard deviation
over all pixels, as xgrad does. The whole data set is held as tensors and each
epoch walks a pre-shuffled index tensor in slices: no DataLoader, no per-item
Python. Like xgrad's epoch, the loop also sums the training loss and counts
correct predictions (xgrad reports train_loss and train_acc).

With --arch cnn the model is instead xgrad's `--arch cnn`: Conv2d(1,16,3,p=1),
ReLU, MaxPool2d(2), Conv2d(16,32,3,p=1), ReLU, MaxPool2d(2), Flatten,
Linear(1568,128), ReLU, Linear(128,10) (the rows viewed as 1x28x28 images).

  torch_mlp.py epoch [--arch mlp|cnn] [--threads T] [--warmup-steps S]
      S training steps (default 50), then one timed epoch; prints
      "torch threads=<T> seconds=<epoch seconds> blas=<BLAS threads env>".
      Without --threads, PyTorch's own default (as installed).
  torch_mlp.py tta [--threads T] [--target A] [--max-epochs E] [--seed S]
      trains until the test accuracy first reaches A (default 0.88), at most E
      epochs (default 15); after each epoch prints and flushes
      "epoch=<e> test_acc=<a> seconds=<epoch seconds>", so the caller can time
      each line from the start of the process.

--seed S (default 0) seeds the initial weights and the shuffles, as
`xgrad train --seed` does xgrad's (the two generators differ, so the same S
gives different runs in the two programs).

OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS (Debian's torch does its GEMMs
through OpenBLAS) are read from the environment; bench/epoch.py sets them.
"""
import argparse
import gzip
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    dims = magic & 0xFF
    if magic >> 8 != 0x08 or dims not in (1, 3):
        sys.exit(f"torch_mlp.py: {name}: not an IDX file of unsigned bytes")
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    data = torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8)
    return data.reshape(shape)


def load():
    x_train = read_idx("train-images-idx3-ubyte.gz").reshape(-1, 784).float() / 255.0
    y_train = read_idx("train-labels-idx1-ubyte.gz").long()
    x_test = read_idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).float() / 255.0
    y_test = read_idx("t10k-labels-idx1-ubyte.gz").long()
    mean, std = x_train.mean(), x_train.std(unbiased=False)
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def model_and_optimizer(arch):
    nn = torch.nn
    if arch == "cnn":
        model = nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),  # a view: the rows as 1x28x28 images
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.0)


def train_steps(model, opt, x, y, batches):
    """One SGD step per index tensor in batches; returns (loss sum, correct)."""
    loss_sum = torch.zeros(())
    correct = torch.zeros((), dtype=torch.long)
    for idx in batches:
        xb, yb = x[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(1) == yb).sum()
    return float(loss_sum), int(correct)


def test_accuracy(model, x, y):
    with torch.no_grad():
        correct = sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum())
                      for i in range(0, len(x), 1000))
    return correct / len(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["epoch", "tta"])
    p.add_argument("--arch", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--target", type=float, default=0.88)
    p.add_argument("--max-epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0, help="seeds the initial weights and the shuffles (>= 0)")
    a = p.parse_args()
    if a.seed < 0:
        p.error("--seed must be >= 0")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x_train, y_train, x_test, y_test = load()
    model, opt = model_and_optimizer(a.arch)
    gen = torch.Generator().manual_seed(a.seed)

    def epoch_batches():
        return torch.randperm(len(x_train), generator=gen).split(64)

    if a.mode == "epoch":
        train_steps(model, opt, x_train, y_train, epoch_batches()[:a.warmup_steps])
        batches = epoch_batches()
        t0 = time.perf_counter()
        train_steps(model, opt, x_train, y_train, batches)
        seconds = time.perf_counter() - t0
        print(f"torch threads={torch.get_num_threads()} seconds={seconds:.4f} "
              f"blas={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}", flush=True)
        return
    for epoch in range(1, a.max_epochs + 1):
        t0 = time.perf_counter()
        train_steps(model, opt, x_train, y_train, epoch_batches())
        seconds = time.perf_counter() - t0
        acc = test_accuracy(model, x_test, y_test)
        print(f"epoch={epoch} test_acc={acc:.4f} seconds={seconds:.4f}", flush=True)
        if acc >= a.target:
            return


if __name__ == "__main__":
    main()
