"""Measures what each npm tarball would give the corpus: the files and bytes per language that
build_local.py would keep (the same licence, name-exclusion and common.py filters, plus the
compiled-JavaScript rule of --drop-compiled), one TSV row a tarball. npm_candidates.py keeps the
tarballs worth pinning from these rows.

    python3 train/corpus/npm_scan.py train/data/src/npm-ts [LIST] > train/data/work/npm-ts-scan.tsv

(LIST: only the tarballs of these name@version lines.) With --records OUT.jsonl.xz it also writes the
kept records of every package that npm_candidates.py would pin (>= KEEP_BYTES), as build_local.py
--npm-langs typescript,javascript --drop-compiled would: one pass over the tarballs for both.

Columns: file, name, version, licence, status (ok | licence | excluded | broken), ts_files,
ts_bytes, js_files, js_bytes, dropped (reason=count,...).
"""
import collections
import lzma
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_local  # noqa: E402
import common  # noqa: E402
import npm_candidates  # noqa: E402


def scan(path, keep_records=False):
    stats = collections.Counter()
    recs = []
    kept = collections.Counter()
    meta = {}
    rows = []
    for lang, rel, source, lic, raw in build_local.npm_records(os.path.dirname(path), stats,
                                                              only=[os.path.basename(path)],
                                                              drop_compiled=True, meta_out=meta,
                                                              langs=("typescript", "javascript")):
        text = common.decode(raw)
        why = "not-utf8" if text is None else common.reject_reason(rel, text)
        if why:
            stats[why] += 1
            continue
        short = "ts" if lang == "typescript" else "js"
        kept[short + "_files"] += 1
        kept[short + "_bytes"] += len(raw)
        if keep_records:
            recs.append(common.record(lang, rel, source, lic, text))
    status = ("broken" if stats["npm-broken"] else "excluded" if stats["excluded-name"]
              else "licence" if stats["npm-licence"] else "ok")
    lic = str(meta.get("license", "")).replace("\t", " ").replace("\n", " ")
    drops = ",".join(f"{k}={v}" for k, v in sorted(stats.items()))
    row = "\t".join([os.path.basename(path), str(meta.get("name", "")), str(meta.get("version", "")),
                     lic, status, str(kept["ts_files"]), str(kept["ts_bytes"]),
                     str(kept["js_files"]), str(kept["js_bytes"]), drops])
    return row, recs


def scan_keep(path):
    return scan(path, keep_records=True)


def main():
    args = sys.argv[1:]
    out = None
    if "--records" in args:   # also write the kept records of the useful packages (as build_local.py would)
        i = args.index("--records")
        out = args[i + 1]
        del args[i:i + 2]
    d = args[0]
    names = build_local.npm_list_files(args[1]) if len(args) > 1 else os.listdir(d)
    files = sorted(os.path.join(d, f) for f in names if f.endswith(".tgz") and os.path.exists(os.path.join(d, f)))
    print("file\tname\tversion\tlicence\tstatus\tts_files\tts_bytes\tjs_files\tjs_bytes\tdropped")
    sink = lzma.open(out + ".part", "wt", encoding="utf-8", preset=1) if out else None
    head = ["file", "name", "version", "licence", "status", "ts_files", "ts_bytes", "js_files", "js_bytes"]
    with multiprocessing.Pool(int(os.environ.get("JOBS", os.cpu_count()))) as pool:
        for row, recs in pool.imap(scan_keep if out else scan, files, chunksize=4):
            print(row, flush=True)
            if sink and npm_candidates.useful(dict(zip(head, row.split("\t")))):
                for r in recs:
                    sink.write(r + "\n")
    if sink:
        sink.close()
        os.replace(out + ".part", out)


if __name__ == "__main__":
    main()
