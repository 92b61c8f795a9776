#!/bin/bash
# Restores the v2 main run's resume point from git history (models/resume.txt: commit, path,
# sha256, tokens seen) into .carry/resume/resume.gguf, checks its digest, and prints the
# TOKENS_BEFORE for the lease. The file stays out of the tracked tree: a `start` call carries it
# with [".carry/wisp2", ".carry/wisp-corpus", ".carry/resume"] and INIT_GGUF=.carry/resume/resume.gguf.
#   bash scripts/device/resume_point.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
read -r commit path sha tokens < <(grep -v '^#' models/resume.txt | head -1)
mkdir -p .carry/resume
git show "$commit:$path" > .carry/resume/resume.gguf.part
echo "$sha  .carry/resume/resume.gguf.part" | sha256sum -c --quiet || { echo "resume point: digest differs" >&2; exit 1; }
mv .carry/resume/resume.gguf.part .carry/resume/resume.gguf
echo "resume point: .carry/resume/resume.gguf ($(stat -c %s .carry/resume/resume.gguf) bytes, $path at ${commit:0:7}); TOKENS_BEFORE=$tokens"
