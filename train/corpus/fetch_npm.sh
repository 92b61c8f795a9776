#!/bin/bash
# Fetches every name@version of a pin list that is not in DIR yet with `npm pack` (JOBS at a time,
# 8 specs a call, then one by one for the specs of a failed call).
#   bash train/corpus/fetch_npm.sh train/corpus/npm_packages_ts.txt train/data/src/npm-ts
set -uo pipefail
LIST=$1 DIR=$2 JOBS=${JOBS:-8}
mkdir -p "$DIR"
npm_file() { local s=${1#@}; s=${s/\//-}; echo "${s%@*}-${1##*@}.tgz"; }
todo=$(mktemp) && trap 'rm -f "$todo" "$todo.2"' EXIT
while read -r spec _; do
  case "$spec" in \#*|"") continue;; esac
  [ -f "$DIR/$(npm_file "$spec")" ] || echo "$spec"
done < "$LIST" > "$todo"
echo "npm: $(wc -l < "$todo") tarballs to fetch into $DIR"
(cd "$DIR" && xargs -P "$JOBS" -n 8 npm pack --silent < "$todo" > /dev/null 2>> fetch.err)
while read -r spec; do [ -f "$DIR/$(npm_file "$spec")" ] || echo "$spec"; done < "$todo" > "$todo.2"
if [ -s "$todo.2" ]; then
  echo "npm: $(wc -l < "$todo.2") again one by one"
  (cd "$DIR" && xargs -P "$JOBS" -n 1 npm pack --silent < "$todo.2" > /dev/null 2>> fetch.err)
fi
while read -r spec; do [ -f "$DIR/$(npm_file "$spec")" ] || echo "npm pack failed: $spec" >&2; done < "$todo.2"
exit 0
