#!/usr/bin/python3
"""An xgrad model file in PyTorch, with no conversion.

usage: test_model_file_torch.py XGRAD SCRATCH_DIR

1. Writes a small seeded IDX data set (10 classes of 8x8 images), trains
   `xgrad train --hidden 16,12 --epochs 2 --save model.safetensors` on it.
2. Parses the safetensors file by hand — 8-byte little-endian header length,
   JSON header, little-endian float32 data — with only json and numpy, builds
   torch.nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) from the "xgrad"
   metadata and loads the tensors with load_state_dict(strict=True).
3. Normalises the test images as the metadata says, x = (p/255 - mean)/std,
   and compares torch's logits and softmax with `xgrad predict --json` for the
   first 20 test items: np.testing.assert_allclose(rtol=1e-5, atol=1e-5).

4. The same for a model trained on CSV data (`--data train.csv --label-col
   kind --test test.csv`): the metadata's per-feature mean and std must be
   numpy's population mean and std of the training columns, and torch's logits
   of x = (v - mean)/std must equal `xgrad predict --json rows.csv` (a file of
   feature rows without labels).

5. The same for a convolutional network (`--arch cnn` on the 8x8 images): the
   metadata's "arch" and "input_chw" rebuild torch's Conv2d, MaxPool2d,
   Flatten and Linear layers, `0.weight` is (16, 1, 3, 3), and the logits of
   images (B, 1, 8, 8) equal `xgrad predict --json`'s.

5b. A CNN with batch normalisation (`--arch conv8k3p1,bn,relu,maxpool2,
   flatten,fc`): the file holds 1.running_mean, 1.running_var and
   1.num_batches_tracked (I64, a scalar, as torch's), load_state_dict(strict)
   takes them all, and torch's eval-mode logits equal `xgrad predict --json`'s.

6. A colour CNN (`--channels 3` on a folder of RGB PNGs written here with
   zlib): the metadata's mean and std are numpy's per-channel population mean
   and std of the training pixels/255 (as one computes them for torchvision's
   Normalize(mean=[r, g, b], std=[r, g, b])), and torch's logits of images
   (B, 3, 8, 8) normalised per channel equal `xgrad predict --json`'s.

Exit status 0 only if everything agreed; the last line reads "model file oracle: ok".
"""
import json
import pathlib
import zlib
import shutil
import struct
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from torch_network import torch_network  # noqa: E402  (tests/oracles/torch_network.py)

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
        assert entry["dtype"] in ("F32", "I64"), f"{name}: dtype {entry['dtype']}"
        begin, end = entry["data_offsets"]
        dtype = "<f4" if entry["dtype"] == "F32" else "<i8"  # I64: BatchNorm's num_batches_tracked
        array = np.frombuffer(buffer[begin:end], dtype=dtype).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def sequential_from(tensors, info):
    layers = info["layers"]
    modules = []
    for i in range(len(layers) - 1):
        modules.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i + 2 < len(layers):
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    model.load_state_dict(tensors, strict=True)  # the names and shapes must match exactly
    model.eval()
    return model


