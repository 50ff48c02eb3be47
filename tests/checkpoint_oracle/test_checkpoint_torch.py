#!/usr/bin/python3
"""An xgrad checkpoint in PyTorch, with no conversion.

usage: test_checkpoint_torch.py XGRAD SCRATCH_DIR

1. Writes a small seeded IDX data set (10 classes of 8x8 images), trains
   `xgrad train --hidden 16,12 --epochs 2 --save model.safetensors` on it.
2. Parses the safetensors file by hand — 8-byte little-endian header length,
   JSON header, little-endian float32 data — with only json and numpy, builds
   torch.nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) from the "xgrad"
   metadata and loads the tensors with load_state_dict(strict=True).
3. Normalises the test images as the metadata says, x = (p/255 - mean)/std,
   and compares torch's logits and softmax with `xgrad predict --json` for the
   first 20 test items: np.testing.assert_allclose(rtol=1e-5, atol=1e-5).

Exit status 0 only if everything agreed; the last line reads "checkpoint oracle: ok".
"""
import json
import pathlib
import shutil
import struct
import subprocess
import sys

import numpy as np
import torch

ROWS, COLS, CLASSES = 8, 8, 10


def write_idx(path, array):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.tobytes())


def write_dataset(directory, seed=7):
    rng = np.random.default_rng(seed)
    for prefix, count in (("train", 500), ("t10k", 60)):
        labels = rng.integers(0, CLASSES, size=count)
        images = rng.integers(0, 80, size=(count, ROWS, COLS))
        for i, label in enumerate(labels):  # class c: a bright pixel pattern at row c % 8, column c // 8 * 4
            images[i, label % ROWS, (label // ROWS) * 4:(label // ROWS) * 4 + 4] += 170
        write_idx(directory / f"{prefix}-images-idx3-ubyte", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels)


def read_safetensors(path):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    buffer = data[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", f"{name}: dtype {entry['dtype']}"
        begin, end = entry["data_offsets"]
        array = np.frombuffer(buffer[begin:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def main():
    xgrad, scratch = sys.argv[1], pathlib.Path(sys.argv[2])
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    write_dataset(scratch)
    model_path = scratch / "model.safetensors"
    subprocess.run([xgrad, "train", "--data", str(scratch), "--hidden", "16,12", "--epochs", "2", "--batch", "32",
                    "--threads", "1", "--quiet", "--save", str(model_path)], check=True, stdout=subprocess.DEVNULL)

    tensors, metadata = read_safetensors(model_path)
    info = json.loads(metadata["xgrad"])
    layers = info["layers"]
    assert layers == [ROWS * COLS, 16, 12, CLASSES], layers
    assert info["activation"] == "relu" and info["head"] == "softmax_cross_entropy"
    assert info["input_shape"] == [ROWS, COLS]
    modules = []
    for i in range(len(layers) - 1):
        modules.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i + 2 < len(layers):
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    model.load_state_dict(tensors, strict=True)  # the names and shapes must match exactly
    model.eval()

    raw = (scratch / "t10k-images-idx3-ubyte").read_bytes()
    count = struct.unpack(">I", raw[4:8])[0]
    pixels = np.frombuffer(raw[16:], dtype=np.uint8).reshape(count, ROWS * COLS).astype(np.float32)
    mean, std = np.float32(info["mean"][0]), np.float32(info["std"][0])
    x = torch.from_numpy((pixels / np.float32(255.0) - mean) / std)
    with torch.no_grad():
        torch_logits = model(x).numpy()
        torch_probabilities = torch.softmax(model(x), dim=1).numpy()

    items = list(range(20))
    args = [xgrad, "predict", "--model", str(model_path), "--json", "--top-k", str(CLASSES)]
    for i in items:
        args += ["--index", str(i)]
    out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    predictions = out["predictions"]
    assert len(predictions) == len(items)
    xgrad_logits = np.array([p["logits"] for p in predictions], dtype=np.float32)
    xgrad_probabilities = np.array([p["probabilities"] for p in predictions], dtype=np.float32)
    np.testing.assert_allclose(xgrad_logits, torch_logits[items], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xgrad_probabilities, torch_probabilities[items], rtol=1e-5, atol=1e-5)
    for p, i in zip(predictions, items):
        assert p["top"][0]["index"] == int(np.argmax(torch_logits[i])), (i, p["top"][0])
    print(f"compared {len(items)} items x {CLASSES} logits; max |difference| "
          f"{np.abs(xgrad_logits - torch_logits[items]).max():.2e}")
    print("checkpoint oracle: ok")


if __name__ == "__main__":
    main()
