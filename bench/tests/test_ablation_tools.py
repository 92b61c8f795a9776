"""bench/ablation/paired.py and val_cases.py --scale.

paired.py: identical runs differ by exactly 0 with a zero-width interval; a run better on every
case gets a difference equal to the gap and an interval that excludes 0; cases in one file only
are left out and counted; mismatched strata and empty files are refused.
val_cases.py: --scale 1 is the default set; --scale 2 draws twice the cases of each kind where the
texts have room for them, with unique ids; --scale 0 is refused.

    python3 -m unittest discover -s bench/tests
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAIRED = os.path.join(ROOT, "bench", "ablation", "paired.py")
VAL = os.path.join(ROOT, "bench", "ablation", "val_cases.py")


def write(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")


def cases(es_of, n=40, em_of=None):
    langs = ["python", "javascript", "typescript", "c"]
    kinds = ["line", "block", "args"]
    out = []
    for i in range(n):
        es = es_of(i)
        out.append({"id": f"c{i:03d}", "lang": langs[i % 4], "kind": kinds[i % 3],
                    "em": em_of(i) if em_of else es == 1.0, "es": es})
    return out


def overall(stdout):
    """The "all" row's dEM, its interval, dES, its interval: six floats."""
    line = [l for l in stdout.splitlines() if l.startswith("all ")][0]
    return [float(x) for x in line.replace("[", " ").replace("]", " ").replace(",", " ").split()[-6:]]


class Paired(unittest.TestCase):
    def run_paired(self, a, b):
        with tempfile.TemporaryDirectory() as d:
            pa, pb = os.path.join(d, "a.jsonl"), os.path.join(d, "b.jsonl")
            write(pa, a)
            write(pb, b)
            return subprocess.run([sys.executable, PAIRED, pa, pb, "--rounds", "300"],
                                  capture_output=True, text=True)

    def test_identical_runs_differ_by_zero(self):
        a = cases(lambda i: (i % 7) / 7)
        r = self.run_paired(a, a)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(overall(r.stdout), [0.0] * 6)

    def test_better_everywhere_excludes_zero(self):
        a = cases(lambda i: 0.25 + (i % 5) / 20)
        b = [dict(r, es=r["es"] + 0.1) for r in a]
        r = self.run_paired(a, b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(overall(r.stdout)[3:], [10.0] * 3)

    def test_noisy_gain_interval_brackets_mean(self):
        # 2 of every 5 cases gain 0.4, 3 lose 0.1: mean +0.1 (10 points), interval around it
        a = cases(lambda i: 0.5, n=120)
        b = [dict(r, es=r["es"] + (0.4 if i % 5 < 2 else -0.1)) for i, r in enumerate(a)]
        r = self.run_paired(a, b)
        self.assertEqual(r.returncode, 0, r.stderr)
        des, lo, hi = overall(r.stdout)[3:]
        self.assertAlmostEqual(des, 10.0, places=1)
        self.assertLess(lo, des)
        self.assertGreater(hi, des)

    def test_cases_in_one_file_only_are_left_out(self):
        a = cases(lambda i: 0.5)
        r = self.run_paired(a, a[:30])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("30 cases in both, 10 in one file only", r.stdout)

    def test_mismatched_stratum_is_refused(self):
        a = cases(lambda i: 0.5)
        b = [dict(r) for r in a]
        b[3]["lang"] = "python" if b[3]["lang"] != "python" else "c"
        r = self.run_paired(a, b)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("case c003", r.stderr)

    def test_missing_file_and_bad_line_are_refused(self):
        r = subprocess.run([sys.executable, PAIRED, "/nonexistent/a.jsonl", "/nonexistent/b.jsonl"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("/nonexistent/a.jsonl", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.jsonl")
            with open(bad, "w", encoding="utf-8") as fh:
                fh.write('{"id": "x", "lang": "c"}\n')
            r = subprocess.run([sys.executable, PAIRED, bad, bad], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bad.jsonl:1: not a scored case", r.stderr)

    def test_empty_file_is_refused(self):
        r = self.run_paired([], cases(lambda i: 0.5))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no cases", r.stderr)


class ValCasesScale(unittest.TestCase):
    def gen(self, *extra):
        r = subprocess.run([sys.executable, VAL, *extra], capture_output=True, text=True, cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(l) for l in r.stdout.splitlines()]

    def test_scale_one_is_the_default(self):
        self.assertEqual(self.gen(), self.gen("--scale", "1"))

    def test_scale_two_draws_twice_the_cases(self):
        # the shipped texts four times over: room for twice the cursors, 400 characters apart
        with tempfile.TemporaryDirectory() as d:
            for lang in ("python", "javascript", "typescript", "c"):
                with open(os.path.join(ROOT, "train", "eval", f"val_v2_{lang}.txt"), encoding="utf-8") as fh:
                    text = fh.read()
                with open(os.path.join(d, f"val_v2_{lang}.txt"), "w", encoding="utf-8") as fh:
                    fh.write("\n".join([text] * 4))
            two = self.gen("--texts", d, "--scale", "2")
        self.assertEqual(len({c["id"] for c in two}), len(two))
        for lang in ("python", "javascript", "typescript", "c"):
            kinds = [c["kind"] for c in two if c["lang"] == lang]
            self.assertEqual((kinds.count("line"), kinds.count("block"), kinds.count("args")), (60, 26, 14), lang)

    def test_scale_zero_is_refused(self):
        r = subprocess.run([sys.executable, VAL, "--scale", "0"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
