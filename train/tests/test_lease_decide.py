"""The sweep decision rule of train/lease_decide.py."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lease_decide  # noqa: E402


def res(loss, exit_layer=0, opt="muon"):
    v = {lg: loss for lg in lease_decide.LANGS}
    if exit_layer:
        v.update({lg + "@exit": loss + 0.5 for lg in lease_decide.LANGS})
    return {"val_loss": v, "opt": opt, "lr": 2e-3, "muon_lr": 0.02, "exit_weight": 0.25 if exit_layer else 0.0,
            "config": {"dim": 320, "n_layers": 20, "n_heads": 5, "n_kv_heads": 1, "ffn": 864, "exit_layer": exit_layer}}


class Decide(unittest.TestCase):
    def test_exit_kept_when_close(self):
        d = lease_decide.decide({"w": res(2.0), "d": res(1.90), "d-exit": res(1.915, 8)})
        self.assertEqual(d["main_from"], "d-exit")
        self.assertIn("--exit-layer 8", d["args"])
        self.assertTrue(d["exit"][0]["keep_exit"])

    def test_exit_dropped_when_it_costs(self):
        d = lease_decide.decide({"w": res(2.0), "d": res(1.90), "d-exit": res(1.93, 8)})
        self.assertEqual(d["main_from"], "d")
        self.assertNotIn("--exit-layer", d["args"])

    def test_best_score_wins(self):
        d = lease_decide.decide({"w": res(1.8, opt="adamw"), "d": res(1.90), "d-exit": res(1.91, 8)})
        self.assertEqual(d["main_from"], "w")
        self.assertIn("--opt adamw", d["args"])


if __name__ == "__main__":
    unittest.main()
