#!/usr/bin/env python3
"""Time `wisp complete --json` on every dev case and report where the time goes.

For each case of the development set the file (prefix + suffix) is written under its original
basename in a fresh temporary directory, as score.py does, and `wisp complete --json` runs on it.
The engine's own timings come back in the JSON; this script reports, per case, the time spent
outside the model (parse + context + prompt + trim) and inside it (prefill + decode), with p50 and
p95 over the cases, per language and overall. Each process completes twice at the cursor
(`--repeat 2`): the columns are the second, warm call, as in an editor where the engine lives on
(parse = the document's full first parse); `cold_outside` is the first call of a fresh process.
Standard library only.

usage: python3 bench/ablation/timings.py --wisp build/wisp --model MODEL \
           [--cases PATH (default: bench/dev_cases.path)] [--limit N] [--out timings.jsonl] [-- EXTRA FLAGS]
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import subprocess
import sys
import tempfile

LANGS = ["python", "javascript", "typescript", "c"]


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[max(0, min(len(v) - 1, math.ceil(q / 100.0 * len(v)) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap.add_argument("--wisp", default=os.path.join(root, "build", "wisp"))
    ap.add_argument("--model", default=os.path.join(root, "models", "wisp-default.gguf"))
    with open(os.path.join(root, "bench", "dev_cases.path"), encoding="utf-8") as f:
        default_cases = os.path.join(root, f.read().strip())
    ap.add_argument("--cases", default=default_cases)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--jobs", type=int, default=1, help="cases at once (timings are per process)")
    ap.add_argument("extra", nargs="*", help="extra flags for wisp complete (after --)")
    a = ap.parse_args()
    with open(a.cases, encoding="utf-8") as fh:
        cases = [json.loads(l) for l in fh if l.strip()]
    if a.limit:  # round-robin over languages, as score.py --limit does
        by = {l: [c for c in cases if c["lang"] == l] for l in LANGS}
        mixed = [by[l][i] for i in range(max(map(len, by.values()))) for l in LANGS if i < len(by[l])]
        cases = mixed[: a.limit]
    def run(c):
        with tempfile.TemporaryDirectory(prefix="wisp-timings-") as tmp:
            path = os.path.join(tmp, os.path.basename(c["path"]))
            with open(path, "wb") as fh:
                fh.write((c["prefix"] + c["suffix"]).encode("utf-8"))
            off = len(c["prefix"].encode("utf-8"))
            cmd = [a.wisp, "complete", "--json", "--repeat", "2", "--model", a.model, *a.extra, "--file", path,
                   "--offset", str(off)]
            p = subprocess.run(cmd, capture_output=True)
        if p.returncode != 0:
            print(f"{c['id']}: exit {p.returncode}: {p.stderr.decode('utf-8', 'replace')[-300:]}", file=sys.stderr)
            return None
        j = json.loads(p.stdout)
        t = j["timings"]
        return {
            "id": c["id"], "lang": c["lang"], "kind": c["kind"], "mode": j["mode"],
            "outside_ms": t["parse_ms"] + t["context_ms"] + t["prompt_ms"] + t["trim_ms"],
            "parse_ms": t["parse_ms"], "context_ms": t["context_ms"], "prompt_ms": t["prompt_ms"],
            "trim_ms": t["trim_ms"], "model_ms": t["prefill_ms"] + t["decode_ms"],
            "prefill_ms": t["prefill_ms"], "decode_ms": t["decode_ms"], "load_ms": t["load_ms"],
            "prompt_tokens": j["tokens"]["prompt"], "generated": j["tokens"]["generated"],
            "cold_outside_ms": t["parse_ms"] + j["cold"]["context_ms"] + j["cold"]["prompt_ms"] + j["cold"]["trim_ms"],
        }

    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        got = list(pool.map(run, cases))
    rows = [r for r in got if r]
    failures = len(got) - len(rows)
    if a.out:
        with open(a.out, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    cols = ["outside_ms", "parse_ms", "context_ms", "prompt_ms", "trim_ms", "model_ms", "cold_outside_ms"]
    print("| lang | n | " + " | ".join(f"{c[:-3]} p50 / p95 ms" for c in cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for lang in LANGS + ["all"]:
        rs = [r for r in rows if lang == "all" or r["lang"] == lang]
        if not rs:
            continue
        cells = [f"{pct([r[c] for r in rs], 50):.2f} / {pct([r[c] for r in rs], 95):.2f}" for c in cols]
        print(f"| {lang} | {len(rs)} | " + " | ".join(cells) + " |")
    modes = {}
    for r in rows:
        modes[r["mode"]] = modes.get(r["mode"], 0) + 1
    print(f"\ncases {len(cases)}, failed {failures}; modes: " + ", ".join(f"{k} {v}" for k, v in sorted(modes.items())))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
