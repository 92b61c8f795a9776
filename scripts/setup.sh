#!/usr/bin/env bash
# Installs everything wisp builds, tests and benchmarks with on a fresh Debian 12 machine, then
# builds the native and WebAssembly targets. Idempotent: a second run checks and returns quickly.
#   scripts/setup.sh            Debian packages, npm packages, utf8proc source, native + wasm build
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# NAME or NAME=VERSION (pinned: `wisp serve` is built on libmicrohttpd and jansson, cli/README.md;
# the relaxed-SIMD kernel module on clang-19, wasm-ld-19 and llvm-objdump-19, wasm/README.md).
apt_pkgs=(build-essential cmake pkg-config libcmocka-dev libutf8proc-dev emscripten
          chromium clang libclang-rt-14-dev llvm-14 python3 xz-utils zstd dpkg-dev ca-certificates
          libmicrohttpd-dev=0.9.75-6 libjansson-dev=2.14-2
          clang-19=1:19.1.7-3~deb12u1 lld-19=1:19.1.7-3~deb12u1 llvm-19=1:19.1.7-3~deb12u1)
missing=()
for p in "${apt_pkgs[@]}"; do
  name=${p%%=*}
  have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
  case $p in
    *=*) [ "$have" = "install ok installed ${p#*=}" ] || missing+=("$p") ;;
    *) case $have in "install ok installed "*) ;; *) missing+=("$p") ;; esac ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Node.js: the machine's own if it has one (node + npm), else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get install -y -qq nodejs npm >/dev/null
fi

# npm packages, pinned by deps/package-lock.json; install scripts are not needed (we compile the C).
stamp=deps/node_modules/.wisp-lock
if [ ! -f "$stamp" ] || ! cmp -s deps/package-lock.json "$stamp"; then
  echo "setup: installing npm packages (deps/package-lock.json)"
  (cd deps && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp deps/package-lock.json "$stamp"
fi

# utf8proc source for the WebAssembly build: Debian's own source package, same version as the
# native library.
if [ ! -f deps/utf8proc/utf8proc.c ]; then
  echo "setup: fetching Debian source of utf8proc"
  if ! grep -rqs "deb-src\|Types: deb-src" /etc/apt/sources.list.d/ /etc/apt/sources.list; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      > /etc/apt/sources.list.d/wisp-deb-src.sources
    apt-get update -qq
  fi
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get source -qq utf8proc >/dev/null 2>&1)
  rm -rf deps/utf8proc
  mv "$tmp"/utf8proc-*/ deps/utf8proc
  rm -rf "$tmp"
fi

scripts/build.sh
