#!/bin/bash
# Watches the detached training pipeline (scripts/device/train_all.sh) from a `run` call:
#   bash scripts/device/train_watch.sh MAX_SECONDS [start MINUTES]
# With "start", launches the pipeline first (detached with setsid, so it outlives the call).
# Returns when the pipeline has ended, or after MAX_SECONDS, printing its log and the tails of
# the training logs; copies the small results (logs, vectors, results) to $OUT.
W=/tmp/wisp
mkdir -p $W
if [ "${2:-}" = start ]; then
  setsid nohup bash scripts/device/train_all.sh "${3:-13}" > $W/pipeline.log 2>&1 < /dev/null &
  echo $! > $W/pid
  sleep 2
  nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
  python3 -c "import torch, tokenizers, numpy; print('torch', torch.__version__, 'tokenizers', tokenizers.__version__, 'numpy', numpy.__version__)"
fi
end=$((SECONDS + ${1:-500}))
while [ $SECONDS -lt $end ] && kill -0 "$(cat $W/pid)" 2>/dev/null; do sleep 5; done
kill -0 "$(cat $W/pid)" 2>/dev/null && echo "[pipeline running]" || echo "[pipeline ended]"
tail -n 40 $W/pipeline.log
for f in $W/runs/*.log; do [ -f "$f" ] && { echo "--- $f"; grep -v '^\s*$' "$f" | tail -n 4; }; done
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
if [ -n "${OUT:-}" ]; then
  cp $W/pipeline.log $OUT/ 2>/dev/null
  (cd $W/out && tar czf $OUT/small.tgz --exclude='*.gguf' --exclude='*.part*' . 2>/dev/null)
fi