def check_csv_model(xgrad, scratch):
    """A table model: per-feature standardisation, feature names, CSV rows to predict."""
    rng = np.random.default_rng(11)
    names = ["alpha", "beta", "gamma"]
    columns = ["height", "weight", "kind", "age", "score"]
    def rows(count):
        kinds = rng.integers(0, 3, size=count)
        # Features on very different scales, so a wrong per-feature standardisation shows.
        features = rng.normal(size=(count, 4)) * np.array([100.0, 0.01, 5.0, 1.0]) + np.array([1000.0, 0.0, -3.0, 7.0])
        features[:, 0] += kinds * 60.0
        features[:, 3] -= kinds * 0.8
        return kinds, features
    def write(path, kinds, features, with_labels=True):
        lines = [",".join(columns if with_labels else [c for c in columns if c != "kind"])]
        for k, f in zip(kinds, features):
            cells = [f"{v:.6g}" for v in f]
            if with_labels:
                cells.insert(2, names[k])
            lines.append(",".join(cells))
        path.write_text("\n".join(lines) + "\n")
    train_kinds, train_x = rows(300)
    test_kinds, test_x = rows(40)
    write(scratch / "train.csv", train_kinds, train_x)
    write(scratch / "test.csv", test_kinds, test_x)
    write(scratch / "rows.csv", test_kinds, test_x, with_labels=False)
    model_path = scratch / "table.safetensors"
    subprocess.run([xgrad, "train", "--data", str(scratch / "train.csv"), "--label-col", "kind", "--test",
                    str(scratch / "test.csv"), "--hidden", "8", "--epochs", "3", "--batch", "16", "--threads", "1",
                    "--quiet", "--save", str(model_path)], check=True, stdout=subprocess.DEVNULL)
    tensors, metadata = read_safetensors(model_path)
    info = json.loads(metadata["xgrad"])
    assert info["layers"] == [4, 8, 3], info["layers"]
    assert info["input_shape"] == [4], info["input_shape"]
    assert info["features"] == ["height", "weight", "age", "score"], info["features"]
    assert info["classes"] == names, info["classes"]
    # The values xgrad read (float32 of the printed text), standardised per feature from the training rows.
    train_values = np.array([[float(c) for i, c in enumerate(line.split(",")) if i != 2]
                             for line in (scratch / "train.csv").read_text().splitlines()[1:]], dtype=np.float32)
    np.testing.assert_allclose(info["mean"], train_values.astype(np.float64).mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(info["std"], train_values.astype(np.float64).std(axis=0), rtol=1e-5, atol=1e-6)
    model = sequential_from(tensors, info)
    test_values = np.array([[float(c) for c in line.split(",")]
                            for line in (scratch / "rows.csv").read_text().splitlines()[1:]], dtype=np.float32)
    mean, std = np.array(info["mean"], dtype=np.float32), np.array(info["std"], dtype=np.float32)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy((test_values - mean) / std)).numpy()
    out = json.loads(subprocess.run([xgrad, "predict", "--model", str(model_path), "--json", str(scratch / "rows.csv")],
                                    check=True, capture_output=True, text=True).stdout)
    predictions = out["predictions"]
    assert len(predictions) == len(test_values), len(predictions)
    assert predictions[0]["input"].endswith("rows.csv:2"), predictions[0]["input"]
    xgrad_logits = np.array([p["logits"] for p in predictions], dtype=np.float32)
    np.testing.assert_allclose(xgrad_logits, torch_logits, rtol=1e-5, atol=1e-5)
    print(f"CSV model: compared {len(test_values)} rows x 3 logits; max |difference| "
          f"{np.abs(xgrad_logits - torch_logits).max():.2e}")


def compare_logits(xgrad, model_path, tensors, info, scratch, items=20):
    """torch's eval-mode logits of the grey test images (normalised with the file's mean and std)
    against `xgrad predict`'s for the first `items`, to 1e-5; returns the largest difference.
    The model is torch_network(arch) with the file's tensors loaded strictly (weights, biases,
    and any buffers)."""
    model = torch_network(info["arch"], info["input_chw"], len(info["classes"]))
    model.load_state_dict(tensors, strict=True)
    model.eval()
    raw = (scratch / "t10k-images-idx3-ubyte").read_bytes()
    count = struct.unpack(">I", raw[4:8])[0]
    pixels = np.frombuffer(raw[16:], dtype=np.uint8).reshape(count, 1, ROWS, COLS).astype(np.float32)
    mean, std = np.float32(info["mean"][0]), np.float32(info["std"][0])
    with torch.no_grad():
        torch_logits = model(torch.from_numpy((pixels / np.float32(255.0) - mean) / std)).numpy()[:items]
    args = [xgrad, "predict", "--model", str(model_path), "--json"]
    for i in range(items):
        args += ["--index", str(i)]
    out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    xgrad_logits = np.array([p["logits"] for p in out["predictions"]], dtype=np.float32)
    np.testing.assert_allclose(xgrad_logits, torch_logits, rtol=1e-5, atol=1e-5)
    return float(np.abs(xgrad_logits - torch_logits).max())


def check_cnn_model(xgrad, scratch):
    model_path = scratch / "cnn.safetensors"
    subprocess.run([xgrad, "train", "--data", str(scratch), "--arch", "cnn", "--epochs", "1", "--batch", "32",
                    "--threads", "1", "--quiet", "--save", str(model_path)], check=True, stdout=subprocess.DEVNULL)
    tensors, metadata = read_safetensors(model_path)
    info = json.loads(metadata["xgrad"])
    assert info["arch"] == "conv16k3p1,relu,maxpool2,conv32k3p1,relu,maxpool2,flatten,fc128,relu,fc", info["arch"]
    assert info["input_chw"] == [1, ROWS, COLS], info["input_chw"]
    assert tuple(tensors["0.weight"].shape) == (16, 1, 3, 3), tensors["0.weight"].shape
    difference = compare_logits(xgrad, model_path, tensors, info, scratch)
    print(f"CNN model: compared 20 items x {CLASSES} logits; max |difference| {difference:.2e}")


