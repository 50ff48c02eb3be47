#!/usr/bin/python3
"""Tests of bench/epoch.py's time to accuracy, against small stand-in programs (no training, no torch)."""
import contextlib
import io
import math
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import epoch  # noqa: E402


def program(*lines, exit_status=0):
    """A command that prints `lines` (flushed one by one) and exits with exit_status."""
    code = "import sys\nfor l in %r: print(l, flush=True)\nsys.exit(%d)" % (list(lines), exit_status)
    return [sys.executable, "-c", code]


def time_to_accuracy(*lines, exit_status=0):
    """(seconds or None, what time_to_accuracy printed) for a stand-in that prints `lines` like torch_mlp.py tta."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        seconds = epoch.time_to_accuracy("fake", 0, program(*lines, exit_status=exit_status), os.environ,
                                         epoch.torch_row_accuracy, "", 0.88)
    return seconds, out.getvalue()


class HostWarnings(unittest.TestCase):
    QUIET = {"floor 1": [0.50, 0.49, 0.51], "floor 2": [0.34, 0.33, 0.34], "xgrad 2": [0.249, 0.284, 0.262],
             "xgrad peak RSS MB": [60.0, 75.0, 76.0], "torch 2/2": [2.5, 4.0],
             "fma peak GFLOP/s": [213.0, 220.5, 215.3], "core round trip ns": [109.0, 150.0, 189.0]}

    def test_a_quiet_host_gives_none(self):
        self.assertEqual(epoch.host_warnings(self.QUIET), [])

    def test_each_sign_alone(self):
        slow_floor = dict(self.QUIET, **{"floor 2": [0.49, 0.50, 0.48]})
        self.assertEqual(len(epoch.host_warnings(slow_floor)), 1)
        self.assertIn("OpenBLAS gained only 1.02x", epoch.host_warnings(slow_floor)[0])
        swinging_peak = dict(self.QUIET, **{"fma peak GFLOP/s": [153.2, 199.2, 190.0]})
        self.assertEqual(epoch.host_warnings(swinging_peak), ["the core's FMA peak ranged 153-199 GFLOP/s between runs"])
        slow_trip = dict(self.QUIET, **{"core round trip ns": [129.0, 695.0]})
        self.assertEqual(epoch.host_warnings(slow_trip), ["the round trip between the cores ranged 129-695 ns"])
        swinging_run = dict(self.QUIET, **{"xgrad 2": [0.333, 0.507, 0.375]})
        self.assertEqual(epoch.host_warnings(swinging_run), ["the runs of 'xgrad 2' ranged 0.333-0.507 s (1.52x)"])

    def test_missing_figures_give_none(self):
        self.assertEqual(epoch.host_warnings({}), [])
        self.assertEqual(epoch.host_warnings({"fma peak GFLOP/s": [100.0]}), [])


class TimeToAccuracy(unittest.TestCase):
    def test_stops_at_the_first_epoch_that_reaches_the_target(self):
        seconds, printed = time_to_accuracy("epoch=1 test_acc=0.5000 seconds=1.0", "noise",
                                            "epoch=2 test_acc=0.8800 seconds=1.0", "epoch=3 test_acc=0.9 seconds=1.0")
        self.assertGreater(seconds, 0.0)
        self.assertIn("(epoch 2)", printed)

    def test_none_when_never_reached(self):
        seconds, printed = time_to_accuracy("epoch=1 test_acc=0.5", "epoch=2 test_acc=0.87")
        self.assertIsNone(seconds)
        self.assertIn("not reached in 2 epochs", printed)

    def test_a_program_that_fails_stops_the_bench(self):
        with self.assertRaises(SystemExit):
            time_to_accuracy("epoch=1 test_acc=0.5", exit_status=3)

    def test_xgrad_rows(self):
        self.assertEqual(epoch.xgrad_row_accuracy("3/15         0.5560     0.8044     0.5710    0.8158      0.05    0.07s"), 0.8158)
        self.assertIsNone(epoch.xgrad_row_accuracy("epoch    train_loss  train_acc  test_loss  test_acc        lr     time"))


class Flags(unittest.TestCase):
    def test_counts_below_one_exit_2_with_one_line(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "epoch.py")
        for flag in ("--tta-seeds", "--runs"):
            for value in ("0", "-3"):
                p = subprocess.run([sys.executable, script, flag, value], capture_output=True, text=True)
                self.assertEqual(p.returncode, 2)
                self.assertEqual(p.stdout, "")
                self.assertIn("error: %s must be >= 1" % flag, p.stderr.strip().splitlines()[-1])


class MedianReached(unittest.TestCase):
    def test_a_seed_not_reached_counts_as_slowest(self):
        self.assertEqual(epoch.median_reached([4.5, None, 3.7]), 4.5)
        self.assertEqual(epoch.median_reached([6.0, 3.5, 4.0]), 4.0)
        self.assertTrue(math.isinf(epoch.median_reached([None, 2.0, None])))


if __name__ == "__main__":
    unittest.main()
