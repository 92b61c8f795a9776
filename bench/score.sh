#!/bin/bash
# The development benchmark's scorer on its cases, both outside the repository: CASES (default
# the path in bench/dev_cases.path, relative to the repository root) and score.py beside them.
# Every other argument goes to score.py, e.g.
#   bash bench/score.sh --cmd 'build/wisp complete --file {file} --offset {offset}' --jobs 2 --timeout 30
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
CASES=$(cd "$root" && realpath "${CASES:-$(cat bench/dev_cases.path)}")
exec python3 "$(dirname "$CASES")/score.py" --cases "$CASES" "$@"
