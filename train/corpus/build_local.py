"""Stage 1b (here, not on the GPU machine): JavaScript/TypeScript from npm tarballs and C,
Python, JavaScript and TypeScript from Debian source packages, filtered and licence-checked per file, written as one xz-compressed
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
import io
import re
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def npm_records(npm_dir, stats, only=None, drop_compiled=False, meta_out=None, langs=None):
    """Yields records of every kept source file of every npm tarball in npm_dir (or of the tarball
    names in `only`). A package is left out when its name, repository, homepage or bugs URL names a
    benchmark repository (common.EXCLUDED_NAMES) or its licence is not permissive. With
    drop_compiled, JavaScript that a build made (common.compiled_js_reason) and files whose header
    names a copyleft or commercial licence are dropped too; with langs, only those languages."""
    for name in (only or sorted(os.listdir(npm_dir))):
        if not name.endswith(".tgz"):
            continue
        try:
            tf = tarfile.open(os.path.join(npm_dir, name))
            members = {m.name: m for m in tf.getmembers() if m.isfile()}
            pj = next((m for n, m in members.items() if n.count("/") == 1 and n.endswith("/package.json")), None)
            meta = json.load(tf.extractfile(pj)) if pj else {}
            if not isinstance(meta, dict):
                raise ValueError("package.json is not an object")
        except Exception as e:  # a broken tarball is skipped, not fatal
            stats["npm-broken"] += 1
            print(f"skip {name}: {e}", file=sys.stderr)
            continue
        lic = meta.get("license") or ""
        if isinstance(lic, dict):
            lic = lic.get("type", "")
        if isinstance(lic, list):   # old style: [{"type": "MIT"}, ...]
            lic = " OR ".join(str(l.get("type", l) if isinstance(l, dict) else l) for l in lic)
        lic = str(lic)
        pkg = str(meta.get("name", name))
        if meta_out is not None:
            meta_out.update(name=pkg, version=meta.get("version", "?"), license=lic)
        if common.EXCLUDED_NAMES.search(pkg) or common.EXCLUDED_NAMES.search(common.package_urls(meta)):
            stats["excluded-name"] += 1
            continue
        if not common.is_permissive(lic):
            stats["npm-licence"] += 1
            print(f"licence skip {pkg}: {lic!r}", file=sys.stderr)
            continue
        source = f"npm:{pkg}@{meta.get('version', '?')}"
        rels = {(mname.split("/", 1)[1] if "/" in mname else mname): m for mname, m in members.items()}
        ts_stems = common.ts_stems(rels) if drop_compiled else set()
        for rel, m in rels.items():
            lang = common.lang_of(rel)
            if not lang or (langs and lang not in langs):
                continue
            raw = tf.extractfile(m).read()
            if drop_compiled:
                why = (common.compiled_js_reason(rel, raw, ts_stems) if lang == "javascript" else None) \
                    or common.header_licence_reason(raw[:4000].decode("utf-8", "replace"))
                if why:
                    stats[why] += 1
                    continue
            yield lang, f"{pkg}/{rel}", source, lic, raw


def npm_file(spec):
    """The tarball name `npm pack` gives name@version: scope-name-version.tgz."""
    name, version = spec.rsplit("@", 1)
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def npm_list_files(path):
    """Tarball names of a pin list (comments and blank lines skipped), in sorted order."""
    specs = [l.split("#", 1)[0].strip() for l in open(path)]
    return sorted(npm_file(s) for s in specs if s)


def dep5_stanzas(path):
    """(globs, licence) pairs of a machine-readable debian/copyright, in file order; [] if the
    file is not DEP-5."""
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return []
    return dep5_stanzas_text(text)


def dep5_stanzas_text(text):
    """dep5_stanzas of a copyright file's text."""
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
    """Yields records of every source file (C, Python, JavaScript, TypeScript) of every unpacked
    Debian source tree whose DEP-5 licence is permissive."""
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
                if not lang:
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


INSTALLED_ROOTS = ("usr/lib/python3/dist-packages/", "usr/share/nodejs/", "usr/lib/nodejs/")


