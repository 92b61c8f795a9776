#!/usr/bin/env python3
"""Completion requests for the serve benchmark, deterministic: for each source file, N cursors at
the first non-blank character of evenly spaced code lines; prefix = up to 1,200 characters before
the cursor (whole lines); the rest of the cursor's line is the gap to fill; suffix = up to 300
characters from the end of that line. Each case is an /infill body:
input_prefix, input_suffix, filename (so that wisp uses its pipeline), n_predict.

    python3 bench/serve/make_cases.py OUT.json N_PREDICT FILE:N...
"""
import json
import os
import sys

out, n_predict, specs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cases = []
for spec in specs:
    path, n = spec.rsplit(":", 1)
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    starts, off = [], 0
    for ln in lines:
        stripped = ln.lstrip()
        if stripped and not stripped.startswith(("#", "//", "/*", "*")) and off > 400:
            starts.append(off + len(ln) - len(stripped))
        off += len(ln) + 1
    k = int(n)
    picks = [starts[(i * len(starts)) // k] for i in range(k)]
    for pos in picks:
        pre = text[:pos]
        cut = pre.rfind("\n", 0, max(0, len(pre) - 1200))
        pre = pre[cut + 1:] if len(pre) > 1200 else pre
        eol = text.find("\n", pos)
        eol = len(text) if eol < 0 else eol
        suf = text[eol:eol + 300]
        cases.append({"input_prefix": pre, "input_suffix": suf, "filename": os.path.basename(path),
                      "n_predict": n_predict})
json.dump(cases, open(out, "w"), indent=0)
print(f"{len(cases)} cases -> {out}")
