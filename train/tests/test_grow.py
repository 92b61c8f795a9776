"""train/grow.py: the grown stack's order, copies and zeroed projections, the renumbered metadata,
its refusals, and (with a built wisp) that the grown model computes what the old one did. Needs
numpy (Debian's python3-numpy: run with /usr/bin/python3); skipped without it.

    /usr/bin/python3 -m unittest discover -s train/tests
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "train"))
np = importlib.import_module("numpy") if importlib.util.find_spec("numpy") else None

SUFFIXES = ["attn_norm.weight", "attn_q.weight", "attn_output.weight", "ffn_down.weight", "ffn_up.weight"]


@unittest.skipUnless(np, "numpy is not installed")
class Grow(unittest.TestCase):
    def write(self, path, n_blocks=4, exit_at=2, skip=None):
        from gguf_writer import GGUFWriter, F32
        w = GGUFWriter("llama")
        w.add("llama.block_count", n_blocks)
        w.add("llama.embedding_length", 8)
        if exit_at:
            w.add("wisp.early_exit.block_count", exit_at)
        w.add("general.name", "g")
        rng = np.random.default_rng(3)
        self.t = {"token_embd.weight": rng.standard_normal((16, 8)).astype(np.float16).astype(np.float32)}
        w.add_tensor("token_embd.weight", self.t["token_embd.weight"], (8, 16), F32)
        for i in range(n_blocks):
            for s in SUFFIXES:
                name = f"blk.{i}.{s}"
                if name == skip:
                    continue
                x = rng.standard_normal(8 if s.endswith("norm.weight") else (8, 8)).astype(np.float32)
                x = x.astype(np.float16).astype(np.float32)  # what the F16 output holds exactly
                self.t[name] = x
                w.add_tensor(name, x, x.shape[::-1], F32)
        self.t["output_norm.weight"] = np.ones(8, np.float32)
        w.add_tensor("output_norm.weight", self.t["output_norm.weight"], (8,), F32)
        w.write(path)

    def test_grown_stack(self):
        from gguf_init import read_tensors
        from grow import grow
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.gguf"), os.path.join(d, "b.gguf")
            self.write(a)
            self.assertEqual(grow(a, b, 2), (6, 2))
            meta, _, ts = read_tensors(b)
            self.assertEqual(meta["llama.block_count"], 6)
            self.assertEqual(meta["wisp.early_exit.block_count"], 2)  # still after old block 2
            self.assertEqual(meta["general.name"], "g")
            names = [n for n, _, _ in ts]
            self.assertEqual(names[0], "token_embd.weight")
            self.assertEqual(names[-1], "output_norm.weight")
            self.assertEqual(names[1:-1], [f"blk.{i}.{s}" for i in range(6) for s in SUFFIXES])
            got = {n: x for n, _, x in ts}
            # old blocks 0 1 | new (copy of 1) | old 2 3 | new (copy of 3)
            for new_i, old_i, is_new in [(0, 0, False), (1, 1, False), (2, 1, True), (3, 2, False), (4, 3, False),
                                         (5, 3, True)]:
                for s in SUFFIXES:
                    want = self.t[f"blk.{old_i}.{s}"].reshape(-1)
                    if is_new and s in ("attn_output.weight", "ffn_down.weight"):
                        want = np.zeros_like(want)
                    np.testing.assert_array_equal(got[f"blk.{new_i}.{s}"], want, err_msg=f"blk.{new_i}.{s}")
            np.testing.assert_array_equal(got["token_embd.weight"], self.t["token_embd.weight"].reshape(-1))

    def test_exit_renumbered(self):
        from grow import new_exit, plan
        self.assertEqual(new_exit(6, 3), 7)  # 12 blocks: the exit after old block 6 -> 7 of 16
        self.assertEqual(new_exit(3, 3), 3)  # the new block after old block 3 is not needed
        self.assertEqual(new_exit(0, 3), 0)
        self.assertEqual(len(plan(12, 3)), 16)
        self.assertEqual(len(plan(12, 12)), 13)

    def test_refusals(self):
        from grow import grow
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.gguf"), os.path.join(d, "b.gguf")
            self.write(a)
            for every in (0, 5):
                with self.assertRaisesRegex(ValueError, "--every"):
                    grow(a, b, every)
            self.write(a, skip="blk.2.ffn_down.weight")
            with self.assertRaisesRegex(ValueError, "blk.2 has no ffn_down"):
                grow(a, b, 2)
            self.assertFalse(os.path.exists(b))

    def test_same_function_in_wisp(self):
        """The grown reference model gives wisp's perplexity to the digit (the new blocks add zeros)."""
        wisp = os.path.join(os.environ.get("WISP_BUILD_DIR", os.path.join(ROOT, "build")), "wisp")
        ref = os.path.join(ROOT, "fixtures", "reference", "trained.gguf")
        text = os.path.join(ROOT, "train", "eval", "ppl_text.txt")
        if not os.access(wisp, os.X_OK):
            self.skipTest(f"{wisp} is not built")
        from grow import grow

        def ppl(path):
            r = subprocess.run([wisp, "perplexity", path, text, "--ctx", "256"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            return [line for line in r.stdout.splitlines() + r.stderr.splitlines() if line.startswith("perplexity:")]

        with tempfile.TemporaryDirectory() as d:
            b = os.path.join(d, "grown.gguf")
            self.assertEqual(grow(ref, b, 2)[0], 6)
            want, got = ppl(ref), ppl(b)
            self.assertEqual(len(want), 1)
            self.assertEqual(got, want)


if __name__ == "__main__":
    unittest.main()
