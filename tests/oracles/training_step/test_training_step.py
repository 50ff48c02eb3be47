#!/usr/bin/python3
"""xgrad against PyTorch on the same numbers.

usage: test_training_step.py ORACLE_STEP SCRATCH_DIR

1. Training: a seeded batch and seeded weights for the MLP 12-7-5-4 (Linear,
   ReLU, Linear, ReLU, Linear) are written as .npy; `ORACLE_STEP train` runs 3
   iterations of zero_grad; forward; cross-entropy; backward; SGD-momentum
   step with xgrad, and torch.nn.Sequential does the same in float32. At every
   step the loss and every parameter gradient (before the update) and every
   parameter (after it) must agree.
2. Convolutional networks: the same 3 steps for four --arch layer lists
   (layers/architecture.hpp) on seeded images, `ORACLE_STEP train-arch`
   against torch's Conv2d, MaxPool2d, AvgPool2d, Flatten and Linear: the
   default cnn on 1x12x12 images, strides, padding, overlapping pools and odd
   sizes on 3x11x13 images, and overlapping (3, stride 2) and odd average pools
   on 2x11x13 images, and two BatchNorm2d layers (bn) on 2x9x11 images, whose
   running_mean, running_var and num_batches_tracked must agree after every
   step too (torch's buffers start at their defaults; γ, β are seeded). This
   checks conv2d, max_pool2d, avg_pool2d and batch_norm2d forward (the loss)
   and backward (every gradient, the first conv's through the layers after it).
3. The loss alone: `ORACLE_STEP loss` on logits of ±1e4, rows of equal logits
   and ordinary logits; the loss, d loss / d logits, softmax and log_softmax
   must agree with torch.

Agreement is np.testing.assert_allclose(rtol=1e-5, atol=1e-6). The atol only
matters for elements near zero, where a relative error means nothing: the
values compared are O(0.01..1), and a float32 sum of a dozen terms of that size
differs between two correct summation orders by ~1e-7, well below 1e-6.

Exit status 0 only if every comparison passed; the last line reads
"oracle: N passed, M failed".
"""
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from oracle_results import Results  # noqa: E402  (tests/oracles/oracle_results.py)
from torch_network import torch_network  # noqa: E402  (tests/oracles/torch_network.py)

SIZES = (12, 7, 5, 4)  # in, hidden..., out
BATCH = 8
LR = 0.1
MOMENTUM = 0.9
STEPS = 3
SEED = 20240607
# Pre-activations closer than this to ReLU's kink at 0 could switch side between
# two correct float32 computations and make the comparison meaningless.
RELU_MARGIN = 1e-4
# A convolution has thousands of outputs per step, so some come within 1e-4 of 0
# whatever the seed; two correct float32 convolutions differ by ~1e-7 there.
ARCH_RELU_MARGIN = 1e-6


def run_oracle(results, label, args):
    """Runs oracle_step; a non-zero exit status is one failure. True if it succeeded."""
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        results.fail(label, f"{' '.join(map(str, args))} exited with status {proc.returncode}\n"
                            f"{proc.stdout}{proc.stderr}".rstrip())
        return False
    return True


