"""Stage 0 (here): the long line-shingle hashes of every development-benchmark case
(prefix + expected + suffix), so the corpus can drop any file that shares code with a case.
Only hashes travel to the GPU machine, never the cases.

    python3 train/corpus/dev_shingles.py "$(cat bench/dev_cases.path)" .carry/wisp-train/dev_shingles.txt
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    src, dst = sys.argv[1], sys.argv[2]
    hashes = set()
    n = 0
    for line in open(src, encoding="utf-8"):
        case = json.loads(line)
        hashes |= common.long_shingles(case["prefix"] + case["expected"] + case["suffix"])
        n += 1
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    with open(dst, "w") as f:
        f.write("\n".join(sorted(hashes)) + "\n")
    print(f"{n} cases -> {len(hashes)} shingle hashes in {dst}")


if __name__ == "__main__":
    main()
