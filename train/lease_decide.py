"""Picks the main run's starting point from the sweep of scripts/device/lease_v2.sh, by the
rule written in models/README.md, and writes the decision with its numbers.

    python3 train/lease_decide.py --runs /tmp/wisp2/runs --names w-adamw w-muon d-muon d-muon-exit \
        --out decision.json

Score of a run = mean over the four languages of its full-depth validation loss (nats).
1. Early exit: if the run with the exit loss (NAME-exit) is within EXIT_MARGIN of the same run
   without it on the full-depth score, the exit is kept (it stands in for its twin below);
   otherwise the twin stands.
2. The run with the lowest score among those left is continued as the main run.
"""
import argparse
import json
import os

EXIT_MARGIN = 0.02
LANGS = ("python", "javascript", "typescript", "c")


def score(res):
    v = res["val_loss"]
    return sum(v[lg] for lg in LANGS if lg in v) / len([lg for lg in LANGS if lg in v])


def decide(results):
    """results: {name: result.json dict} -> decision dict."""
    scores = {n: score(r) for n, r in results.items()}
    pool = dict(scores)
    notes = []
    for n in list(results):
        if n.endswith("-exit") and n[:-5] in results:
            twin = n[:-5]
            diff = scores[n] - scores[twin]
            keep = diff < EXIT_MARGIN
            notes.append({"exit_run": n, "twin": twin, "full_depth_diff": round(diff, 4), "keep_exit": keep,
                          "exit_loss": round(sum(results[n]["val_loss"].get(lg + "@exit", 0) for lg in LANGS) / 4, 4)})
            pool.pop(twin if keep else n)
    best = min(pool, key=pool.get)
    c, r = results[best]["config"], results[best]
    args = (f"--dim {c['dim']} --layers {c['n_layers']} --heads {c['n_heads']} --kv-heads {c.get('n_kv_heads', 0)} "
            f"--ffn {c['ffn']} --opt {r.get('opt', 'adamw')} --lr {r['lr']}")
    if r.get("opt") == "muon":
        args += f" --muon-lr {r['muon_lr']}"
    if c.get("exit_layer"):
        args += f" --exit-layer {c['exit_layer']} --exit-weight {r['exit_weight']}"
    return {"scores": {n: round(s, 4) for n, s in scores.items()}, "exit": notes, "main_from": best, "args": args}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--names", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    results = {}
    for n in a.names:
        p = os.path.join(a.runs, n, "result.json")
        if os.path.exists(p):
            results[n] = json.load(open(p))
        else:
            print(f"{n}: no result (failed?)")
    if not results:
        raise SystemExit("no sweep run finished")
    d = decide(results)
    json.dump(d, open(a.out, "w"), indent=1)
    print(json.dumps(d, indent=1))


if __name__ == "__main__":
    main()
