#!/usr/bin/env python3
"""How often the trimming rules alone recover the middle: each dev case's "model answer" is the
expected middle followed by the next K bytes of the file (a model that runs on into the suffix);
trim_completion (grammar/trim.c, via the trim_check harness) must cut it back. Prints exact-match
rates per kind and language for K = 0 (the model stops on time) and K = 200 (it runs on).
An aggregate measure of the rules, not a tuning loop: no rule is written for a single case.

  cc -O2 -Icore/include -Icore -Igrammar/include -Igrammar bench/ablation/trim_check.c grammar/trim.c core/error.c -o /tmp/trim_check
  python3 bench/ablation/trim_check.py /tmp/trim_check
"""
import json
import os
import struct
import subprocess
import sys

LANG = {"python": 1, "javascript": 2, "typescript": 3, "c": 5}  # wisp_lang values
SHAPE = {"line": 0, "block": 1, "args": 2}


def blob(b):
    return struct.pack("<I", len(b)) + b


def main():
    exe = sys.argv[1]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(root, "bench", "dev_cases.path"), encoding="utf-8") as f:
        default_cases = os.path.join(root, f.read().strip())
    cases_path = sys.argv[2] if len(sys.argv) > 2 else default_cases
    cases = [json.loads(l) for l in open(cases_path, encoding="utf-8") if l.strip()]
    for k in (0, 200):
        stream = b""
        for c in cases:
            lang = LANG[c["lang"]]
            if c["lang"] == "typescript" and c["path"].endswith(".tsx"):
                lang = 4
            raw = (c["expected"] + c["suffix"][:k]).encode()
            stream += struct.pack("<II", lang, SHAPE[c["kind"]]) + blob(c["prefix"].encode()) + \
                blob(c["suffix"].encode()) + blob(raw)
        out = subprocess.run([exe], input=stream, capture_output=True, check=True).stdout
        got, i = [], 0
        while i < len(out):
            (n,) = struct.unpack_from("<I", out, i)
            got.append(out[i + 4:i + 4 + n].decode("utf-8", "replace"))
            i += 4 + n
        stats = {}
        for c, g in zip(cases, got):
            exp = c["expected"].rstrip()
            gg = g.split("\n", 1)[0] if c["kind"] == "line" else g
            ok = gg.rstrip() == exp
            for key in (c["kind"], c["lang"], "all"):
                s = stats.setdefault(key, [0, 0])
                s[0] += ok
                s[1] += 1
        print(f"run-on {k:>3} bytes: " + ", ".join(f"{key} {100.0 * a / b:.0f}% ({a}/{b})" for key, (a, b) in stats.items()))


if __name__ == "__main__":
    main()
