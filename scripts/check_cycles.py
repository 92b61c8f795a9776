#!/usr/bin/env python3
"""Fails on any cycle between the files of the C libraries (core/ and grammar/ by default).

    scripts/check_cycles.py [--graph] [DIR...]
    scripts/check_cycles.py --self-test

Two graphs over files, each of which must have no cycle:

  - the include graph: file A -> header B when A has `#include "B"` (looked up in A's folder, then
    in every folder given, then in their include/ and kernels/ subfolders; system and third-party
    headers are not followed);
  - the call graph: .c file A -> .c file B when A uses a non-static function defined in B (for
    each .c file, the functions it defines without `static`; for each other .c file, which of
    those names it uses, comments and strings left out; a name a file defines itself is its own,
    as the kernels define one name once per instruction set).

On a cycle it prints the cycle, each step with the edge that makes it (the include or the
function used), and exits 1; --graph also prints every edge. Exit 0: no cycle. --self-test plants
a call cycle and an include cycle in a temporary folder and checks that both are caught (and
that the same files without the cycle pass).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

C_EXT = (".c", ".h")


def strip_c(text):
    """Comments and string/char literals replaced by blanks (line structure kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


# A function definition at file level: starts in column 0, not `static`, a name, a parameter list,
# then the body's `{` (possibly on the next line).
DEF_RE = re.compile(r"^(?!static\b|typedef\b|struct\b|enum\b|union\b|#)[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)"
                    r"\s*\(([^;{}]*?)\)\s*\{", re.M)
IDENT_RE = re.compile(r"(?<![\w.>])([A-Za-z_]\w*)\b")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof"}


def collect(roots):
    files = []
    for root in roots:
        for dirpath, _, names in os.walk(root):
            files += [os.path.normpath(os.path.join(dirpath, n)) for n in names if n.endswith(C_EXT)]
    return sorted(files)


def include_dirs(roots):
    dirs = []
    for root in roots:
        dirs.append(root)
        for sub in ("include", "kernels"):
            if os.path.isdir(os.path.join(root, sub)):
                dirs.append(os.path.join(root, sub))
    return dirs


def build_graphs(roots):
    files = collect(roots)
    known = set(files)
    dirs = include_dirs(roots)
    raw = {f: open(f, encoding="utf-8", errors="replace").read() for f in files}
    code = {f: strip_c(t) for f, t in raw.items()}
    includes, calls = {}, {}  # (from file, to file) -> why

    def add(edges, a, b, why):
        if a != b and (a, b) not in edges:
            edges[(a, b)] = why

    for f in files:
        for inc in INCLUDE_RE.findall(raw[f]):
            for d in [os.path.dirname(f)] + dirs:
                cand = os.path.normpath(os.path.join(d, inc))
                if cand in known:
                    add(includes, f, cand, f'#include "{inc}"')
                    break
    defined = {}  # function name -> the .c files that define it
    for f in files:
        if f.endswith(".c"):
            for m in DEF_RE.finditer(code[f]):
                if m.group(1) not in KEYWORDS:
                    defined.setdefault(m.group(1), set()).add(f)
    for f in files:
        if not f.endswith(".c"):
            continue  # a header's declarations are not uses
        for name in sorted(set(IDENT_RE.findall(code[f]))):
            where = defined.get(name, ())
            if f in where:
                continue
            for g in sorted(where):
                add(calls, f, g, f"uses {name}()")
    return includes, calls


def find_cycle(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    for v in graph:
        graph[v].sort()
    color = {v: 0 for v in graph}  # 0 unseen, 1 on the path, 2 done
    path = []

    def dfs(v):
        color[v] = 1
        path.append(v)
        for w in graph[v]:
            if color[w] == 1:
                return path[path.index(w):] + [w]
            if color[w] == 0:
                c = dfs(w)
                if c:
                    return c
        path.pop()
        color[v] = 2
        return None

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if color[v] == 0:
            c = dfs(v)
            if c:
                return c
    return None


def check(dirs, show_graph=False):
    includes, calls = build_graphs(dirs)
    status = 0
    for kind, edges in (("include", includes), ("call", calls)):
        if show_graph:
            for (a, b), why in sorted(edges.items()):
                print(f"{kind}: {a} -> {b}    ({why})")
        cycle = find_cycle(edges)
        if cycle:
            print(f"check_cycles: a cycle in the {kind} graph of {', '.join(dirs)}:")
            for a, b in zip(cycle, cycle[1:]):
                print(f"  {a} -> {b}    ({edges[(a, b)]})")
            status = 1
        else:
            n = len({x for e in edges for x in e})
            print(f"check_cycles: {kind} graph of {', '.join(dirs)}: no cycle ({n} files, {len(edges)} edges)")
    return status


def self_test():
    """The checker must catch a planted call cycle and include cycle, and pass without them."""
    files = {
        "a.h": "#ifndef A_H\n#define A_H\nint a_one(void);\n#endif\n",
        "b.h": "#ifndef B_H\n#define B_H\nint b_two(void);\n#endif\n",
        "a.c": '#include "a.h"\n#include "b.h"\nint a_one(void) {\n    return b_two() + 1;\n}\n',
        "b.c": ('#include "b.h"\n#include "a.h"\n/* a_one() in a comment is not a use */\n'
                'static int helper(void) { return 2; }\nint b_two(void)\n{\n    return helper();\n}\n'),
    }
    ok = True
    tmp = tempfile.mkdtemp(prefix="check_cycles.")
    try:
        def run(label, want):
            nonlocal ok
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "lib"], cwd=tmp,
                               capture_output=True, text=True)
            got = r.returncode
            print(f"self-test {label}: exit {got} (want {want})")
            if got != want:
                ok = False
                print(r.stdout + r.stderr)
            return r.stdout
        os.makedirs(os.path.join(tmp, "lib"))
        for name, text in files.items():
            open(os.path.join(tmp, "lib", name), "w").write(text)
        run("no cycle", 0)
        # a call cycle: b.c calls a_one(), a.c calls b_two()
        with open(os.path.join(tmp, "lib", "b.c"), "a") as f:
            f.write("int b_three(void) { return a_one(); }\n")
        out = run("call cycle", 1)
        ok = ok and "call graph" in out and "a_one" in out
        # an include cycle (and the call cycle removed)
        open(os.path.join(tmp, "lib", "b.c"), "w").write(files["b.c"])
        open(os.path.join(tmp, "lib", "a.h"), "w").write('#include "b.h"\nint a_one(void);\n')
        open(os.path.join(tmp, "lib", "b.h"), "w").write('#include "a.h"\nint b_two(void);\n')
        out = run("include cycle", 1)
        ok = ok and "include graph" in out
    finally:
        shutil.rmtree(tmp)
    print("self-test: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", default=["core", "grammar"])
    ap.add_argument("--graph", action="store_true", help="print every edge")
    ap.add_argument("--self-test", action="store_true", help="check the checker on planted cycles")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    for d in args.dirs:
        if not os.path.isdir(d):
            print(f"check_cycles: no folder {d}", file=sys.stderr)
            return 2
    return check(args.dirs, args.graph)


if __name__ == "__main__":
    sys.exit(main())
