#!/bin/bash
# The first lease of the v2 model (GPU machine, one H200): recipe sweep + early-exit ablation,
# then the main run continues from the sweep's winner. Driven from the developer machine by the
# `run` tool with carry [".carry/wisp2", ".carry/wisp-corpus"]:
#
#   call 1:  bash scripts/device/lease_v2.sh start      # pipeline detached (setsid), waits for the smoke test
#   call k:  bash scripts/device/lease_v2.sh add        # newly carried shards -> prepared in the background
#            bash scripts/device/lease_v2.sh watch N    # follow the log N seconds
#   last:    bash scripts/device/lease_v2.sh fetch FILE[:K-L]...  # files of $W/out, split in 15 MiB parts (K..L only), to $OUT
#    or:     bash scripts/device/lease_v2.sh finish S FILE...  # wait up to S s for the end, then fetch
#                                                         # FILE... and lease-results.tgz (every json/log)
#
# Later leases continue the main run from the committed checkpoint instead of sweeping:
#   INIT_GGUF=models/wisp-default.gguf MAIN_ARGS="$(cat models/wisp-default.args)" \
#   TOKENS_BEFORE=N MAIN_MIN=20 bash scripts/device/lease_v2.sh start
# (the sweep and the decision are skipped; `main` starts from those weights with a fresh optimizer
# state and a 200-step warm-up; everything else is the same). Shards sent by later `add` calls join
# the running main run as soon as they are prepared (train.py --data-watch, checked every 2 min);
# LANG_WEIGHTS=python=0.3,... rebalances the languages (train.py --lang-weights, capped by
# MAX_PASSES); SITE=0 skips the site-packages shard (4 minutes to build there); SMOKE=0 skips
# the smoke test (a continued run has passed it before).
#
# ABLATE="name dim layers heads kv ffn options" lines (one pair: NAME and NAME-exit) train beside a
# continued main run, from scratch on tok-000 for ABLATE_STEPS steps each (equal steps and the
# same batches, so the pair differs only in the exit loss), then lease_decide.py compares them
# (out/ablation.json). Lease 1 compared at equal wall time, which left the exit run with fewer
# tokens.
#
# The machine goes back 30 s after a call ends, and the detached pipeline with it: chain the calls
# with no gap (each one waits on the pipeline up to its 10-minute limit, e.g.
# `bash scripts/device/lease_v2.sh watch 540`), and fetch in the call that sees "=== ... done".
# Lease 1 (2026-12-02) lost its first machine that way and reran with SWEEP_MIN=4 MAIN_MIN=6
# COOL_MIN=1.5 to fit the session's 30 device-minutes.
#
# Everything lives in /tmp/wisp2 (outside the working-tree copy that every call replaces).
# Stages, each skipped when its output exists (a relaunch resumes):
#   tokenizer  the shipped model's tokenizer rebuilt from its GGUF keys, checked against the
#              stored test vectors (same ids as wisp-default)
#   prepare    every carried shard set -> FIM token streams (train/prepare_v2.py), tok-NNN/
#   smoke      a tiny model with every option on (Muon, GQA, early exit, compile), 30 steps
#   sweep      SWEEP side by side for SWEEP_MIN minutes: optimizer (AdamW/Muon) x shape
#              (12 x 384 / 20 x 320 GQA 5:1) and the early-exit pair (same run +- exit loss)
#   decide     train/lease_decide.py picks the main run's start by validation loss
#   main       the winner's checkpoint continues on every prepared part for MAIN_MIN minutes,
#              the last COOL_MIN of them cooling down (stable.pt = resume point, model.pt = ship)
#   export     F16 GGUFs of both + PyTorch perplexity of the fixed text
set -uo pipefail
W=/tmp/wisp2
INIT_GGUF=${INIT_GGUF:-} MAIN_ARGS=${MAIN_ARGS:-} TOKENS_BEFORE=${TOKENS_BEFORE:-0} LANG_WEIGHTS=${LANG_WEIGHTS:-}
mkdir -p $W/out $W/runs $W/incoming $W/log
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
SWEEP_MIN=${SWEEP_MIN:-6}
ABLATE=${ABLATE:-} ABLATE_STEPS=${ABLATE_STEPS:-1500}
# with LANG_WEIGHTS, no language is read more than MAX_PASSES times over the tokens the main run
# expects (MAIN_MIN at TOK_S tokens/s, lease 2's rate): lease 2 read its 3.8 M TypeScript tokens
# 37 times at a 0.14 share and its TypeScript got worse
MAX_PASSES=${MAX_PASSES:-4} TOK_S=${TOK_S:-1450000}
MAIN_MIN=${MAIN_MIN:-8}
COOL_MIN=${COOL_MIN:-2}
# name dim layers heads kv ffn options (shared: wsd, batch 32, no cool-down in the sweep)
SWEEP=${SWEEP:-"w-adamw 384 12 6 6 1024 --opt adamw --lr 1.5e-3
w-muon 384 12 6 6 1024 --opt muon --lr 2e-3 --muon-lr 0.02
d-muon 320 20 5 1 864 --opt muon --lr 2e-3 --muon-lr 0.02
d-muon-exit 320 20 5 1 864 --opt muon --lr 2e-3 --muon-lr 0.02 --exit-layer 8 --exit-weight 0.25"}

stage() { echo "=== $(date -u +%T) $*"; }

# EXPECT_SHARDS=N (stage_shards.sh prints it): the main run waits until N carried shards are
# prepared, at most WAIT_MAX seconds (default 420), so that it does not begin on the start call's
# one shard: lease 4 read one shard alone for its first 1.5 minutes (lease 3: 2 minutes), and a
# narrow stream is what made lease 2 worse. The GPU idles meanwhile (about 3 minutes for 16
# shards on lease 4's 16 cores); the add calls must come at once after the start call.
wait_shards() {
  [ -n "${EXPECT_SHARDS:-}" ] || return 0
  stage "main waits for $EXPECT_SHARDS prepared shards (at most ${WAIT_MAX:-420} s)"
  local i
  for i in $(seq 1 $(( ${WAIT_MAX:-420} / 5 ))); do
    [ "$(ls $W/incoming/*.jsonl.xz.done 2>/dev/null | wc -l)" -ge "$EXPECT_SHARDS" ] && break
    sleep 5
  done
  stage "prepared: $(ls $W/incoming/*.jsonl.xz.done 2>/dev/null | wc -l) shards"
}

parts_state() { # what the main run can read, and any shard set that failed to prepare
  echo "prepared: $(cd $W && ls -d tok-[0-9][0-9][0-9] 2>/dev/null | tr '\n' ' ')waiting: $(ls $W/incoming/*.jsonl.xz 2>/dev/null | wc -l) shard(s)"
  grep -h -E "Traceback|Error|left out" $W/log/add.log $W/log/pipeline.log 2>/dev/null | tail -3 | sed 's/^/PREPARE PROBLEM: /'
}

take_shards() { # copy carried shards not seen before into incoming/
  for f in .carry/wisp-corpus/shard-*.jsonl.xz; do
    [ -f "$f" ] || continue
    b=$(basename "$f")
    if [ ! -f $W/incoming/$b ] && [ ! -f $W/incoming/$b.done ]; then
      cp "$f" $W/incoming/$b.part && mv $W/incoming/$b.part $W/incoming/$b
    fi
  done
}

prepare_new() { # one token-stream part of all waiting shards (one at a time: a lock)
  ( flock 9; prepare_locked ) 9>$W/prep.lock
}

prepare_locked() {
  local new=$(ls $W/incoming/*.jsonl.xz 2>/dev/null)
  [ -n "$new" ] || return 0
  local k=$(ls -d $W/tok-* 2>/dev/null | wc -l)
  local d=$(printf "$W/tok-%03d" $k)
  stage "prepare $d from $(echo $new | wc -w) shards"
  python3 $W/src/train/prepare_v2.py --shards $new --tokenizer $W/tokenizer.json --out $d.tmp --variants 2 \
    && mv $d.tmp $d && for f in $new; do mv $f $f.done; done
}

ablate() { # the ABLATE pair side by side at equal steps, then the exit rule of lease_decide.py
  local names=""
  while read -r name dim layers heads kv ffn extra; do
    [ -n "$name" ] || continue
    names="$names $name"
    [ -s $W/runs/$name/result.json ] || python3 train/train.py --name $name --dim $dim --layers $layers --heads $heads \
        --kv-heads $kv --ffn $ffn --data $W/tok-000 --out $W/runs/$name --minutes 60 --max-steps $ABLATE_STEPS \
        --batch 32 --warmup 200 --schedule wsd $extra > $W/runs/$name.log 2>&1 &
  done <<< "$ABLATE"
  wait
  stage "ablation done:$names"
  python3 train/lease_decide.py --runs $W/runs --names $names --out $W/out/ablation.json
}

pipeline() {
  cd $W/src
  stage tokenizer
  [ -s $W/tokenizer.json ] || python3 train/tokenizer_from_gguf.py wisp2/tokenizer-meta.gguf $W/tokenizer.json \
      --check fixtures/tokenizer/wisp-default-val.strings.txt.xz fixtures/tokenizer/wisp-default-val.vectors.xz || return 1
  stage python-site
  # Python of the machine's own site-packages + stdlib (licence per distribution), checked for
  # benchmark overlap like every other shard
  if [ "${SITE:-1}" != 0 ] && [ ! -f $W/incoming/shard-site.jsonl.xz ] && [ ! -f $W/incoming/shard-site.jsonl.xz.done ]; then
    python3 train/corpus/python_site.py --out $W/python-site.jsonl && \
    python3 train/corpus/decontaminate.py --overlap wisp2/heldout/overlap.py --near-dup --out $W/site.tmp.jsonl.xz $W/python-site.jsonl \
      | tee $W/out/site-overlap.json && mv $W/site.tmp.jsonl.xz $W/incoming/shard-site.jsonl.xz || return 1
  fi
  stage prepare
  prepare_new || return 1
  [ -d $W/tok-000 ] || { echo "no prepared data"; return 1; }
  stage smoke
  [ "${SMOKE:-1}" = 0 ] || [ -s $W/runs/smoke/result.json ] || python3 train/train.py --name smoke --dim 64 --layers 4 --heads 2 --kv-heads 1 --ffn 128 \
      --data $W/tok-000 --out $W/runs/smoke --minutes 3 --max-steps 20 --opt muon --exit-layer 2 --exit-weight 0.25 \
      --schedule wsd --cooldown-minutes 0.02 --warmup 10 || { echo "SMOKE FAILED"; return 1; }
  echo "SMOKE OK"
  local names="" ablated=$(awk 'NF {print $1}' <<< "$ABLATE" | paste -sd' ')
  if [ -n "${INIT_GGUF:-}" ]; then
    stage "main continues from $INIT_GGUF: $MAIN_ARGS"
    wait_shards
    [ -z "$ABLATE" ] || ablate &
    mkdir -p $W/runs/main
    if [ ! -s $W/runs/main/result.json ]; then
      prepare_new
      local parts=$(ls -d $W/tok-[0-9][0-9][0-9] | paste -sd,)
      python3 train/train.py --name main $MAIN_ARGS --data $parts --out $W/runs/main --init-gguf $W/init.gguf \
          --tokens-before ${TOKENS_BEFORE:-0} --minutes $MAIN_MIN --cooldown-minutes $COOL_MIN --batch 64 --warmup 200 \
          --schedule wsd --data-watch "$W/tok-[0-9][0-9][0-9]" ${LANG_WEIGHTS:+--lang-weights $LANG_WEIGHTS --max-passes $MAX_PASSES \
          --tokens-plan $(python3 -c "print(int($MAIN_MIN * 60 * $TOK_S))")} \
          > $W/runs/main.log 2>&1 || { echo "MAIN FAILED"; tail -20 $W/runs/main.log; return 1; }
    fi
  else
  stage sweep
  while read -r name dim layers heads kv ffn extra; do
    [ -n "$name" ] || continue
    names="$names $name"
    [ -s $W/runs/$name/result.json ] || python3 train/train.py --name $name --dim $dim --layers $layers --heads $heads \
        --kv-heads $kv --ffn $ffn --data $W/tok-000 --out $W/runs/$name --minutes $SWEEP_MIN --batch 32 --warmup 200 \
        --schedule wsd $extra > $W/runs/$name.log 2>&1 &
  done <<< "$SWEEP"
  wait
  stage decide
  python3 train/lease_decide.py --runs $W/runs --names $names --out $W/out/decision.json || return 1
  local winner=$(python3 -c "import json;print(json.load(open('$W/out/decision.json'))['main_from'])")
  local margs=$(python3 -c "import json;print(json.load(open('$W/out/decision.json'))['args'])")
  stage "main from $winner: $margs"
  if [ ! -s $W/runs/main/result.json ]; then
    mkdir -p $W/runs/main
    [ -f $W/runs/main/ckpt.pt ] || cp $W/runs/$winner/ckpt.pt $W/runs/main/ckpt.pt
    prepare_new
    local parts=$(ls -d $W/tok-[0-9][0-9][0-9] | paste -sd,)
    stage "main on $parts"
    python3 train/train.py --name main $margs --data $parts --out $W/runs/main \
        --minutes $(python3 -c "print($SWEEP_MIN + $MAIN_MIN)") --cooldown-minutes $COOL_MIN --batch 64 --warmup 200 \
        --schedule wsd > $W/runs/main.log 2>&1 || { echo "MAIN FAILED"; tail -20 $W/runs/main.log; return 1; }
  fi
  fi
  wait   # the ablation pair, if any
  stage export
  for which in model stable; do
    python3 train/export.py --run $W/runs/main --weights $which.pt --tokenizer $W/tokenizer.json \
        --out $W/out/wisp-v2-$which-f16.gguf --type f16 --name wisp-default --ppl-text train/eval/ppl_text.txt || echo "export $which FAILED"
  done
  for n in $names $ablated main; do
    cp $W/runs/$n/result.json $W/out/result-$n.json 2>/dev/null
    cp $W/runs/$n/log.jsonl $W/out/log-$n.jsonl 2>/dev/null
  done
  cat $W/tok-*/tokens.json > $W/out/tokens.json
  stage done
}

case "${1:-}" in
  start)
    rm -rf $W/src && mkdir -p $W/src/fixtures && cp -r train $W/src/ && cp -r fixtures/tokenizer $W/src/fixtures/ \
      && cp -r .carry/wisp2 $W/src/wisp2
    # the resume point is copied now: later calls may carry a tree without it
    [ -z "$INIT_GGUF" ] || cp "$INIT_GGUF" $W/init.gguf || exit 1
    take_shards
    nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
    python3 -c 'import torch, tokenizers; print("torch", torch.__version__, "tokenizers", tokenizers.__version__, torch.cuda.get_device_name(0))'
    (export -f pipeline prepare_new prepare_locked stage ablate wait_shards; export EXPECT_SHARDS WAIT_MAX W SWEEP SWEEP_MIN MAIN_MIN COOL_MIN INIT_GGUF MAIN_ARGS TOKENS_BEFORE LANG_WEIGHTS SMOKE SITE ABLATE ABLATE_STEPS MAX_PASSES TOK_S
     setsid nohup bash -c 'pipeline; echo "=== pipeline exit $?"' > $W/log/pipeline.log 2>&1 < /dev/null &)
    for i in $(seq 1 ${2:-100}); do
      sleep 3
      grep -q -E "SMOKE OK|SMOKE FAILED|Traceback|pipeline exit" $W/log/pipeline.log && break
    done
    tail -40 $W/log/pipeline.log ;;
  add)
    take_shards
    (export -f prepare_new prepare_locked stage; export W; setsid nohup bash -c prepare_new >> $W/log/add.log 2>&1 < /dev/null &)
    ls -la $W/incoming; parts_state ;;
  watch)
    sleep ${2:-0}
    parts_state
    tail -25 $W/log/pipeline.log; for f in $W/runs/*.log; do echo "--- $f"; tail -2 $f; done
    tail -3 $W/log/add.log 2>/dev/null; ls $W/out; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv ;;
  finish) # finish S FILE...: wait up to S seconds for the pipeline's end, then fetch FILE... and a
          # tarball of every small result (out/*.json, *.jsonl, the logs) in the same call
    for i in $(seq 1 $(( ${2:-540} / 5 ))); do
      grep -q "pipeline exit" $W/log/pipeline.log && break
      sleep 5
    done
    parts_state
    tail -25 $W/log/pipeline.log
    if grep -q "pipeline exit" $W/log/pipeline.log; then
      shift 2
      cp $W/log/pipeline.log $W/runs/*.log $W/out/ 2>/dev/null
      (cd $W/out && tar czf $OUT/lease-results.tgz $(ls *.json *.jsonl *.log 2>/dev/null))
      exec bash "$0" fetch "$@"
    fi ;;
  fetch) # FILE or FILE:K-L (only parts K..L: a file over one call's 64 MiB, e.g. a 16-block F16
         # export of 69.8 MB, comes back over two calls: FILE:0-2, then FILE:3-4)
    shift
    for spec in "$@"; do
      f=${spec%%:*} sel=
      [ "$spec" = "$f" ] || sel=${spec#*:}
      [ -f $W/out/$f ] || { echo "fetch: no $W/out/$f" >&2; exit 1; }
      if [ $(stat -c %s $W/out/$f) -gt 15728640 ]; then
        mkdir -p $W/split/$f
        [ -e $W/split/$f/.done ] || { split -b 15M -d $W/out/$f $W/split/$f/$f.part && touch $W/split/$f/.done; }
        for p in $W/split/$f/$f.part*; do
          k=$((10#${p##*.part}))
          if [ -z "$sel" ] || { [ $k -ge ${sel%-*} ] && [ $k -le ${sel#*-} ]; }; then cp $p $OUT/; fi
        done
      else
        cp $W/out/$f $OUT/
      fi
    done
    ls -la $OUT ;;
  *) echo "usage: $0 start|add|watch [S]|finish S FILE...|fetch FILE..."; exit 2 ;;
esac
