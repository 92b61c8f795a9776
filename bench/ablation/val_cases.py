"""A second completion benchmark, from text no lease trained on: fill-in-the-middle cases in the
development benchmark's format, cut from the v2 corpus's validation texts (train/eval/val_v2_*.txt:
files whose path hash puts them in the 1 % validation split, train/eval_text_v2.py). A change
tuned on the development benchmark should hold here too before it becomes a default.

    python3 bench/ablation/val_cases.py > bench/ablation/out/val_cases.jsonl
    python3 ../shared/bench/score.py --cases bench/ablation/out/val_cases.jsonl \
        --cmd 'build/wisp complete --file {file} --offset {offset}' --jobs 2 --timeout 60

Per language, like the development benchmark: 30 `line` cases (the rest of a line from a point in
it), 13 `block` cases (the first statement of an indented body after `:` or `{`, from its first
non-blank to the end of the lines indented at least as deep) and 7 `args` cases (the inside of a
call's parentheses). Cursors are drawn with a fixed seed, at least 400 characters apart; each case
is a window of the text around the cursor (up to 3,000 characters before it and 1,500 after, cut
at line boundaries), since the texts join several files. Deterministic: the same texts give the
same cases.
"""
import argparse
import json
import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LANGS = {"python": "py", "javascript": "js", "typescript": "ts", "c": "c"}
KINDS = (("block", 13), ("args", 7), ("line", 30))  # the rarer kinds draw their cursors first
COMMENT = re.compile(r"^\s*(#|//|/\*|\*|\"\"\"|''')")


def indent(line):
    return len(line) - len(line.lstrip(" \t"))


def line_cases(text, starts, rng):
    out = []
    for i, b in enumerate(starts[:-1]):
        line = text[b:starts[i + 1] - 1]
        body = line.strip()
        if len(body) < 8 or COMMENT.match(line):
            continue
        first = indent(line)
        cut = rng.randint(first + 1, len(line) - 2)  # at least one character each side
        out.append((b + cut, line[cut:]))
    return out


def block_cases(text, starts, lang):
    out = []
    lines = [text[b:starts[i + 1] - 1] for i, b in enumerate(starts[:-1])]
    opener = ":" if lang == "python" else "{"
    for i in range(1, len(lines)):
        prev = lines[i - 1].rstrip()
        cur = lines[i]
        if not prev.endswith(opener) or not cur.strip() or COMMENT.match(cur) or COMMENT.match(prev):
            continue
        d = indent(cur)
        # a brace on a line of its own (Allman style) sits at the header's depth
        if d <= indent(prev) and not (prev.strip() == "{" and d > 0):
            continue
        j = i
        last = i
        while j + 1 < len(lines) and (not lines[j + 1].strip() or indent(lines[j + 1]) >= d):
            j += 1
            if lines[j].strip():
                last = j
        if last - i > 14:
            continue
        start = starts[i] + d
        end = starts[last] + len(lines[last])
        expected = text[start:end]
        if len(expected) > 600:
            continue
        out.append((start, expected))
    return out


def args_cases(text):
    out = []
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*\(", text):
        o = m.end()  # just after "("
        depth, k = 1, o
        while k < len(text) and depth and k - o <= 200:
            ch = text[k]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch in "\"'`":  # skip a string on the same line
                e = text.find(ch, k + 1)
                if e < 0 or "\n" in text[k:e]:
                    break
                k = e
            k += 1
        if depth or k - 1 == o:
            continue
        inner = text[o:k - 1]
        if not inner.strip() or inner.count("\n") > 4:
            continue
        out.append((o, inner))
    return out


def window(text, cur, end):
    lo = max(0, cur - 3000)
    if lo:
        lo = text.find("\n", lo) + 1
    hi = min(len(text), end + 1500)
    if hi < len(text):
        hi = text.rfind("\n", end, hi) + 1 or hi
    return text[lo:cur], text[end:hi]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", default=os.path.join(ROOT, "train", "eval"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=int, default=1,
                    help="cases per language and kind times this (for the larger texts of train/eval/large/)")
    args = ap.parse_args()
    if args.scale < 1:
        sys.exit("val_cases.py: --scale must be at least 1")
    width = 2 if args.scale == 1 else 3  # the ids' digits (the default set keeps its ids)
    for lang, ext in LANGS.items():
        with open(os.path.join(args.texts, f"val_v2_{lang}.txt"), encoding="utf-8") as f:
            text = f.read()
        starts = [0] + [m.end() for m in re.finditer("\n", text)] + [len(text) + 1]
        rng = random.Random(f"{args.seed}-{lang}")
        pools = {"line": line_cases(text, starts, rng), "block": block_cases(text, starts, lang),
                 "args": args_cases(text)}
        taken = []
        for kind, n in KINDS:
            n *= args.scale
            pool = pools[kind][:]
            rng.shuffle(pool)
            got = 0
            for cur, expected in pool:
                end = cur + len(expected)
                if any(abs(cur - t) < 400 for t in taken):
                    continue
                taken.append(cur)
                prefix, suffix = window(text, cur, end)
                print(json.dumps({"id": f"val-{ext}-{kind}-{got:0{width}d}", "lang": lang, "repo": "val_v2",
                                  "commit": "", "path": f"val/sample.{ext}", "kind": kind,
                                  "prefix": prefix, "suffix": suffix, "expected": expected}))
                got += 1
                if got == n:
                    break
            if got < n:
                print(f"val_cases.py: {lang} {kind}: only {got} of {n}", file=sys.stderr)


if __name__ == "__main__":
    main()
