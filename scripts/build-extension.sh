#!/usr/bin/env bash
# Builds the web side: wasm/dist (JS API + worker), extension/dist + extension/monaco/dist, and the
# .vsix (extension/wisp-<version>.vsix) with @vscode/vsce, offline.
# The bundled model is models/wisp-default.gguf, or $WISP_MODEL.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build-wasm/wisp.wasm ] || scripts/build.sh wasm
node wasm/build.mjs
node extension/build.mjs
cd extension
../deps/node_modules/.bin/vsce package --no-dependencies --allow-missing-repository --skip-license \
  --no-update-package-json --no-git-tag-version 2>&1 | grep -v '^WARNING.*LICENSE' || true
ls -la ./*.vsix
