#!/usr/bin/env python3
"""Turns the ablation's per-case results (bench/ablation/run.sh) into markdown tables: EM / ES per
language and per kind for each configuration, and the time outside the model. With --append the
report is appended to bench/RESULTS.md under a dated heading (date, commit, machine, model).
Standard library only."""
import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess

LANGS = ["python", "javascript", "typescript", "c"]
KINDS = ["line", "block", "args"]
CONFIGS = [("a_plain", "a. plain prefix/suffix"), ("b_scopes", "b. + path, scopes"),
           ("c_defs", "c. + definitions"), ("d_trim", "d. + trimming")]


def load(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(l) for l in fh if l.strip()]


def cell(rows):
    if not rows:
        return "-"
    em = 100.0 * sum(r["em"] for r in rows) / len(rows)
    es = 100.0 * sum(r["es"] for r in rows) / len(rows)
    return f"{em:.1f} / {es:.1f}"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def commit():
    try:
        h = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        return h + ("+dirty" if dirty else "")
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", default="bench/ablation/out")
    ap.add_argument("--model", default="models/wisp-default.gguf")
    ap.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    ap.add_argument("--model-note", default="", help="what the model is, for the report")
    a = ap.parse_args()
    results = {k: load(os.path.join(a.dir, k + ".jsonl")) for k, _ in CONFIGS
               if os.path.exists(os.path.join(a.dir, k + ".jsonl"))}
    out = []
    with open(a.model, "rb") as fh:
        sha = hashlib.sha256(fh.read()).hexdigest()[:12]
    n = max((len(v) for v in results.values()), default=0)
    out.append(f"### Context ablation on the dev benchmark ({datetime.date.today().isoformat()})\n")
    out.append(f"- commit `{commit()}`, machine: {machine()}")
    out.append(f"- model `{os.path.relpath(a.model)}` (sha256 {sha}){' ' + a.model_note if a.model_note else ''}, {n} cases, "
               "`bench/ablation/run.sh` (score.py driving `wisp complete --file F --offset N`)")
    out.append("- cells: EM % / ES %\n")
    hdr = "| configuration | " + " | ".join(LANGS) + " | " + " | ".join(KINDS) + " | all | empty % | err % |"
    out.append(hdr)
    out.append("|---" * (len(LANGS) + len(KINDS) + 4) + "|")
    for key, label in CONFIGS:
        rows = results.get(key)
        if rows is None:
            continue
        cells = [cell([r for r in rows if r["lang"] == l]) for l in LANGS]
        cells += [cell([r for r in rows if r["kind"] == k]) for k in KINDS]
        empty = 100.0 * sum(r["empty"] for r in rows) / len(rows)
        err = 100.0 * sum(r["error"] for r in rows) / len(rows)
        out.append(f"| {label} | " + " | ".join(cells) + f" | {cell(rows)} | {empty:.1f} | {err:.1f} |")
    extra = os.path.join(a.dir, "default_d.jsonl")
    if os.path.exists(extra) and "d_trim" in results:
        rows = load(extra)
        ids = {r["id"] for r in rows}
        same = [r for r in results["d_trim"] if r["id"] in ids]
        out.append(f"\nThe shipped default model (`models/wisp-default.gguf`), full configuration, current engine,"
                   f" on the first {len(rows)} cases (score.py --limit, round-robin over languages), beside row d"
                   " on the same cases:\n")
        out.append(hdr)
        out.append("|---" * (len(LANGS) + len(KINDS) + 4) + "|")
        for label, rs in (("d, ablation model, same cases", same), ("d, shipped default", rows)):
            cells = [cell([r for r in rs if r["lang"] == l]) for l in LANGS]
            cells += [cell([r for r in rs if r["kind"] == k]) for k in KINDS]
            empty = 100.0 * sum(r["empty"] for r in rs) / max(1, len(rs))
            err = 100.0 * sum(r["error"] for r in rs) / max(1, len(rs))
            out.append(f"| {label} | " + " | ".join(cells) + f" | {cell(rs)} | {empty:.1f} | {err:.1f} |")
    t = os.path.join(a.dir, "timings.md")
    if os.path.exists(t):
        out.append("\nTime `wisp complete` spends per case (full configuration, engine timings from `--json`;"
                   " outside = parse + context + prompt + trim; model = prefill + decode; one process per case):\n")
        with open(t) as fh:
            out.append(fh.read().rstrip())
    t = os.path.join(a.dir, "trim_check.txt")
    if os.path.exists(t):
        out.append("\nThe trimming rules alone (`trim_check.py`, no model): the answer is the expected middle"
                   " followed by K bytes of the file's continuation; share of cases cut back exactly:\n")
        with open(t) as fh:
            out += ["    " + l.rstrip() for l in fh if l.strip()]
    text = "\n".join(out) + "\n"
    print(text)
    if a.append:
        with open("bench/RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
