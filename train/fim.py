"""The fill-in-the-middle transform of wisp-default (layouts in train/FORMAT.md): cut a file into
chunks at line boundaries, then cut each chunk into prefix / middle / suffix at a character
position or at a syntax boundary (rest of a line, whole lines, an indented block, the arguments
of a bracketed call), found by cheap text heuristics. Standard-library Python.
"""
import random

CHUNK_CHARS = 3000
P_PLAIN, P_SPM = 0.10, 0.50   # of the FIM documents, half SPM, half PSM
OPEN_CLOSE = {"(": ")", "[": "]", "{": "}"}


def chunks(text, limit=CHUNK_CHARS):
    """The text cut at line boundaries into pieces of at most `limit` characters (a single
    longer line stays whole)."""
    out, cur, n = [], [], 0
    for line in text.splitlines(keepends=True):
        if cur and n + len(line) > limit:
            out.append("".join(cur))
            cur, n = [], 0
        cur.append(line)
        n += len(line)
    if cur:
        out.append("".join(cur))
    return out


def _lines(text):
    """The lines of text split at "\n" only, each with its newline: str.splitlines also splits at
    form feeds, "\r", U+2028 and others, which would disagree with _line_starts (C sources
    carry form feeds as page breaks)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


def _line_starts(text):
    starts = [0]
    for i, c in enumerate(text):
        if c == "\n":
            starts.append(i + 1)
    return starts


def _indent(line):
    return len(line) - len(line.lstrip(" \t"))


def split_char(text, rng):
    """Middle = a random character span."""
    a, b = sorted(rng.randrange(len(text) + 1) for _ in range(2))
    return a, b


def split_line(text, rng):
    """Middle = the rest of a line from a random point inside it (never its newline), and
    sometimes the whole lines after it."""
    starts = _line_starts(text)
    i = rng.randrange(len(starts))
    s = starts[i]
    e = text.find("\n", s)
    e = len(text) if e < 0 else e
    line = text[s:e]
    lo = s + _indent(line)
    if lo >= e:
        return split_char(text, rng)
    a = rng.randint(lo, e - 1)
    extra = rng.choice((0, 0, 0, 1, 2, 4))
    b = e
    for _ in range(extra):
        nxt = text.find("\n", b + 1)
        if nxt < 0:
            break
        b = nxt
    return a, b


def split_block(text, rng):
    """Middle = an indented block: from the first non-blank of a line to the end of the last
    following line indented at least as deep (at most 20 lines, final newline excluded)."""
    lines = _lines(text)
    starts = _line_starts(text)
    cands = [i for i, l in enumerate(lines) if l.strip()]
    if not cands:
        return split_char(text, rng)
    i = rng.choice(cands)
    ind = _indent(lines[i])
    j = i
    while j + 1 < len(lines) and j - i < 20 and (not lines[j + 1].strip() or _indent(lines[j + 1]) >= ind):
        j += 1
    while j > i and not lines[j].strip():
        j -= 1
    a = starts[i] + ind
    b = starts[j] + len(lines[j].rstrip("\r\n"))
    return a, max(a, b)


def split_args(text, rng):
    """Middle = what sits between a random opening bracket and its matching close (strings and
    comments are not understood; an unmatched bracket falls back to a character split)."""
    opens = [i for i, c in enumerate(text) if c in OPEN_CLOSE]
    if not opens:
        return split_char(text, rng)
    for _ in range(4):
        o = rng.choice(opens)
        want, depth = [OPEN_CLOSE[text[o]]], 0
        k = o + 1
        while k < len(text) and want and k - o < 1500:
            c = text[k]
            if c in OPEN_CLOSE:
                want.append(OPEN_CLOSE[c])
            elif c in ")]}":
                if c != want[-1]:
                    break
                want.pop()
            k += 1
        if not want:
            return o + 1, k - 1
    return split_char(text, rng)


SPLITS = (split_char, split_line, split_block, split_args)


def make_doc(path, text, rng):
    """One training document of a chunk: ("plain", path, text) or ("spm"|"psm", path, prefix,
    middle, suffix) with prefix + middle + suffix == text."""
    if rng.random() < P_PLAIN or len(text) < 2:
        return ("plain", path, text)
    a, b = rng.choice(SPLITS)(text, rng)
    order = "spm" if rng.random() < P_SPM else "psm"
    return (order, path, text[:a], text[a:b], text[b:])


def file_docs(path, text, seed):
    """All documents of one file for one epoch variant `seed` (deterministic)."""
    rng = random.Random(f"{seed}:{path}")
    return [make_doc(path, c, rng) for c in chunks(text)]
