#!/bin/bash
# The one combined GPU-machine run (carried as .gpu/extra/run.sh by bench/gpu/pack.sh):
#   source .gpu/unpack.sh && bash $GPU_HOME/extra/run.sh [bench flags...]
# 1. the native PyTorch reference (torch_reference.py) → $OUT/native.json
# 2. the bench on Dawn: the LLaVA-1.5-7B q4 package generated here, all methods, native folded in
# Results (JSON, MD, SVG) and logs land in $OUT. Each phase has its own time limit so a slow
# phase cannot eat the others' (device time is scarce: GPU.md).
set -uo pipefail
cd "$GPU_HOME/extra"
OUT=${OUT:-/tmp/bench-out}; mkdir -p "$OUT"
NATIVE_S=${NATIVE_S:-150}; BENCH_S=${BENCH_S:-360}
machine=$(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | head -1)
echo "machine: $machine" | tee "$OUT/machine.txt"
t0=$(date +%s)
timeout "$NATIVE_S" python3 torch_reference.py --plan plan.json --out "$OUT/native.json" --runs 5 --warmup 2 --tokens 64 \
  > "$OUT/native.log" 2>&1 || echo "native reference failed or timed out (rc $?), see native.log" | tee -a "$OUT/native.log"
echo "native: $(( $(date +%s) - t0 )) s"; tail -5 "$OUT/native.log"
export BENCH_TOKENIZER_DIR=$PWD BENCH_IMAGE=$PWD/shapes.png
t1=$(date +%s)
timeout "$BENCH_S" node bench.mjs --where node --shape llava-1.5-7b --dtype q4 --cache /tmp/bench-cache \
  --out "$OUT" --native "$OUT/native.json" --machine "$machine" --deadline "$(( BENCH_S - 40 ))" "$@" 2>&1 \
  | grep -v 'VerifyEachNodeIsAssignedToAnEp' > "$OUT/bench.log"
echo "bench: rc ${PIPESTATUS[0]}, $(( $(date +%s) - t1 )) s"; tail -25 "$OUT/bench.log"
ls -la "$OUT"
