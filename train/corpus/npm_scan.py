"""Measures what each npm tarball would give the corpus: the files and bytes per language that
build_local.py would keep (the same licence, name-exclusion and common.py filters, plus the
compiled-JavaScript rule of --drop-compiled), one TSV row a tarball. npm_candidates.py keeps the
tarballs worth pinning from these rows.

    python3 train/corpus/npm_scan.py train/data/src/npm-ts [LIST] > train/data/work/npm-ts-scan.tsv

(LIST: only the tarballs of these name@version lines.)

Columns: file, name, version, licence, status (ok | licence | excluded | broken), ts_files,
ts_bytes, js_files, js_bytes, dropped (reason=count,...).
"""
import collections
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_local  # noqa: E402
import common  # noqa: E402


def scan(path):
    stats = collections.Counter()
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
    status = ("broken" if stats["npm-broken"] else "excluded" if stats["excluded-name"]
              else "licence" if stats["npm-licence"] else "ok")
    lic = str(meta.get("license", "")).replace("\t", " ").replace("\n", " ")
    drops = ",".join(f"{k}={v}" for k, v in sorted(stats.items()))
    return "\t".join([os.path.basename(path), str(meta.get("name", "")), str(meta.get("version", "")),
                      lic, status, str(kept["ts_files"]), str(kept["ts_bytes"]),
                      str(kept["js_files"]), str(kept["js_bytes"]), drops])


def main():
    d = sys.argv[1]
    names = build_local.npm_list_files(sys.argv[2]) if len(sys.argv) > 2 else os.listdir(d)
    files = sorted(os.path.join(d, f) for f in names if f.endswith(".tgz") and os.path.exists(os.path.join(d, f)))
    print("file\tname\tversion\tlicence\tstatus\tts_files\tts_bytes\tjs_files\tjs_bytes\tdropped")
    with multiprocessing.Pool(int(os.environ.get("JOBS", os.cpu_count()))) as pool:
        for row in pool.imap(scan, files, chunksize=8):
            print(row, flush=True)


if __name__ == "__main__":
    main()
