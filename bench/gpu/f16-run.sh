#!/bin/bash
# Issue 11's GPU-machine run (carried as .gpu/extra/f16-run.sh by bench/gpu/pack.sh):
#   source .gpu/unpack.sh && bash $GPU_HOME/extra/f16-run.sh
# 1. f16-parity.mjs on the margins fixtures of both families (`margins`: LLaMA + CLIP,
#    `margins-qwen2-siglip`: Qwen2 + SigLIP; src/convert/synthetic/margins.ts): every method on
#    q4f16, fp16 and q4 packages, WebGPU (Dawn, shader-f16) vs wasm vs the CPU reference runner,
#    with each decision's measured margin, and a `summary <fixture> <dtype>` line each
#    → $OUT/f16-parity.{log,json}; meanwhile the LLaVA-1.5-7B-shaped q4f16 package is
#    generated on the CPU in the background (F16_7B=0: neither it nor phase 2).
# 2. the 7B bench on that q4f16 package: none and sparsevlm:64, 1 warm-up + 2 runs, 64 tokens,
#    no native reference → $OUT/q4f16/<date>-node-llava-1.5-7b.{json,md,svg}
# 3. if time is left: f16-parity on the random fixture families (llama-clip-gqa, qwen2-siglip),
#    q4f16 only → $OUT/random/f16-parity.{log,json} (their near-tie margins, measured).
# Every phase has its own limit inside TOTAL_S; all phase logs go to $OUT/run.log (8 files back).
set -uo pipefail
cd "$GPU_HOME/extra"
OUT=${OUT:-/tmp/bench-out}; mkdir -p "$OUT"
TOTAL_S=${TOTAL_S:-440}; PARITY_S=${PARITY_S:-200}; PREP_S=${PREP_S:-240}; F16_7B=${F16_7B:-1}
log=$OUT/run.log
t0=$(date +%s); left() { echo $(( TOTAL_S - ($(date +%s) - t0) )); }
machine=$(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>/dev/null | head -1)
echo "machine: $machine; cpus $(nproc)" | tee -a "$log"
export BENCH_TOKENIZER_DIR=$PWD BENCH_IMAGE=$PWD/shapes.png MARGINS_TOKENIZER_DIR=$PWD
export MARGINS_QWEN2_TOKENIZER_DIR=$PWD/fixtures/qwen2-siglip
cache=/tmp/bench-cache
# Vulkan: as run.sh (the loader's default ICD names libGLX_nvidia.so.0, which fails headless on
# these machines; an ICD file naming the EGL library works).
probe() { timeout 30 node -e "const w=require('webgpu');Object.assign(globalThis,w.globals);w.create([]).requestAdapter().then(a=>{console.log(a?'adapter '+(a.info?.description||a.info?.vendor||'yes'):'none');process.exit(a?0:1)},e=>{console.log('error '+e);process.exit(1)})" 2>&1 | tail -1; return "${PIPESTATUS[0]}"; }
egl=$(ldconfig -p | grep -Eo '/[^ ]*libEGL_nvidia\.so\.0' | head -1)
printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "${egl:-libEGL_nvidia.so.0}" > /tmp/nvidia_egl_icd.json
if r=$(probe); then echo "vulkan default: $r" >> "$log"
else echo "vulkan default: $r" >> "$log"; export VK_ICD_FILENAMES=/tmp/nvidia_egl_icd.json
  if r=$(probe); then echo "vulkan EGL ICD ($egl): $r" >> "$log"; else echo "vulkan EGL ICD ($egl): $r — no WebGPU" >> "$log"; tail -20 "$log"; exit 0; fi
fi
quiet() { grep --line-buffered -v 'VerifyEachNodeIsAssignedToAnEp'; }

if [ "$F16_7B" = 1 ]; then
  ( timeout "$PREP_S" node bench.mjs --prepare-only --shape llava-1.5-7b --dtype q4f16 --no-merged --cache $cache 2>&1 \
      | quiet | sed -u 's/^/[prepare] /' >> "$log" ) &
  prep=$!
fi
timeout "$PARITY_S" node f16-parity.mjs "$PWD" "$OUT" q4f16,fp16,q4 margins,margins-qwen2-siglip 2>&1 | quiet | sed -u 's/^/[parity] /' >> "$log"
echo "f16-parity margins (both families): rc ${PIPESTATUS[0]}, at $(( $(date +%s) - t0 )) s" | tee -a "$log"

if [ "$F16_7B" = 1 ]; then
  wait $prep; echo "prepare done at $(( $(date +%s) - t0 )) s" | tee -a "$log"
  b=$(( $(left) - 30 ))
  echo "bench 7B q4f16: limit $b s" | tee -a "$log"
  timeout "$b" node bench.mjs --where node --shape llava-1.5-7b --dtype q4f16 --no-merged --cache $cache --checkpoint \
    --methods none,sparsevlm:64 --runs 2 --warmup 1 --tokens 64 --out "$OUT/q4f16" --machine "$machine" \
    --deadline "$(( b - 20 ))" 2>&1 | quiet | sed -u 's/^/[bench] /' >> "$log"
  echo "bench 7B q4f16: rc ${PIPESTATUS[0]}, at $(( $(date +%s) - t0 )) s" | tee -a "$log"
fi

s=$(( $(left) - 5 ))
if [ -d fixtures/llama-clip-gqa ] && [ "$s" -gt 60 ]; then
  timeout "$s" node f16-parity.mjs "$PWD/fixtures" "$OUT/random" q4f16 llama-clip-gqa,qwen2-siglip 2>&1 | quiet | sed -u 's/^/[random] /' >> "$log"
  echo "f16-parity random fixtures: rc ${PIPESTATUS[0]}, at $(( $(date +%s) - t0 )) s" | tee -a "$log"
fi
grep -v '^\[prepare\]' "$log" | tail -60; ls -laR "$OUT"
echo "== verdicts"; grep -E '(summary |every run|runs differ|rc [0-9])' "$log"
