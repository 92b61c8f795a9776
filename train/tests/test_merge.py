"""train/merge.py: weight 0 gives A's tensors, 1 gives B's, 0.5 their mean, A's metadata and
tensor order are kept, and checkpoints of different shapes are refused. Needs numpy (Debian's
python3-numpy: run with /usr/bin/python3); skipped without it.

    /usr/bin/python3 -m unittest discover -s train/tests
"""
import importlib.util
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
np = importlib.import_module("numpy") if importlib.util.find_spec("numpy") else None


@unittest.skipUnless(np, "numpy is not installed")
class Merge(unittest.TestCase):
    def write(self, path, scale, ffn=64):
        from gguf_writer import GGUFWriter, F32, F16
        w = GGUFWriter("llama")
        w.add("llama.block_count", 1)
        w.add("llama.embedding_length", 32)
        w.add("general.name", "m%g" % scale)
        rng = np.random.default_rng(7)
        self.emb = rng.standard_normal((16, 32)).astype(np.float32)
        self.ffn = rng.standard_normal((ffn, 32)).astype(np.float32)
        w.add_tensor("token_embd.weight", (self.emb * scale).astype(np.float16), (32, 16), F16)
        w.add_tensor("blk.0.ffn_up.weight", self.ffn * scale, (32, ffn), F32)
        w.add_tensor("output_norm.weight", np.full(32, scale, np.float32), (32,), F32)
        w.write(path)

    def test_weights(self):
        import merge
        from gguf_init import read
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.gguf"), os.path.join(d, "b.gguf")
            self.write(a, 1.0)
            self.write(b, 3.0)
            for w, scale in ((0.0, 1.0), (1.0, 3.0), (0.5, 2.0), (0.25, 1.5)):
                out = os.path.join(d, "m%g.gguf" % w)
                merge.merge(a, b, w, out)
                meta, t = read(out)
                self.assertEqual(meta["general.name"], "m1")     # A's metadata
                self.assertEqual(list(t), ["token_embd.weight", "blk.0.ffn_up.weight", "output_norm.weight"])
                np.testing.assert_allclose(t["output_norm.weight"], np.full(32, scale), rtol=0, atol=0)
                np.testing.assert_allclose(t["blk.0.ffn_up.weight"], self.ffn * scale, rtol=2e-3, atol=2e-3)
                np.testing.assert_allclose(t["token_embd.weight"], self.emb * scale, rtol=3e-3, atol=3e-3)

    def test_shapes_must_match(self):
        import merge
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.gguf"), os.path.join(d, "b.gguf")
            self.write(a, 1.0)
            self.write(b, 1.0, ffn=96)
            with self.assertRaisesRegex(ValueError, "blk.0.ffn_up.weight: shape"):
                merge.merge(a, b, 0.5, os.path.join(d, "m.gguf"))


if __name__ == "__main__":
    unittest.main()
