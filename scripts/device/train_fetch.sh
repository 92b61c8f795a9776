#!/bin/bash
# Copies up to 60 MB of exported GGUF pieces to $OUT per call (the transfer limit is 64 MiB,
# 8 files of 16 MiB): bash scripts/device/train_fetch.sh PATTERN...  e.g. 'wisp-s8-f16.gguf'
# Each file is split into 15 MiB parts named FILE.partaa, .partab, ...; join with cat here.
W=/tmp/wisp/out
cd $W || exit 1
for f in "$@"; do
  [ -f "$f" ] || { echo "missing $f"; continue; }
  split -b 15M "$f" "$OUT/$f.part"
  sha256sum "$f"
done
ls -la $OUT
