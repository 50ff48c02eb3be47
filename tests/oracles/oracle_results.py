"""The comparison shared by the PyTorch oracle scripts (tests/oracles/
training_step, tests/oracles/layers_losses_optim): an .npy array written by an xgrad driver against the
array torch computed, counted as passed or failed with the worst element named.

Agreement is |xgrad - torch| <= atol + rtol |torch| element-wise (the rule of
np.testing.assert_allclose); the scripts say why their tolerances fit.
"""
import numpy as np


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def fail(self, name, why):
        self.failed += 1
        print(f"FAIL {name}: {why}")

    def compare(self, name, path, expected, rtol=1e-5, atol=1e-6):
        """Compares the xgrad array stored at `path` with torch's `expected`."""
        expected = np.asarray(expected, dtype=np.float64)
        if not path.exists():
            self.fail(name, f"the xgrad driver did not write {path}")
            return
        actual = np.load(path)
        if actual.dtype != np.float32:
            self.fail(name, f"dtype {actual.dtype}, expected float32")
            return
        if actual.shape != expected.shape:
            self.fail(name, f"shape {actual.shape}, torch has {expected.shape}")
            return
        diff = np.abs(actual.astype(np.float64) - expected)
        max_abs = float(diff.max()) if diff.size else 0.0
        max_rel = float((diff / np.maximum(np.abs(expected), 1e-30)).max()) if diff.size else 0.0
        if not np.all(diff <= atol + rtol * np.abs(expected)):
            worst = np.unravel_index(int(np.argmax(diff - rtol * np.abs(expected))), diff.shape) if diff.ndim else ()
            self.fail(name, f"max |xgrad - torch| = {max_abs:.3g}, max relative = {max_rel:.3g}; "
                            f"worst at index {tuple(int(i) for i in worst)}: "
                            f"xgrad {actual[worst]!r}, torch {expected[worst]!r}")
            return
        self.passed += 1
        print(f"ok   {name}: max |diff| {max_abs:.2g}, max relative {max_rel:.2g}")
