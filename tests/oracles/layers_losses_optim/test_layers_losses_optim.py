#!/usr/bin/python3
"""The building blocks of layers/, losses/ and optim/ against PyTorch on the same numbers.

usage: test_layers_losses_optim.py LAYERS_LOSSES_OPTIM_ORACLE SCRATCH_DIR

For every case the script writes seeded inputs as .npy into a fresh directory,
runs `LAYERS_LOSSES_OPTIM_ORACLE <command> DIR KEY=VALUE...` (xgrad), computes the same
thing with torch in float32 and compares:
  - cross_entropy: label smoothing, class weights, reduction mean/sum/none;
    the loss and d loss / d logits (reduction none: the gradient of
    Σ upstream ⊙ loss);
  - bce_with_logits (with and without pos_weight, logits up to ±40), mse:
    values and gradients for each reduction;
  - sigmoid, tanh, leaky_relu (two slopes), relu: y and dx;
  - L1 and L2 penalties over the weights (not biases) of an MLP;
  - SGD (momentum, dampening, Nesterov, weight decay), Adam (weight decay,
    amsgrad), AdamW, each for 10 steps of an MLP 6-5-3 with cross-entropy, also
    with clip_grad_norm: the parameters after every step;
  - StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR (past T_max),
    ReduceLROnPlateau and each with a linear warm-up: 30 steps of the rate.

Agreement: relative 1e-5 (1e-4 for Adam/AdamW after 10 steps), with an absolute
floor of 1e-6 for elements near zero (float32 sums of O(1) terms differ by ~1e-7
between correct summation orders). Exit status 0 only if every comparison
passed; the last line reads "layers/losses/optim oracle: N passed, M failed".
"""
import pathlib
import shutil
import subprocess
import sys

import warnings

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from oracle_results import Results  # noqa: E402  (tests/oracles/oracle_results.py)

SEED = 20261122
# SequentialLR steps the inner schedule with an explicit epoch, which torch warns about.
warnings.filterwarnings("ignore", message="The epoch parameter", category=UserWarning)


class Case:
    """A fresh directory for one case, and a way to run the oracle in it."""

    def __init__(self, results, oracle, scratch, name):
        self.results, self.oracle, self.name = results, oracle, name
        self.dir = scratch / name.replace(" ", "_").replace("=", "").replace(",", "_")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)

    def save(self, filename, array):
        np.save(self.dir / filename, array)

    def run(self, command, *options):
        args = [str(self.oracle), command, str(self.dir), *options]
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode != 0:
            self.results.fail(self.name, f"{' '.join(args)} exited with {proc.returncode}\n{proc.stdout}{proc.stderr}".rstrip())
            return False
        return True

    def compare(self, what, filename, expected, **tolerance):
        self.results.compare(f"{self.name}: {what}", self.dir / filename, expected, **tolerance)


