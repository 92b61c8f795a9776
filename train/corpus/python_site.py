"""Stage 1a (ON the GPU machine, where the files are): Python source from the installed
distributions of site-packages (licence per distribution from its METADATA, files from its
RECORD) and from the standard library (PSF-2.0), filtered, as xz-free JSONL.

    python3 train/corpus/python_site.py --out /tmp/wisp/python.jsonl
"""
import argparse
import collections
import email.parser
import glob
import multiprocessing
import os
import sys
import sysconfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def dist_licence(meta):
    """The declared licence of a distribution: License-Expression, else the licence
    classifiers, else the first 300 characters of License."""
    expr = meta.get("License-Expression")
    if expr:
        return expr.strip()
    cls = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    cls = [c for c in cls if c != "OSI Approved"]
    if cls:
        return " / ".join(cls)
    return (meta.get("License") or "").strip()[:300]


def scan_dist(info_dir):
    """(records, stats) of one .dist-info folder: every kept .py file its RECORD lists."""
    stats = collections.Counter()
    out = []
    site = os.path.dirname(info_dir)
    try:
        with open(os.path.join(info_dir, "METADATA"), encoding="utf-8", errors="replace") as f:
            meta = email.parser.Parser().parse(f, headersonly=True)
        rows = open(os.path.join(info_dir, "RECORD"), encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        stats["no-metadata"] += 1
        return out, stats
    name, version = meta.get("Name", "?"), meta.get("Version", "?")
    if common.EXCLUDED_NAMES.search(name):
        stats["excluded-name"] += 1
        return out, stats
    lic = dist_licence(meta)
    if not common.is_permissive(lic):
        stats["licence"] += 1
        return out, (stats, f"{name}: {lic[:80]!r}")
    for row in rows:
        rel = row.split(",")[0]
        if not rel.endswith(".py") or rel.startswith(".."):
            continue
        try:
            raw = open(os.path.join(site, rel), "rb").read()
        except OSError:
            continue
        text = common.decode(raw)
        if text is None:
            stats["not-utf8"] += 1
            continue
        why = common.reject_reason(rel, text)
        if why:
            stats[why] += 1
            continue
        out.append(common.record("python", rel, f"pypi:{name} {version}", lic, text))
    return out, stats


def scan_stdlib(libdir):
    """Records of the standard library's own .py files (PSF-2.0), minus its tests' data."""
    stats = collections.Counter()
    out = []
    for dirpath, dirnames, filenames in os.walk(libdir):
        dirnames[:] = [d for d in dirnames if d not in ("site-packages", "dist-packages", "__pycache__",
                                                        "lib2to3", "idlelib", "turtledemo")]
        for fn in filenames:
            if not fn.endswith(".py"):
                continue
            full = os.path.join(dirpath, fn)
            rel = "stdlib/" + os.path.relpath(full, libdir)
            text = common.decode(open(full, "rb").read())
            if text is None:
                stats["not-utf8"] += 1
                continue
            why = common.reject_reason(rel, text)
            if why:
                stats[why] += 1
                continue
            out.append(common.record("python", rel, "python-stdlib", "PSF-2.0", text))
    return out, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sites = set()
    for key in ("purelib", "platlib"):
        sites.add(sysconfig.get_paths()[key])
    sites |= set(glob.glob("/usr/lib/python3*/dist-packages")) | set(glob.glob("/usr/local/lib/python3*/dist-packages"))
    infos = sorted(i for s in sites for i in glob.glob(os.path.join(s, "*.dist-info")))
    total = collections.Counter()
    n_files = 0
    skipped = []
    with open(args.out, "w", encoding="utf-8") as f, multiprocessing.Pool(16) as pool:
        results = pool.imap(scan_dist, infos, chunksize=4)
        for recs, st in results:
            if isinstance(st, tuple):
                st, why = st
                skipped.append(why)
            total.update(st)
            for r in recs:
                f.write(r + "\n")
            n_files += len(recs)
        recs, st = scan_stdlib(sysconfig.get_paths()["stdlib"])
        total.update(st)
        for r in recs:
            f.write(r + "\n")
        n_files += len(recs)
    print(f"python: {len(infos)} distributions in {sorted(sites)}; kept {n_files} files")
    print("dropped:", dict(total.most_common()))
    print("licence-skipped distributions:", "; ".join(sorted(skipped)))


if __name__ == "__main__":
    main()
