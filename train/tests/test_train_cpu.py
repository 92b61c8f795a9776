"""train.py end to end on the CPU with a tiny model: several prepared parts, per-language weights,
a continued run (--init-gguf) whose starting weights are evaluated on the same validation windows
as the final ones, and a part that appears while the run goes on (--data-watch). Needs PyTorch
and numpy (Debian's python3-torch: run with /usr/bin/python3); skipped without them.

    /usr/bin/python3 -m unittest discover -s train/tests
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

os.environ["WISP_TRAIN_DEVICE"] = "cpu"   # before train.py is imported: it reads this once
HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.join(HERE, "..")
sys.path.insert(0, TRAIN)
LANGS = ("python", "javascript", "typescript", "c")   # train.LANGS (train.py needs PyTorch to import)


def write_stream(path, arrays):
    """prepare.write_stream without its tokenizer import: uint16 tokens + document starts."""
    np.concatenate(arrays).astype(np.uint16).tofile(path + ".bin")
    np.save(path + ".idx.npy", np.cumsum([0] + [len(a) for a in arrays[:-1]]).astype(np.int64))

try:
    import numpy as np
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

TINY = ["--dim", "32", "--layers", "2", "--heads", "2", "--kv-heads", "1", "--ffn", "64", "--vocab", "64",
        "--ctx", "32", "--batch", "4", "--compile", "0", "--warmup", "2"]


def fake_part(d, seed, langs=LANGS, n_docs=40):
    """A prepared folder as prepare_v2.py writes it, with random documents of small tokens."""
    rng = np.random.default_rng(seed)
    os.makedirs(d, exist_ok=True)
    docs = [rng.integers(0, 64, size=int(rng.integers(40, 90))) for _ in range(n_docs)]
    write_stream(os.path.join(d, "train"), docs)
    np.save(os.path.join(d, "train.lang.npy"), np.array([LANGS.index(langs[i % len(langs)]) for i in range(n_docs)],
                                                        dtype=np.uint8))
    for lg in langs:
        write_stream(os.path.join(d, f"val_{lg}"), [rng.integers(0, 64, size=50) for _ in range(6)])


def run_train(out, parts, *extra):
    env = dict(os.environ, WISP_TRAIN_DEVICE="cpu", PYTHONUNBUFFERED="1")
    r = subprocess.run([sys.executable, os.path.join(TRAIN, "train.py"), "--name", "t", *TINY, "--data", ",".join(parts),
                        "--out", out, "--minutes", "5", *extra], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise AssertionError(r.stdout[-2000:] + r.stderr[-3000:])
    with open(os.path.join(out, "result.json")) as f:
        return json.load(f), r.stdout


@unittest.skipUnless(HAVE_TORCH, "PyTorch is not installed")
class TrainCpu(unittest.TestCase):
    def test_fresh_then_continued(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "tok-000"), os.path.join(tmp, "tok-001")
            fake_part(a, 1)
            fake_part(b, 2, langs=("typescript", "c"))
            res, _ = run_train(os.path.join(tmp, "r1"), [a], "--max-steps", "12", "--opt", "muon")
            self.assertEqual(res["steps"], 12)
            self.assertEqual(set(res["val_loss"]), set(LANGS))
            self.assertIsNone(res["val_loss_init"])
            # the weights of run 1 as a GGUF, the way a later lease starts from the shipped file
            import torch
            import gguf_init
            sd = torch.load(os.path.join(tmp, "r1", "model.pt"), map_location="cpu")["model"]
            cfg = {"vocab": 64, "dim": 32, "n_layers": 2, "n_heads": 2, "ffn": 64, "n_kv_heads": 1}
            fake = os.path.join(tmp, "init.gguf")
            open(fake, "wb").close()
            real_load = gguf_init.load
            try:  # the reader is tested by export round trips on the GPU machine; here only the plumbing
                state = {k: v.float().numpy() for k, v in sd.items()}
                gguf_init.load = lambda path: (cfg, state)
                sys.argv = ["train.py", "--name", "t2", *TINY, "--data", a, "--out", os.path.join(tmp, "r2"),
                            "--minutes", "5", "--max-steps", "6", "--init-gguf", fake, "--lang-weights",
                            "python=0.5,c=0.5", "--max-passes", "4", "--tokens-plan", "2000", "--data-watch", os.path.join(tmp, "tok-[0-9][0-9][0-9]")]
                import train
                train.main()
            finally:
                gguf_init.load = real_load
            with open(os.path.join(tmp, "r2", "result.json")) as f:
                res2 = json.load(f)
            # both parts joined from the start (the watch glob finds tok-001), validation over both
            self.assertEqual(res2["val_parts"], 2)
            self.assertEqual(set(res2["val_loss_init"]), set(LANGS))
            # the starting weights are run 1's final ones: same windows over the first part's
            # languages would give run 1's figures; over both parts they differ but stay close
            for lg in LANGS:
                self.assertGreater(res2["val_loss_init"][lg], 0.0)
                self.assertLess(abs(res2["val_loss_init"][lg] - res2["val_loss"][lg]), 1.0)

    def test_capped_weights(self):
        import train
        w = {"python": 0.34, "javascript": 0.24, "typescript": 0.14, "c": 0.28}
        toks = {"python": 400e6, "javascript": 60e6, "typescript": 4e6, "c": 200e6}
        sh = train.capped_weights(w, toks, 1e9, 4)
        self.assertAlmostEqual(sum(sh.values()), 1.0)
        self.assertAlmostEqual(sh["typescript"], 4 * 4e6 / 1e9)            # held at 4 passes
        for lg in toks:
            self.assertLessEqual(sh[lg] * 1e9 / toks[lg], 4 + 1e-9)
        self.assertAlmostEqual(sh["python"] / sh["c"], 0.34 / 0.28)          # the rest keeps its ratios
        self.assertEqual(train.capped_weights(w, toks, 0, 4), {k: v / sum(w.values()) for k, v in w.items()})
        small = train.capped_weights(w, {"python": 1e6, "c": 1e6}, 1e9, 4)   # nothing can fill the run
        self.assertEqual(set(small), {"python", "c"})
        self.assertAlmostEqual(small["python"], 0.5)
        self.assertEqual(train.capped_weights({"python": 1.0}, {"c": 5}, 10, 1), {})

    def test_sampler_shares_by_tokens(self):
        import torch
        import train
        # python: 3 documents of 10 tokens, c: 1 document of 90 tokens
        starts = torch.tensor([0, 10, 20, 30])
        langs = torch.tensor([0, 0, 0, 3], dtype=torch.uint8)
        smp = train.Sampler(starts, langs, {"python": 0.5, "c": 0.5}, n_tokens=120, plan_tokens=120, max_passes=1)
        self.assertEqual(smp.lang_tokens["python"], 30)
        self.assertEqual(smp.lang_tokens["c"], 90)
        self.assertAlmostEqual(smp.shares["python"], 0.25)
        picks = smp.pick(4000, torch.Generator().manual_seed(0))
        self.assertAlmostEqual(float((picks < 30).float().mean()), 0.25, delta=0.03)

    def test_evaluate_same_windows(self):
        import torch
        import train
        from model import Config, Model
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "p0"), os.path.join(tmp, "p1")
            fake_part(a, 3)
            fake_part(b, 4)
            torch.manual_seed(0)
            m = Model(Config(vocab=64, dim=32, n_layers=2, n_heads=2, ffn=64, ctx=32, n_kv_heads=1))
            one = train.evaluate(m, [a, b], 32, "cpu", n_windows=4)
            two = train.evaluate(m, [a, b], 32, "cpu", n_windows=4)
            only_a = train.evaluate(m, a, 32, "cpu", n_windows=4)
            self.assertEqual(one, two)
            self.assertNotEqual(one, only_a)  # the windows spread over both parts


if __name__ == "__main__":
    unittest.main()