def f32(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def upstream_backward(loss, upstream):
    """Backward of Σ upstream ⊙ loss (a non-scalar loss)."""
    (loss * torch.from_numpy(upstream)).sum().backward()


def check_cross_entropy(results, oracle, scratch, rng):
    B, C = 9, 5
    for smoothing in (0.0, 0.1, 0.3):
        for weighted in (False, True):
            for reduction in ("mean", "sum", "none"):
                case = Case(results, oracle, scratch, f"ce smoothing={smoothing} weighted={int(weighted)} {reduction}")
                logits = f32(rng, (B, C), 3.0)
                logits[0] = [1e4, -1e4, 0, 5e3, 1]  # extreme logits stay finite
                labels = rng.integers(0, C, size=B).astype(np.int64)
                weight = rng.uniform(0.2, 3.0, size=C).astype(np.float32)
                upstream = f32(rng, (B,))
                case.save("logits.npy", logits)
                case.save("labels.npy", labels)
                case.save("weight.npy", weight)
                case.save("upstream.npy", upstream)
                if not case.run("ce", f"smoothing={smoothing}", f"reduction={reduction}", f"weighted={int(weighted)}"):
                    continue
                z = torch.from_numpy(logits).requires_grad_()
                loss = F.cross_entropy(z, torch.from_numpy(labels), weight=torch.from_numpy(weight) if weighted else None,
                                       reduction=reduction, label_smoothing=smoothing)
                if reduction == "none":
                    upstream_backward(loss, upstream)
                else:
                    loss.backward()
                case.compare("loss", "loss.npy", loss.detach().numpy())
                case.compare("dlogits", "dlogits.npy", z.grad.numpy())


def check_bce_mse(results, oracle, scratch, rng):
    for pos_weighted in (False, True):
        for reduction in ("mean", "sum", "none"):
            case = Case(results, oracle, scratch, f"bce pos_weight={int(pos_weighted)} {reduction}")
            logits = f32(rng, (7, 3), 4.0)
            logits[0] = [40.0, -40.0, 0.0]
            targets = rng.uniform(0, 1, size=(7, 3)).astype(np.float32)
            targets[1] = [0.0, 1.0, 1.0]
            pos_weight = rng.uniform(0.3, 4.0, size=3).astype(np.float32)
            upstream = f32(rng, (7, 3))
            for name, a in (("logits", logits), ("targets", targets), ("pos_weight", pos_weight), ("upstream", upstream)):
                case.save(f"{name}.npy", a)
            if not case.run("bce", f"reduction={reduction}", f"pos_weighted={int(pos_weighted)}"):
                continue
            x = torch.from_numpy(logits).requires_grad_()
            loss = F.binary_cross_entropy_with_logits(x, torch.from_numpy(targets), reduction=reduction,
                                                      pos_weight=torch.from_numpy(pos_weight) if pos_weighted else None)
            if reduction == "none":
                upstream_backward(loss, upstream)
            else:
                loss.backward()
            case.compare("loss", "loss.npy", loss.detach().numpy())
            case.compare("dlogits", "dlogits.npy", x.grad.numpy())
    for reduction in ("mean", "sum", "none"):
        case = Case(results, oracle, scratch, f"mse {reduction}")
        prediction, target, upstream = f32(rng, (6, 4)), f32(rng, (6, 4)), f32(rng, (6, 4))
        case.save("prediction.npy", prediction)
        case.save("target.npy", target)
        case.save("upstream.npy", upstream)
        if not case.run("mse", f"reduction={reduction}"):
            continue
        p, t = torch.from_numpy(prediction).requires_grad_(), torch.from_numpy(target).requires_grad_()
        loss = F.mse_loss(p, t, reduction=reduction)
        if reduction == "none":
            upstream_backward(loss, upstream)
        else:
            loss.backward()
        case.compare("loss", "loss.npy", loss.detach().numpy())
        case.compare("dprediction", "dprediction.npy", p.grad.numpy())
        case.compare("dtarget", "dtarget.npy", t.grad.numpy())


def check_activations(results, oracle, scratch, rng):
    activations = [("sigmoid", [], torch.sigmoid), ("tanh", [], torch.tanh), ("relu", [], torch.relu),
                   ("leaky_relu", ["slope=0.01"], lambda x: F.leaky_relu(x, 0.01)),
                   ("leaky_relu", ["slope=0.2"], lambda x: F.leaky_relu(x, 0.2))]
    for name, options, fn in activations:
        case = Case(results, oracle, scratch, f"activation {name} {' '.join(options)}".strip())
        x = f32(rng, (8, 6), 3.0)
        x[0, :4] = [-100.0, 100.0, -1e4, 1e4]  # saturation stays exact and finite
        upstream = f32(rng, (8, 6))
        case.save("x.npy", x)
        case.save("upstream.npy", upstream)
        if not case.run("activation", f"name={name}", *options):
            continue
        xt = torch.from_numpy(x).requires_grad_()
        y = fn(xt)
        upstream_backward(y, upstream)
        case.compare("y", "y.npy", y.detach().numpy())
        case.compare("dx", "dx.npy", xt.grad.numpy())


def make_mlp(rng, case):
    """The MLP 6-5-3 (Linear, Tanh, Linear) with seeded weights, saved for xgrad."""
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    state = {name: f32(rng, tuple(t.shape), 0.5) for name, t in model.state_dict().items()}
    model.load_state_dict({name: torch.from_numpy(a) for name, a in state.items()})
    for name, a in state.items():
        case.save(f"{name}.npy", a)
    return model


def check_penalties(results, oracle, scratch, rng):
    case = Case(results, oracle, scratch, "penalty l1 l2")
    model = make_mlp(rng, case)
    if not case.run("penalty", "l1=0.3", "l2=0.7"):
        return
    penalty = sum(0.3 * p.abs().sum() + 0.7 * (p * p).sum() for name, p in model.named_parameters() if name.endswith("weight"))
    penalty.backward()
    case.compare("penalty", "penalty.npy", penalty.detach().numpy())
    for name, p in model.named_parameters():
        expected = p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape), np.float32)
        case.compare(f"grad {name}", f"grad_{name}.npy", expected)


OPTIMIZER_CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("sgd", {"lr": 0.1, "momentum": 0.8, "nesterov": 1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "clip": 0.5}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.05}),
    ("adam", {"lr": 0.01, "amsgrad": 1}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": 1, "clip": 1.0}),
]


def torch_optimizer(name, params, o):
    if name == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0), dampening=o.get("dampening", 0),
                               nesterov=bool(o.get("nesterov", 0)), weight_decay=o.get("weight_decay", 0))
    kwargs = dict(lr=o["lr"], betas=(o.get("beta1", 0.9), o.get("beta2", 0.999)), eps=o.get("eps", 1e-8),
                  amsgrad=bool(o.get("amsgrad", 0)))
    if name == "adam":
        return torch.optim.Adam(params, weight_decay=o.get("weight_decay", 0), **kwargs)
    return torch.optim.AdamW(params, weight_decay=o.get("weight_decay", 0.01), **kwargs)