def fresh_dir(path):
    """An empty directory, so results of an earlier run can never be compared."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def make_torch_mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def check_training(results, oracle, work):
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)  # (B, in)
    labels = rng.integers(0, SIZES[-1], size=BATCH).astype(np.int64)  # (B)
    model = make_torch_mlp(SIZES)
    state = {}
    for name, tensor in model.state_dict().items():  # "0.weight" (out, in), "0.bias" (out), …
        bound = 1.0 / np.sqrt(model[int(name.split(".")[0])].in_features)  # torch.nn.Linear's range
        state[name] = rng.uniform(-bound, bound, size=tuple(tensor.shape)).astype(np.float32)
    model.load_state_dict({name: torch.from_numpy(a) for name, a in state.items()})

    np.save(work / "x.npy", x)
    np.save(work / "labels.npy", labels)
    for name, a in state.items():
        np.save(work / f"{name}.npy", a)

    # torch: the reference run, recording how close any ReLU input comes to 0.
    closest_to_kink = [np.inf]

    def record_margin(module, inputs, output):
        closest_to_kink[0] = min(closest_to_kink[0], float(output.detach().abs().min()))

    for module in model[:-1]:
        if isinstance(module, torch.nn.Linear):
            module.register_forward_hook(record_margin)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
    expected = []  # per step: (loss, {name: grad}, {name: parameter after the step})
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        grads = {name: p.grad.detach().numpy().copy() for name, p in model.named_parameters()}
        optimizer.step()
        params = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
        expected.append((loss.detach().numpy().copy(), grads, params))
    if closest_to_kink[0] < RELU_MARGIN:
        results.fail("training inputs", f"a ReLU input is {closest_to_kink[0]:.3g} from 0 (< {RELU_MARGIN}); "
                                        "HINT: change SEED in test_training_step.py")
        return

    args = [oracle, "train", work, repr(LR), repr(MOMENTUM), str(STEPS), *map(str, SIZES)]
    if not run_oracle(results, "oracle_step train", args):
        return
    for k, (loss, grads, params) in enumerate(expected, start=1):
        results.compare(f"step {k} loss", work / f"step{k}_loss.npy", loss)
        for name, g in grads.items():
            results.compare(f"step {k} grad {name}", work / f"step{k}_grad_{name}.npy", g)
        for name, p in params.items():
            results.compare(f"step {k} {name} after update", work / f"step{k}_param_{name}.npy", p)


# (name, --arch text, (C, H, W), outputs)
ARCH_CASES = [
    ("cnn", "cnn", (1, 12, 12), 10),
    ("strides, padding, odd sizes", "conv5k3s2p1,leaky_relu,maxpool3s2,conv4k2,tanh,flatten,fc7,sigmoid,fc", (3, 11, 13), 4),
    ("average pools, overlapping and odd", "conv6k3p1,relu,avgpool3s2,conv4k3,tanh,avgpool2,flatten,fc", (2, 11, 13), 5),
    ("batch norm: running statistics too", "conv6k3p1,bn,relu,maxpool2,conv4k3,bn,tanh,flatten,fc", (2, 9, 11), 5),
]
def check_arch_training(results, oracle, scratch):
    for i, (case, arch, chw, outputs) in enumerate(ARCH_CASES):
        work = fresh_dir(scratch / f"arch{i}")
        rng = np.random.default_rng(SEED + 10 + i)
        x = rng.standard_normal((BATCH, *chw)).astype(np.float32)  # (B, C, H, W)
        labels = rng.integers(0, outputs, size=BATCH).astype(np.int64)
        model = torch_network(arch, chw, outputs)
        state = {}
        for name, tensor in model.named_parameters():  # "0.weight" (out, in, kh, kw), "0.bias", …; not the buffers
            layer = model[int(name.split(".")[0])]
            if isinstance(layer, torch.nn.BatchNorm2d):  # γ around 1, β around 0, so neither is the trivial init
                low, high = (0.5, 1.5) if name.endswith("weight") else (-0.5, 0.5)
                state[name] = rng.uniform(low, high, size=tuple(tensor.shape)).astype(np.float32)
                continue
            fan_in = layer.in_features if isinstance(layer, torch.nn.Linear) else layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
            bound = 1.0 / np.sqrt(fan_in)  # torch's default range for both
            state[name] = rng.uniform(-bound, bound, size=tuple(tensor.shape)).astype(np.float32)
        model.load_state_dict({name: torch.from_numpy(a) for name, a in state.items()}, strict=False)  # buffers: torch's init
        np.save(work / "x.npy", x)
        np.save(work / "labels.npy", labels)
        for name, a in state.items():
            np.save(work / f"{name}.npy", a)
        closest_to_kink = [np.inf]

        def record_margin(module, inputs, output):
            closest_to_kink[0] = min(closest_to_kink[0], float(output.detach().abs().min()))

        for module in model:
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.BatchNorm2d)):
                module.register_forward_hook(record_margin)
        optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
        expected = []
        for _ in range(STEPS):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt), yt)
            loss.backward()
            grads = {name: p.grad.detach().numpy().copy() for name, p in model.named_parameters()}
            optimizer.step()
            params = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
            # BatchNorm2d's running_mean, running_var and num_batches_tracked (int64; xgrad's is a float)
            buffers = {name: b.detach().numpy().astype(np.float32) for name, b in model.named_buffers()}
            expected.append((loss.detach().numpy().copy(), grads, params, buffers))
        if closest_to_kink[0] < ARCH_RELU_MARGIN:
            results.fail(f"{case}: inputs", f"a ReLU input is {closest_to_kink[0]:.3g} from 0; HINT: change SEED")
            continue
        args = [oracle, "train-arch", work, repr(LR), repr(MOMENTUM), str(STEPS), arch, *map(str, chw), str(outputs)]
        if not run_oracle(results, f"oracle_step train-arch ({case})", args):
            continue
        for k, (loss, grads, params, buffers) in enumerate(expected, start=1):
            results.compare(f"{case}: step {k} loss", work / f"step{k}_loss.npy", loss)
            for name, g in grads.items():
                results.compare(f"{case}: step {k} grad {name}", work / f"step{k}_grad_{name}.npy", g)
            for name, p in params.items():
                results.compare(f"{case}: step {k} {name} after update", work / f"step{k}_param_{name}.npy", p)
            for name, b in buffers.items():
                results.compare(f"{case}: step {k} buffer {name}", work / f"step{k}_buffer_{name}.npy", b)


def loss_cases():
    """(name, logits (B, C) float32, labels (B) int64)."""
    big = 1e4
    extreme = np.array([[big, -big, 0.0, 1.0],      # label at the max: loss 0
                        [-big, big, -big, -big],    # label at a minimum: loss 2e4
                        [big, big, -big, 0.0],      # two equal maxima: p = 1/2
                        [-big, -big, -big, -big + 3.0]], dtype=np.float32)
    equal = np.array([[0.0] * 4, [big] * 4, [-big] * 4, [3.5] * 4], dtype=np.float32)  # p = 1/4
    rng = np.random.default_rng(SEED + 1)
    ordinary = (3.0 * rng.standard_normal((8, 10))).astype(np.float32)
    return [
        ("logits of +-1e4", extreme, np.array([0, 0, 1, 3], dtype=np.int64)),
        ("rows of equal logits", equal, np.array([0, 1, 2, 3], dtype=np.int64)),
        ("ordinary logits", ordinary, rng.integers(0, 10, size=8).astype(np.int64)),
    ]


def check_loss(results, oracle, scratch):
    for i, (case, logits, labels) in enumerate(loss_cases()):
        work = fresh_dir(scratch / f"loss{i}")
        np.save(work / "logits.npy", logits)
        np.save(work / "labels.npy", labels)
        z = torch.from_numpy(logits).requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(z, torch.from_numpy(labels))
        loss.backward()
        if not run_oracle(results, f"oracle_step loss ({case})", [oracle, "loss", work]):
            continue
        results.compare(f"{case}: loss", work / "loss.npy", loss.detach().numpy())
        results.compare(f"{case}: d loss / d logits", work / "dlogits.npy", z.grad.numpy())
        results.compare(f"{case}: softmax", work / "softmax.npy", torch.softmax(z, dim=1).detach().numpy())
        results.compare(f"{case}: log_softmax", work / "log_softmax.npy", torch.log_softmax(z, dim=1).detach().numpy())


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    oracle, scratch = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    if not oracle.is_file():
        print(f"oracle: {oracle} does not exist; HINT: cmake --build <build dir> --target oracle_step", file=sys.stderr)
        return 1
    torch.manual_seed(0)  # only the throw-away default init of make_torch_mlp uses it
    results = Results()
    check_training(results, oracle, fresh_dir(scratch / "train"))
    check_arch_training(results, oracle, scratch)
    check_loss(results, oracle, scratch)
    print(f"oracle: {results.passed} passed, {results.failed} failed")
    return 0 if results.failed == 0 and results.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
