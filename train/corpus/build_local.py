"""Stage 1b (here, not on the GPU machine): JavaScript/TypeScript from npm tarballs and C from
Debian source packages, filtered and licence-checked per file, written as one xz-compressed
JSONL archive that travels to the GPU machine in a carried folder.

    python3 train/corpus/build_local.py --npm train/data/src/npm --deb train/data/src/deb \
        --out .carry/wisp-train/local.jsonl.xz

Inputs are fetched by train/corpus/fetch_local.sh. Licences: npm from each package.json
`license` field; Debian per file from debian/copyright (DEP-5 `Files:` stanzas, last match
wins), falling back to the package's `Files: *` stanza.
"""
import argparse
import collections
import fnmatch
import json
import lzma
import os
import re
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def npm_records(npm_dir, stats):
    """Yields records of every kept source file of every npm tarball in npm_dir."""
    for name in sorted(os.listdir(npm_dir)):
        if not name.endswith(".tgz"):
            continue
        try:
            tf = tarfile.open(os.path.join(npm_dir, name))
            members = {m.name: m for m in tf.getmembers() if m.isfile()}
            pj = next((m for n, m in members.items() if n.count("/") == 1 and n.endswith("/package.json")), None)
            meta = json.load(tf.extractfile(pj)) if pj else {}
        except Exception as e:  # a broken tarball is skipped, not fatal
            stats["npm-broken"] += 1
            print(f"skip {name}: {e}", file=sys.stderr)
            continue
        lic = meta.get("license") or ""
        if isinstance(lic, dict):
            lic = lic.get("type", "")
        pkg = meta.get("name", name)
        if common.EXCLUDED_NAMES.search(pkg):
            stats["excluded-name"] += 1
            continue
        if not common.is_permissive(lic):
            stats["npm-licence"] += 1
            print(f"licence skip {pkg}: {lic!r}", file=sys.stderr)
            continue
        source = f"npm:{pkg}@{meta.get('version', '?')}"
        for mname, m in members.items():
            rel = mname.split("/", 1)[1] if "/" in mname else mname
            lang = common.lang_of(rel)
            if not lang:
                continue
            yield lang, f"{pkg}/{rel}", source, lic, tf.extractfile(m).read()


def dep5_stanzas(path):
    """(globs, licence) pairs of a machine-readable debian/copyright, in file order; [] if the
    file is not DEP-5."""
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return []
    if "Files:" not in text:
        return []
    out = []
    for para in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:\s*((?:.*\n?)(?:[ \t]+.*\n?)*)", para, re.M)
        lic = re.search(r"^License:\s*(.*)$", para, re.M)
        if files and lic:
            out.append((files.group(1).split(), lic.group(1).strip()))
    return out


def deb_licence(stanzas, rel):
    """Licence of one file under DEP-5 rules: the last stanza whose glob matches wins."""
    lic = None
    for globs, l in stanzas:
        if any(fnmatch.fnmatchcase(rel, g) for g in globs):
            lic = l
    return lic


def deb_records(deb_dir, stats):
    """Yields records of every kept .c/.h file of every unpacked Debian source tree."""
    for pkg in sorted(os.listdir(deb_dir)):
        pdir = os.path.join(deb_dir, pkg)
        trees = [d for d in os.listdir(pdir) if os.path.isdir(os.path.join(pdir, d))] if os.path.isdir(pdir) else []
        if not trees:
            continue
        root = os.path.join(pdir, trees[0])
        if common.EXCLUDED_NAMES.search(pkg):
            stats["excluded-name"] += 1
            continue
        stanzas = dep5_stanzas(os.path.join(root, "debian", "copyright"))
        if not stanzas:
            stats["deb-no-dep5"] += 1
            print(f"no DEP-5 copyright: {pkg}", file=sys.stderr)
            continue
        version = trees[0].rsplit("-", 1)[-1]
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in ("debian", ".pc", ".git")]
            for fn in filenames:
                full = os.path.join(dirpath, fn)
                rel = os.path.relpath(full, root)
                lang = common.lang_of(rel)
                if lang != "c":
                    continue
                lic = deb_licence(stanzas, rel)
                if not common.is_permissive(lic or ""):
                    stats["deb-licence"] += 1
                    continue
                try:
                    raw = open(full, "rb").read()
                except OSError:
                    continue
                yield lang, f"{pkg}/{rel}", f"debian:{pkg} {version}", lic, raw


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--npm", required=True)
    ap.add_argument("--deb", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    stats = collections.Counter()
    kept = collections.Counter()
    kept_bytes = collections.Counter()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with lzma.open(args.out, "wt", encoding="utf-8", preset=6) as out:
        for gen in (npm_records(args.npm, stats), deb_records(args.deb, stats)):
            for lang, path, source, lic, raw in gen:
                text = common.decode(raw)
                if text is None:
                    stats["not-utf8"] += 1
                    continue
                why = common.reject_reason(path, text)
                if why:
                    stats[why] += 1
                    continue
                out.write(common.record(lang, path, source, lic, text) + "\n")
                kept[lang] += 1
                kept_bytes[lang] += len(raw)
    for lang in sorted(kept):
        print(f"kept {lang}: {kept[lang]} files, {kept_bytes[lang]} bytes")
    print("dropped:", dict(stats.most_common()))


if __name__ == "__main__":
    main()
