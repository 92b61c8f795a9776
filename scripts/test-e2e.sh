#!/usr/bin/env bash
# End-to-end tests in headless Chromium (tests/e2e/): the Monaco demo and VS Code for the Web with
# the wisp extension, the real engine and model (models/wisp-default.gguf, or $WISP_MODEL).
# Builds the web side and the .vsix first. Prints "N passed, N failed"; exits non-zero on failure.
# Screenshots go to tests/artifacts/; the progressive-loading figures (first suggestion after
# activation, in parts against whole, tests/e2e/progressive.test.mjs) are printed.
set -uo pipefail
cd "$(dirname "$0")/.."
buildlog=$(mktemp)
if ! scripts/build-extension.sh >"$buildlog" 2>&1; then
  cat "$buildlog"
  echo "0 passed, 1 failed"
  exit 1
fi
tail -1 "$buildlog"
rm -f "$buildlog"
export WISP_MODEL=${WISP_MODEL:-$PWD/models/wisp-default.gguf}
tap=$(mktemp)
node --test --test-concurrency=1 --test-reporter=tap tests/e2e/ | tee "$tap" | grep -E '^(not )?ok |^# (Subtest|pass|fail|progressive loading)|^ +(error|actual|expected):' 
pass=$(grep -E '^# pass ' "$tap" | awk '{print $3}')
fail=$(grep -E '^# fail ' "$tap" | awk '{print $3}')
rm -f "$tap"
echo "screenshots: $(ls tests/artifacts/*.png 2>/dev/null | tr '\n' ' ')"
echo "${pass:-0} passed, ${fail:-1} failed"
[ "${fail:-1}" -eq 0 ] && [ "${pass:-0}" -gt 0 ]
