#!/usr/bin/env bash
# Builds the WebAssembly module and the web packages if needed, then serves the Monaco demo (and
# VS Code for the Web with the wisp extension) on localhost only.
#   scripts/demo.sh [PORT]      then open http://localhost:PORT/ (Monaco) or /vscode/ (VS Code)
# WISP_MODEL=path/to/model.gguf serves another model as the default.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8080}
scripts/build.sh wasm >/dev/null
node wasm/build.mjs --no-check >/dev/null
node extension/build.mjs --no-check >/dev/null
exec node extension/server.mjs --port "$port"
