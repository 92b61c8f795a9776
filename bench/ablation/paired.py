#!/usr/bin/env python3
"""Paired comparison of two scored runs on the same cases: B minus A in EM and ES (points), per
language, per kind and overall, each with a 95 % interval from a paired bootstrap over the cases
(resampled per language and kind, so each stratum keeps its size). Two models that differ by less
than the interval's half-width cannot be told apart on these cases: a decision needs more cases
or a larger difference.

    python3 ../shared/bench/score.py --cases CASES --cmd '...A...' --out A.jsonl
    python3 ../shared/bench/score.py --cases CASES --cmd '...B...' --out B.jsonl
    python3 bench/ablation/paired.py A.jsonl B.jsonl [--names old new] [--rounds 2000]

Reads the `id`, `lang`, `kind`, `em` and `es` of each line of score.py's (or bench/score.sh's)
`--out` files; cases present in only one file are counted and left out. Standard library only;
deterministic (fixed seed).
"""
import argparse
import json
import random
import sys

LANGS = ["python", "javascript", "typescript", "c"]
KINDS = ["line", "block", "args"]


def load(path):
    out = {}
    try:
        fh = open(path, encoding="utf-8")
    except OSError as e:
        sys.exit(f"paired.py: {path}: {e.strerror}")
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                out[r["id"]] = (r["lang"], r["kind"], float(bool(r["em"])), float(r["es"]))
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"paired.py: {path}:{n}: not a scored case ({e!r})")
    if not out:
        sys.exit(f"paired.py: {path}: no cases")
    return out


def interval(diffs_by_stratum, rounds, rng):
    """Mean of all diffs (points) and a 95 % paired-bootstrap interval, strata kept at their size."""
    strata = [d for d in diffs_by_stratum if d]
    n = sum(len(d) for d in strata)
    mean = 100.0 * sum(sum(d) for d in strata) / n
    means = []
    for _ in range(rounds):
        tot = 0.0
        for d in strata:
            k = len(d)
            tot += sum(d[rng.randrange(k)] for _ in range(k))
        means.append(100.0 * tot / n)
    means.sort()
    return mean, means[int(0.025 * rounds)], means[min(rounds - 1, int(0.975 * rounds))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--names", nargs=2, default=["A", "B"])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.rounds < 100:
        sys.exit("paired.py: --rounds must be at least 100")
    a, b = load(args.a), load(args.b)
    ids = sorted(set(a) & set(b))
    only = len(set(a) ^ set(b))
    if not ids:
        sys.exit("paired.py: the two files share no case ids")
    for i in ids:
        if a[i][:2] != b[i][:2]:
            sys.exit(f"paired.py: case {i} has language/kind {a[i][:2]} in one file, {b[i][:2]} in the other")
    strata = {}
    for i in ids:
        strata.setdefault(a[i][:2], []).append(i)
    rng = random.Random(args.seed)
    na, nb = args.names
    print(f"{nb} minus {na}, points, 95 % paired bootstrap ({args.rounds} rounds); "
          f"{len(ids)} cases in both" + (f", {only} in one file only (left out)" if only else ""))
    print(f"{'slice':<18} {'n':>5} {na + ' EM/ES':>14} {nb + ' EM/ES':>14}   {'dEM [95 %]':>22}   {'dES [95 %]':>22}")
    rows = [(lg, [(lg, k) for k in KINDS]) for lg in LANGS]
    rows += [(k, [(lg, k) for lg in LANGS]) for k in KINDS]
    rows += [("all", [(lg, k) for lg in LANGS for k in KINDS])]
    for name, keys in rows:
        keys = [key for key in keys if key in strata]
        if not keys:
            continue
        groups = [strata[key] for key in keys]
        cases = [i for g in groups for i in g]
        ea = 100.0 * sum(a[i][2] for i in cases) / len(cases)
        sa = 100.0 * sum(a[i][3] for i in cases) / len(cases)
        eb = 100.0 * sum(b[i][2] for i in cases) / len(cases)
        sb = 100.0 * sum(b[i][3] for i in cases) / len(cases)
        dem = interval([[b[i][2] - a[i][2] for i in g] for g in groups], args.rounds, rng)
        des = interval([[b[i][3] - a[i][3] for i in g] for g in groups], args.rounds, rng)
        print(f"{name:<18} {len(cases):>5} {ea:>6.1f} / {sa:>5.1f} {eb:>6.1f} / {sb:>5.1f}   "
              f"{dem[0]:>+5.1f} [{dem[1]:>+5.1f}, {dem[2]:>+5.1f}]   {des[0]:>+5.1f} [{des[1]:>+5.1f}, {des[2]:>+5.1f}]")


if __name__ == "__main__":
    main()