def package_licence(stanzas):
    """The licence of a binary package's installed files: DEP-5 paths name the source tree, which
    a .deb no longer has, so a package counts only when every licence its copyright file names
    (packaging-only `debian/*` stanzas aside) is permissive. Returns the licences joined, or None."""
    lics = [l for globs, l in stanzas if not all(g.startswith("debian/") for g in globs)]
    if not lics or not all(common.is_permissive(l) for l in lics):
        return None
    return " AND ".join(sorted(set(lics)))


def debbin_records(debbin_dir, stats):
    """Yields records of the Python modules and JavaScript installed by every .deb in debbin_dir
    (python3-*, node-*), when its copyright file is DEP-5 and wholly permissive."""
    for name in sorted(os.listdir(debbin_dir)):
        if not name.endswith(".deb"):
            continue
        pkg, version = name.split("_")[0], name.split("_")[1].replace("%3a", ":")
        if common.EXCLUDED_NAMES.search(pkg):
            stats["excluded-name"] += 1
            continue
        try:
            data = subprocess.run(["dpkg-deb", "--fsys-tarfile", os.path.join(debbin_dir, name)],
                                  capture_output=True, check=True).stdout
            tf = tarfile.open(fileobj=io.BytesIO(data))
            members = [m for m in tf.getmembers() if m.isfile()]
        except (subprocess.CalledProcessError, tarfile.TarError) as e:
            stats["deb-broken"] += 1
            print(f"skip {name}: {e}", file=sys.stderr)
            continue
        copyright = next((m for m in members if m.name.endswith(f"usr/share/doc/{pkg}/copyright")), None)
        text = tf.extractfile(copyright).read().decode("utf-8", "replace") if copyright else ""
        stanzas = dep5_stanzas_text(text)
        if not stanzas:
            stats["deb-no-dep5"] += 1
            continue
        lic = package_licence(stanzas)
        if not lic:
            stats["deb-licence"] += 1
            continue
        for m in members:
            path = m.name[2:] if m.name.startswith("./") else m.name
            root = next((r for r in INSTALLED_ROOTS if path.startswith(r)), None)
            if not root:
                continue
            rel = path[len(root):]
            lang = common.lang_of(rel)
            if lang:
                yield lang, f"{pkg}/{rel}", f"debian:{pkg} {version}", lic, tf.extractfile(m).read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--npm", required=True)
    ap.add_argument("--deb", required=True)
    ap.add_argument("--debbin", help="folder of .deb files (python3-*, node-*)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--npm-list", help="read only the tarballs this pin list names (name@version a line)")
    ap.add_argument("--npm-langs", help="npm: only these languages (comma-separated, e.g. typescript,javascript)")
    ap.add_argument("--drop-compiled", action="store_true",
                    help="npm: drop JavaScript that a build made (TypeScript twins, tsc/Babel output)")
    args = ap.parse_args()
    stats = collections.Counter()
    kept = collections.Counter()
    kept_bytes = collections.Counter()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with lzma.open(args.out, "wt", encoding="utf-8", preset=1) as out:   # a work file: fast
        only = npm_list_files(args.npm_list) if args.npm_list else None
        gens = [npm_records(args.npm, stats, only=only, drop_compiled=args.drop_compiled,
                            langs=args.npm_langs.split(",") if args.npm_langs else None), deb_records(args.deb, stats)]
        if args.debbin:
            gens.append(debbin_records(args.debbin, stats))
        for gen in gens:
            for lang, path, source, lic, raw in gen:
                kind = source.split(":")[0] + ("-bin" if gen is gens[-1] and args.debbin else "")
                text = common.decode(raw)
                if text is None:
                    stats["not-utf8"] += 1
                    continue
                why = common.reject_reason(path, text)
                if why:
                    stats[why] += 1
                    continue
                out.write(common.record(lang, path, source, lic, text) + "\n")
                kept[(kind, lang)] += 1
                kept_bytes[(kind, lang)] += len(raw)
    for kind, lang in sorted(kept):
        print(f"kept {kind} {lang}: {kept[(kind, lang)]} files, {kept_bytes[(kind, lang)]} bytes")
    print("dropped:", dict(stats.most_common()))


if __name__ == "__main__":
    main()
