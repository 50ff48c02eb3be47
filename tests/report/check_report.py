"""Runs `xgrad train`, `sweep` and `lr-find` with --report on a small data set
and checks each report.html: well-formed XML (the page is XHTML-compatible),
no external resources or scripts, one <svg> per chart, one curve per LR in a
sweep, K*K heatmap cells for K classes, and a metrics.csv that csv can read.

usage: check_report.py XGRAD_BINARY SCRATCH_DIR
Exits 1 on the first failed check (with a message), 0 when all pass."""
import csv
import os
import random
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def write_idx(path, dims, data):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, len(dims)))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(bytes(data))


def write_toy(directory, n_train, n_test, classes=10, rows=10, cols=10):
    """Class c has a bright band in row c, plus noise."""
    rng = random.Random(1)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = [i % classes for i in range(n)]
        pixels = []
        for c in labels:
            image = [rng.randrange(0, 90) for _ in range(rows * cols)]
            for x in range(cols):
                image[c * cols + x] = 160 + rng.randrange(0, 96)
            pixels += image
        write_idx(os.path.join(directory, f"{split}-images-idx3-ubyte"), [n, rows, cols], pixels)
        write_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte"), [n], labels)
    # Names with characters that must be escaped in XML.
    with open(os.path.join(directory, "classes.txt"), "w") as f:
        f.write("\n".join(["T-shirt/top", "A&B", "<tag>", 'say "hi"', "it's"] +
                          [f"class {i}" for i in range(5, classes)]) + "\n")


def run(binary, args, expect):
    r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=120)
    if r.returncode != expect:
        fail(f"xgrad {' '.join(args)} exited {r.returncode}, expected {expect}\n{r.stdout}\n{r.stderr}")
    return r


def load_report(directory):
    path = os.path.join(directory, "report.html")
    text = open(path, encoding="utf-8").read()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        fail(f"{path} is not well-formed XML: {e}")
    if root.tag != XHTML + "html":
        fail(f"{path}: the root is {root.tag}, not the XHTML <html>")
    for bad in ("<script", "http://", "https://", "src=", "@import", "url(http"):
        # The only URLs allowed are the XML namespace names.
        stripped = text.replace("http://www.w3.org/2000/svg", "").replace("http://www.w3.org/1999/xhtml", "")
        if bad in stripped:
            fail(f"{path} refers to something outside the file or has a script: {bad!r}")
    rows = list(csv.DictReader(open(os.path.join(directory, "metrics.csv"), newline="")))
    return root, rows


def charts(root):
    return root.findall(f".//{SVG}svg")


def check_heatmap(root, classes, where):
    heatmaps = [s for s in charts(root) if "heatmap" in s.get("class", "")]
    if len(heatmaps) != 1:
        fail(f"{where}: {len(heatmaps)} heatmaps, expected 1")
    cells = [r for r in heatmaps[0].iter(f"{SVG}rect") if r.get("class") == "cell"]
    if len(cells) != classes * classes:
        fail(f"{where}: {len(cells)} heatmap cells, expected {classes * classes}")
    counts = [t for t in heatmaps[0].iter(f"{SVG}text") if "count" in t.get("class", "")]
    if len(counts) != classes * classes or not all(t.text.isdigit() for t in counts):
        fail(f"{where}: the heatmap cells do not all show their count")
    scale = [r for r in heatmaps[0].iter(f"{SVG}rect") if r.get("class") == "scale-step"]
    if len(scale) != 20:  # two colour scales (correct, errors) of 10 steps
        fail(f"{where}: the heatmap's colour scale has {len(scale)} steps, expected 20")
    labels = [t.text for t in heatmaps[0].iter(f"{SVG}text") if t.get("class") == "row-label"]
    if labels[:3] != ["T-shirt/top", "A&B", "<tag>"]:
        fail(f"{where}: row labels {labels[:3]} lost their escaping")


