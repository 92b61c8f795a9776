#!/usr/bin/env bash
# Context extraction per keystroke on real files (see bench_context.c), natively against the
# native build's libraries (scripts/build.sh native first). Inputs are files already on this
# machine: Python's own argparse.py, and sources shipped in deps/node_modules.
#   bench/context/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build-bench-context
mkdir -p "$out"
ts=deps/node_modules/tree-sitter/vendor/tree-sitter/lib
gcc -std=gnu11 -O2 -Icore/include -Igrammar/include -Igrammar -Icore -I"$ts/include" bench/context/bench_context.c \
  build/grammar/libwisp_grammar.a build/core/libwisp_core.a build/libts_python.a \
  build/libts_javascript.a build/libts_typescript.a build/libts_tsx.a build/libts_c.a \
  build/libtree_sitter.a -lutf8proc -lm -o "$out/bench_context"
m=deps/node_modules
"$out/bench_context" /usr/lib/python3.11/argparse.py /usr/lib/python3.11/textwrap.py
"$out/bench_context" $m/commander/lib/command.js $m/commander/lib/option.js
"$out/bench_context" $m/@azure/msal-browser/src/cache/BrowserCacheManager.ts $m/@azure/msal-common/src/cache/CacheManager.ts
"$out/bench_context" $ts/src/parser.c $ts/src/subtree.h
