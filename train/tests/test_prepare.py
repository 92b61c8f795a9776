"""prepare_v2.encode_package: a file the FIM transform fails on is left out and reported, and the
rest of its package is still encoded. Needs numpy (skipped without it); the tokenizer is replaced
by a stand-in, so the `tokenizers` package is not needed.

    python3 -m unittest discover -s train/tests
"""
import os
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

try:
    import numpy  # noqa: F401
    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False


class FakeEncoder:
    """One id list per document: its length in characters, as one token."""

    def encode(self, docs):
        return [[sum(len(p) for p in d[1:])] for d in docs]


@unittest.skipUnless(HAVE_NUMPY, "numpy is not installed")
class EncodePackage(unittest.TestCase):
    def test_a_failing_file_is_left_out_not_the_package(self):
        sys.modules.setdefault("tokenizers", types.SimpleNamespace(Tokenizer=None))
        import fim
        import prepare_v2
        prepare_v2.ENC = FakeEncoder()
        recs = [{"path": f"pkg/f{i}.py", "lang": "python", "text": f"def f{i}():\n    return {i}\n"} for i in range(30)]
        real = fim.file_docs

        def flaky(path, text, seed):
            if path == "pkg/f7.py":
                raise IndexError("list index out of range")
            return real(path, text, seed)
        fim.file_docs = flaky
        try:
            train, val, failed = prepare_v2.encode_package((recs, 2, "pkg:0"))
        finally:
            fim.file_docs = real
        self.assertEqual(len(failed), 2, failed)              # one per variant (f7 is not a validation file)
        self.assertTrue(all(f.startswith("pkg/f7.py: IndexError") for f in failed))
        n_train = sum(len(g) for g in train)
        n_val = len(val)
        # every other file of the package is there, in both variants or in validation
        self.assertEqual(n_train + 2 * n_val, 2 * 29)


if __name__ == "__main__":
    unittest.main()