def main():
    binary, scratch = sys.argv[1], sys.argv[2]
    shutil.rmtree(scratch, ignore_errors=True)
    data = os.path.join(scratch, "data")
    os.makedirs(data)
    write_toy(data, 600, 200)
    common = ["--data", data, "--hidden", "32", "--batch", "32"]

    # train: a loss chart, an accuracy chart, a learning-rate chart, the heatmap; metrics.csv one row per epoch.
    out = os.path.join(scratch, "train")
    run(binary, ["train"] + common + ["--epochs", "3", "--lr", "0.05", "--quiet", "--report", out], 0)
    root, rows = load_report(out)
    svgs = charts(root)
    if len(svgs) != 4:
        fail(f"train report: {len(svgs)} charts, expected 4 (loss, accuracy, learning rate, confusion)")
    titles = [t.text for s in svgs for t in s.iter(f"{SVG}text") if t.get("class") == "chart-title"]
    if "Learning rate per epoch" not in titles:
        fail(f"train report: no learning-rate chart among {titles}")
    check_heatmap(root, 10, "train report")
    if [r["epoch"] for r in rows] != ["1", "2", "3"] or not all(float(r["test_acc"]) > 0 for r in rows):
        fail(f"train metrics.csv rows: {rows}")
    line_charts = [s for s in svgs if "line-chart" in s.get("class", "")]
    loss_curves = [p for p in line_charts[0].iter(f"{SVG}path") if "curve" in p.get("class", "").split()]
    if len(loss_curves) != 2:
        fail(f"train report: the loss chart has {len(loss_curves)} curves, expected 2 (train, test)")

    # sweep: one curve per LR in the loss chart, the diverged run marked.
    rates = ["0.01", "0.1", "1", "50"]
    out = os.path.join(scratch, "sweep")
    run(binary, ["sweep"] + common + ["--epochs", "2", "--lr", ",".join(rates), "--report", out], 0)
    root, rows = load_report(out)
    svgs = charts(root)
    curves = [p for p in svgs[0].iter(f"{SVG}path") if "lr-curve" in p.get("class", "").split()]
    if len(curves) != len(rates):
        fail(f"sweep report: {len(curves)} LR curves in the first chart, expected {len(rates)}")
    legend = " ".join(t.text or "" for t in svgs[0].iter(f"{SVG}text"))
    for lr in rates:
        if f"lr {lr}" not in legend:
            fail(f"sweep report: no legend entry for lr {lr}")
    if "diverged" not in legend or not [p for p in svgs[0].iter(f"{SVG}path") if p.get("class") == "mark-cross"]:
        fail("sweep report: the diverged run is not marked")
    diverged_rows = [r for r in rows if r["diverged_step"]]
    if [r["base_lr"] for r in diverged_rows] != ["50"]:
        fail(f"sweep metrics.csv: diverged rows {diverged_rows}")
    if len(svgs) != 4:  # training loss, test loss, test accuracy, confusion of the best run
        fail(f"sweep report: {len(svgs)} charts, expected 4")
    check_heatmap(root, 10, "sweep report")

    # lr-find: loss against log10(LR) with both suggestions marked.
    out = os.path.join(scratch, "lr-find")
    run(binary, ["lr-find"] + common + ["--end", "1000", "--report", out], 0)
    root, rows = load_report(out)
    svgs = charts(root)
    if len(svgs) != 1:
        fail(f"lr-find report: {len(svgs)} charts, expected 1")
    marks = [l for l in svgs[0].iter(f"{SVG}line") if l.get("class") == "mark-line"]
    if len(marks) < 2:
        fail("lr-find report: the two suggestions are not marked")
    text = " ".join(t.text or "" for t in svgs[0].iter(f"{SVG}text"))
    if "steepest descent" not in text or "valley" not in text:
        fail("lr-find report: the legend does not name the suggestions")
    if not rows or float(rows[0]["lr"]) != 1e-7:
        fail(f"lr-find metrics.csv starts {rows[:1]}")

    # A diverged train run still writes its report, saying so.
    out = os.path.join(scratch, "diverged")
    run(binary, ["train", "--data", data, "--hidden", "16,16", "--batch", "600", "--epochs", "20",
                 "--lr", "1e4", "--report", out], 3)
    root, rows = load_report(out)
    page = ET.tostring(root, encoding="unicode")
    if "training diverged" not in page:
        fail("diverged report: no word of the divergence")
    print("report checks passed")


if __name__ == "__main__":
    main()
