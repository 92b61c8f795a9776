#!/bin/bash
# Stage 1 fetch (here, needs network): the pinned npm tarballs and Debian source packages of
# the corpus into train/data/src/ (ignored by git). Idempotent: a tarball or unpacked source
# tree already there is not fetched again, so a second run only fetches what is new.
#   bash train/corpus/fetch_local.sh            # JOBS=4 parallel downloads by default
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS=${JOBS:-4}
mkdir -p train/data/src/npm train/data/src/deb
grep -q deb-src /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null \
  || { echo "fetch_local: no deb-src entry; run scripts/setup.sh first" >&2; exit 1; }

# npm: name@version -> name-version.tgz (scoped: scope-name-version.tgz), as `npm pack` names it
npm_file() { local s=${1#@}; s=${s/\//-}; echo "${s%@*}-${1##*@}.tgz"; }
missing=()
while read -r spec; do
  case "$spec" in \#*|"") continue;; esac
  [ -f "train/data/src/npm/$(npm_file "$spec")" ] || missing+=("$spec")
done < train/corpus/npm_packages.txt
echo "npm: ${#missing[@]} tarballs to fetch"
if [ ${#missing[@]} -gt 0 ]; then
  (cd train/data/src/npm && printf '%s\n' "${missing[@]}" | xargs -P "$JOBS" -n 10 npm pack --silent >/dev/null) \
    || echo "npm pack: some packages failed (listed above)" >&2
fi

deb_one() { # source=version -> train/data/src/deb/source/<unpacked tree>
  local src=${1%%=*} ver=${1#*=} d="train/data/src/deb/${1%%=*}"
  if [ -d "$d" ] && [ -n "$(find "$d" -mindepth 1 -maxdepth 1 -type d -print -quit)" ]; then return 0; fi
  rm -rf "$d" && mkdir -p "$d"
  (cd "$d" && apt-get source -q "$src=$ver" >/dev/null 2>&1 && rm -f ./*.tar.* ./*.dsc ./*.diff.gz) \
    || { echo "apt-get source $src=$ver failed" >&2; rm -rf "$d"; }
}
export -f deb_one
grep -v -e '^#' -e '^$' train/corpus/deb_packages.txt | xargs -P "$JOBS" -I{} bash -c 'deb_one "$@"' _ {}
echo "deb: $(ls train/data/src/deb | wc -l) source trees"

# Debian binary packages (python3-*, node-*): the .deb files themselves, read by build_local.py
mkdir -p train/data/src/debbin
grep -v -e '^#' -e '^$' train/corpus/deb_binary_packages.txt | while IFS== read -r name ver; do
  # apt-get download names the file name_version_arch.deb with ':' in the version as %3a
  ls "train/data/src/debbin/${name}_${ver//:/%3a}_"*.deb >/dev/null 2>&1 || echo "$name=$ver"
done > train/data/src/debbin.todo
echo "debbin: $(wc -l < train/data/src/debbin.todo) packages to fetch"
(cd train/data/src/debbin && xargs -P "$JOBS" -n 40 apt-get download -q < ../debbin.todo >/dev/null 2>../debbin.err) \
  || echo "apt-get download: some packages failed (train/data/src/debbin.err)" >&2
echo "debbin: $(ls train/data/src/debbin | wc -l) packages"