def check_bn_model(xgrad, scratch):
    """A CNN with BatchNorm2d: its buffers under torch's names and dtypes, eval-mode logits."""
    model_path = scratch / "bn.safetensors"
    arch = "conv8k3p1,bn,relu,maxpool2,flatten,fc"
    subprocess.run([xgrad, "train", "--data", str(scratch), "--arch", arch, "--epochs", "2", "--batch", "32",
                    "--threads", "1", "--quiet", "--save", str(model_path)], check=True, stdout=subprocess.DEVNULL)
    tensors, metadata = read_safetensors(model_path)
    info = json.loads(metadata["xgrad"])
    assert info["arch"] == arch, info["arch"]
    count = tensors["1.num_batches_tracked"]
    assert count.dtype == torch.int64 and count.shape == () and int(count) > 0, (count.dtype, count.shape, count)
    assert not torch.allclose(tensors["1.running_mean"], torch.zeros(8)), "running_mean never moved"
    difference = compare_logits(xgrad, model_path, tensors, info, scratch)  # loads every tensor, strict
    print(f"BatchNorm CNN model: {int(count)} batches tracked; compared 20 items x {CLASSES} logits "
          f"in eval mode; max |difference| {difference:.2e}")


def write_rgb_png(path, image):
    """An 8-bit RGB PNG of `image` (H, W, 3 uint8), every row unfiltered."""
    height, width, _ = image.shape
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\0" + image[r].tobytes() for r in range(height))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
                     chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def check_rgb_cnn_model(xgrad, scratch):
    """A colour CNN: a mean and std per channel, applied to that channel."""
    rng = np.random.default_rng(5)
    folder = scratch / "rgb"
    images = {}
    for split, count in (("train", 20), ("test", 4)):
        for label in range(3):
            for i in range(count):
                image = rng.integers(0, 60, size=(ROWS, COLS, 3))
                image[:, :, 0] += 150                       # red: bright, narrow
                image[:, :, 2] = rng.integers(0, 256, size=(ROWS, COLS))  # blue: all over
                image[label * 2, :, 1] += 190              # green: the class's bar
                path = folder / split / f"class{label}" / f"{i}.png"
                write_rgb_png(path, image.astype(np.uint8))
                images.setdefault(split, []).append((path, image.astype(np.uint8)))
    model_path = scratch / "rgb.safetensors"
    subprocess.run([xgrad, "train", "--data", str(folder), "--channels", "3", "--arch", "conv4k3p1,relu,maxpool2,flatten,fc",
                    "--epochs", "2", "--batch", "8", "--threads", "1", "--quiet", "--save", str(model_path)],
                   check=True, stdout=subprocess.DEVNULL)
    tensors, metadata = read_safetensors(model_path)
    info = json.loads(metadata["xgrad"])
    assert info["input_shape"] == [3, ROWS, COLS] and info["input_chw"] == [3, ROWS, COLS], info["input_shape"]
    train = np.stack([image for _, image in images["train"]]).astype(np.float64) / 255.0  # (N, H, W, 3)
    np.testing.assert_allclose(info["mean"], train.mean(axis=(0, 1, 2)), rtol=1e-6, atol=0)
    np.testing.assert_allclose(info["std"], train.std(axis=(0, 1, 2)), rtol=1e-6, atol=0)
    model = torch_network(info["arch"], info["input_chw"], len(info["classes"]))
    model.load_state_dict(tensors, strict=True)
    model.eval()
    pixels = np.stack([image for _, image in images["test"]]).transpose(0, 3, 1, 2).astype(np.float32)  # (B, 3, H, W)
    mean = np.array(info["mean"], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(info["std"], dtype=np.float32).reshape(1, 3, 1, 1)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy((pixels / np.float32(255.0) - mean) / std)).numpy()
    args = [xgrad, "predict", "--model", str(model_path), "--json", "--invert", "no"] + [str(p) for p, _ in images["test"]]
    out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    xgrad_logits = np.array([p["logits"] for p in out["predictions"]], dtype=np.float32)
    np.testing.assert_allclose(xgrad_logits, torch_logits, rtol=1e-5, atol=1e-5)
    print(f"RGB CNN model: mean {np.round(info['mean'], 4).tolist()}, std {np.round(info['std'], 4).tolist()}; "
          f"compared {len(pixels)} images x 3 logits; max |difference| {np.abs(xgrad_logits - torch_logits).max():.2e}")


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
    model = sequential_from(tensors, info)

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
    check_csv_model(xgrad, scratch)
    check_cnn_model(xgrad, scratch)
    check_bn_model(xgrad, scratch)
    check_rgb_cnn_model(xgrad, scratch)
    print("model file oracle: ok")


if __name__ == "__main__":
    main()