def check_optimizers(results, oracle, scratch, rng, steps=10):
    for name, options in OPTIMIZER_CASES:
        label = " ".join(f"{k}={v}" for k, v in options.items())
        case = Case(results, oracle, scratch, f"optim {name} {label}")
        model = make_mlp(rng, case)
        x = f32(rng, (16, 6))
        labels = rng.integers(0, 3, size=16).astype(np.int64)
        case.save("x.npy", x)
        case.save("labels.npy", labels)
        if not case.run("optim", f"name={name}", f"steps={steps}", *[f"{k}={v}" for k, v in options.items()]):
            continue
        optimizer = torch_optimizer(name, model.parameters(), options)
        rtol = 1e-4 if name.startswith("adam") else 1e-5
        for k in range(1, steps + 1):
            optimizer.zero_grad()
            F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(labels)).backward()
            if "clip" in options:
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), options["clip"])
                case.compare(f"step {k} grad norm", f"step{k}_norm.npy", norm.detach().numpy(), rtol=rtol)
            optimizer.step()
            for pname, p in model.named_parameters():
                case.compare(f"step {k} {pname}", f"step{k}_param_{pname}.npy", p.detach().numpy(), rtol=rtol)


SCHEDULE_CASES = [
    ("step", {"step_size": 4, "gamma": 0.5}),
    ("multistep", {"milestones": "3,10,17", "gamma": 0.3}),
    ("exponential", {"gamma": 0.9}),
    ("cosine", {"t_max": 12, "eta_min": 0.001}),  # 30 steps: past T_max, where torch's rate rises again
    ("cosine", {"t_max": 30}),
    ("plateau", {"factor": 0.5, "patience": 2, "threshold": 0.01, "cooldown": 1, "min_lr": 0.004}),
]


def torch_schedule(name, optimizer, o):
    S = torch.optim.lr_scheduler
    if name == "step":
        return S.StepLR(optimizer, step_size=o["step_size"], gamma=o["gamma"])
    if name == "multistep":
        return S.MultiStepLR(optimizer, milestones=[int(m) for m in o["milestones"].split(",")], gamma=o["gamma"])
    if name == "exponential":
        return S.ExponentialLR(optimizer, gamma=o["gamma"])
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=o["t_max"], eta_min=o.get("eta_min", 0))
    return S.ReduceLROnPlateau(optimizer, mode="min", factor=o["factor"], patience=o["patience"],
                               threshold=o["threshold"], cooldown=o["cooldown"], min_lr=o["min_lr"])


def check_schedules(results, oracle, scratch, rng, steps=30, base_lr=0.1):
    # A noisy, mostly falling loss with plateaus, for ReduceLROnPlateau.
    metrics = (1.0 / (1 + 0.1 * np.arange(steps)) + rng.uniform(0, 0.05, size=steps)).astype(np.float32)
    metrics[12:20] = metrics[12]
    for name, options in SCHEDULE_CASES:
        for warmup in ((0, 5) if name != "plateau" else (0,)):
            label = " ".join(f"{k}={v}" for k, v in options.items())
            case = Case(results, oracle, scratch, f"schedule {name} {label} warmup={warmup}")
            case.save("metrics.npy", metrics)
            extra = [f"warmup={warmup}", "start_factor=0.2"] if warmup else []
            if not case.run("schedule", f"name={name}", f"steps={steps}", f"lr={base_lr}",
                            *[f"{k}={v}" for k, v in options.items()], *extra):
                continue
            optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
            if warmup:
                first = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.2, total_iters=warmup)
                schedule = torch.optim.lr_scheduler.SequentialLR(
                    optimizer, [first, torch_schedule(name, optimizer, options)], milestones=[warmup])
            else:
                schedule = torch_schedule(name, optimizer, options)
            lrs = []
            for t in range(steps):
                lrs.append(optimizer.param_groups[0]["lr"])
                optimizer.step()
                schedule.step(float(metrics[t])) if name == "plateau" else schedule.step()
            lrs.append(optimizer.param_groups[0]["lr"])
            case.compare("lr", "lrs.npy", np.array(lrs), atol=1e-9)


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    oracle, scratch = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    if not oracle.exists():
        print(f"{oracle}: no such file; HINT: build the layers_losses_optim_oracle target first")
        return 2
    torch.manual_seed(0)
    rng = np.random.default_rng(SEED)
    results = Results()
    check_cross_entropy(results, oracle, scratch, rng)
    check_bce_mse(results, oracle, scratch, rng)
    check_activations(results, oracle, scratch, rng)
    check_penalties(results, oracle, scratch, rng)
    check_optimizers(results, oracle, scratch, rng)
    check_schedules(results, oracle, scratch, rng)
    print(f"layers/losses/optim oracle: {results.passed} passed, {results.failed} failed")
    return 0 if results.failed == 0 and results.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
