#!/bin/bash
# Takes the shipped model out of what a GPU call carries, or puts it back: every call of a lease
# is made with it out (the resume point travels in .carry/resume, and the tracked tree with the
# model is 38 MB of the 64 MiB a call carries).
#   bash scripts/device/tree_model.sh out    # git rm --cached + an entry in .git/info/exclude
#   bash scripts/device/tree_model.sh in     # undone: the index and the exclude file as before
set -euo pipefail
cd "$(dirname "$0")/../.."
f=models/wisp-default.gguf
case "${1:-}" in
  out) git rm -q --cached "$f" && echo "/$f" >> .git/info/exclude ;;
  in) git reset -q "$f" && sed -i "\#^/$f\$#d" .git/info/exclude ;;
  *) echo "usage: $0 out|in"; exit 2 ;;
esac
echo "tracked tree: $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) bytes"
