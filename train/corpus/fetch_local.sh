#!/bin/bash
# Stage 1 fetch (here, needs network): the pinned npm tarballs and Debian source packages of
# the JS/TS/C corpus into train/data/src/ (ignored by git).
#   bash train/corpus/fetch_local.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p train/data/src/npm train/data/src/deb
(cd train/data/src/npm && grep -v '^#' ../../../corpus/npm_packages.txt | xargs -n 20 npm pack --silent >/dev/null)
while IFS== read -r src ver; do
  case "$src" in \#*|"") continue;; esac
  mkdir -p "train/data/src/deb/$src"
  (cd "train/data/src/deb/$src" && apt-get source -q "$src=$ver" >/dev/null) || echo "apt-get source $src=$ver failed" >&2
done < train/corpus/deb_packages.txt
