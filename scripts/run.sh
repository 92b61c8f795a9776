#!/usr/bin/env bash
# The main job: set up (idempotent), then complete at a cursor in a sample file with the shipped
# default model, printing the prompt sections, the completion and its timings.
#   scripts/run.sh [FILE:LINE:COL]     (default: fixtures/samples/inventory.py:22:22)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
at=${1:-fixtures/samples/inventory.py:22:22}
echo "--- wisp complete $at (model: models/wisp-default.gguf)" >&2
build/wisp complete --json "$at"
echo "--- text to insert:" >&2
build/wisp complete "$at"
echo
