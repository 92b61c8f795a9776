#!/usr/bin/env bash
# Installs the peers wisp is compared with (bench/peers/package.json, pinned by its lock file):
# node-llama-cpp (its prebuilt linux-x64 binaries come inside the npm packages; nothing is
# downloaded at run time) and @wllama/wllama. ~750 MB; only the benchmarks and the llama.cpp
# interop test need it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.wisp-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then exit 0; fi
# `npm install` with the lock file, not `npm ci`: node-llama-cpp lists optional binaries for other
# platforms that npm leaves out of the lock, and `npm ci` refuses such a lock as out of sync.
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund --loglevel=error
# npm 11 skips the package's postinstall; run it by hand (it only checks the bundled binaries).
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node node_modules/node-llama-cpp/dist/cli/cli.js postinstall >/dev/null
cp package-lock.json "$stamp"
