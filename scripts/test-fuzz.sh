#!/usr/bin/env bash
# The fuzzing step of the test suite: every fuzz target for a short run (default 20 s each, or
# $WISP_FUZZ_SECONDS); exits non-zero when a target crashes or breaks an invariant.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/fuzz.sh "${WISP_FUZZ_SECONDS:-20}"
