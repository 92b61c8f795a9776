"""Makes the benchmark prompt: the longest prefix of a source text that `wisp tokenize` turns into
exactly N-1 tokens, so that with the BOS id the prompt is N tokens in every engine. Writes
OUT.txt (the text, for wllama, which takes text) and OUT.ids (BOS + ids, for wisp and llama.cpp).

    python3 bench/engine/make_prompt.py WISP MODEL.gguf SOURCE.txt N OUT
"""
import subprocess
import sys


def count(wisp, model, text):
    out = subprocess.run([wisp, "tokenize", model, text], capture_output=True, text=True, check=True).stdout
    return [int(l.split()[0]) for l in out.splitlines() if l.strip() and l.split()[0].isdigit() and '"' in l]


def main():
    wisp, model, src, n, out = sys.argv[1:6]
    n = int(n) - 1  # the BOS id comes first
    text = open(src, encoding="utf-8").read()
    lo, hi = 0, len(text)  # largest length whose count <= n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(count(wisp, model, text[:mid])) <= n:
            lo = mid
        else:
            hi = mid - 1
    ids = count(wisp, model, text[:lo])
    if len(ids) != n:
        sys.exit("make_prompt: no prefix of %s is %d tokens" % (src, n))
    open(out + ".txt", "w", encoding="utf-8").write(text[:lo])
    open(out + ".ids", "w").write(" ".join(str(i) for i in [1] + ids) + "\n")
    print("%s.ids: %d tokens (BOS + %d chars of %s)" % (out, n + 1, lo, src))


if __name__ == "__main__":
    main()
