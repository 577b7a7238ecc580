#!/bin/bash
# Prefill tuning variants side by side on the GPU machine (issue 13; engine/ortEnv.ts
# PrefillTuning): the 7B package prepared once, then one process per variant (prefill-variants.mjs:
# 1 warm-up + RUNS requests of none and sparsevlm:64, TOKENS tokens each) → $OUT/variants.jsonl,
# the table → $OUT/variants.md, logs → $OUT/variants.log.
#   bash bench/gpu/pack.sh, then run: source .gpu/unpack.sh && bash $GPU_HOME/extra/variants.sh
# VARIANTS (space-separated name:SWITCH=v,SWITCH=v; the first is the baseline) overrides the list.
# The default list measures onnxruntime's maxNumPendingDispatches (SVLM_MAX_PENDING_DISPATCHES,
# onnxruntime's default 16; engine/webgpuConfig.ts) against the tree's defaults; the earlier
# lists are in bench/results/2026-12-02c/d-prefill-variants.md. SVLM_COUNT_CALLS=1 (the default
# here; 0 turns it off) counts the Dawn calls of every variant, so the table shows the submits
# per request that maxNumPendingDispatches changes. fused / plainattn: prefill attention as one
# MultiHeadAttention node per layer (engine/prefillAttention.ts) forced on / off; the default
# (base) is on where the adapter's subgroups are 16+ wide (an NVIDIA GPU: base = fused), so
# plainattn is the comparison, and its tokens / top-5 / kept sets against base are the 7B
# shape's end-to-end check of the fused graph (bench/gpu/mha-probe.sh checks the op itself).
set -uo pipefail
cd "$GPU_HOME/extra"
OUT=${OUT:-/tmp/bench-out}; mkdir -p "$OUT"
SHAPE=${SHAPE:-llava-1.5-7b}; DTYPE=${DTYPE:-q4}; TOTAL_S=${TOTAL_S:-420}; RUNS=${RUNS:-3}; TOKENS=${TOKENS:-4}
VARIANTS=${VARIANTS:-"base: pending64:SVLM_MAX_PENDING_DISPATCHES=64 pending256:SVLM_MAX_PENDING_DISPATCHES=256 fused:SVLM_FUSED_ATTENTION=1 plainattn:SVLM_FUSED_ATTENTION=0"}
export SVLM_COUNT_CALLS=${SVLM_COUNT_CALLS:-1}
log=$OUT/variants.log
t0=$(date +%s); left() { echo $(( TOTAL_S - ($(date +%s) - t0) )); }
machine=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "machine: $machine; cpus $(nproc)" | tee -a "$log"
export BENCH_TOKENIZER_DIR=$PWD
cache=/tmp/bench-cache
# The same Vulkan ICD probe as run.sh (the loader's default, else an ICD file naming the EGL library).
probe() { timeout 30 node -e "const w=require('webgpu');Object.assign(globalThis,w.globals);w.create([]).requestAdapter().then(a=>{console.log(a?'adapter':'none');process.exit(a?0:1)},e=>{console.log('error '+e);process.exit(1)})" 2>&1 | tail -1; return "${PIPESTATUS[0]}"; }
egl=$(ldconfig -p | grep -Eo '/[^ ]*libEGL_nvidia\.so\.0' | head -1)
printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "${egl:-libEGL_nvidia.so.0}" > /tmp/nvidia_egl_icd.json
if ! probe >> "$log"; then export VK_ICD_FILENAMES=/tmp/nvidia_egl_icd.json; probe >> "$log" || { echo "no WebGPU adapter" | tee -a "$log"; exit 1; }; fi
quiet() { grep --line-buffered -v 'VerifyEachNodeIsAssignedToAnEp'; }

dir=$(node bench.mjs --prepare-only --shape "$SHAPE" --dtype "$DTYPE" --no-merged --cache $cache 2> >(quiet | sed -u 's/^/[prepare] /' >> "$log") | tail -1)
echo "package $dir at $(( $(date +%s) - t0 )) s" | tee -a "$log"
for v in $VARIANTS; do
  name=${v%%:*}; switches=${v#*:}
  l=$(left); [ "$l" -lt 45 ] && { echo "skipped $name: ${l} s left" | tee -a "$log"; continue; }
  env $(echo "$switches" | tr ',' ' ') timeout $(( l - 10 )) node prefill-variants.mjs --model "$dir" --image "$PWD/shapes.png" \
    --variant "$name" --runs "$RUNS" --tokens "$TOKENS" >> "$OUT/variants.jsonl" 2> >(quiet >> "$log")
  echo "$name: rc $?, at $(( $(date +%s) - t0 )) s" | tee -a "$log"
done
node prefill-variants.mjs --summarize "$OUT/variants.jsonl" > "$OUT/variants.md" 2>> "$log"
cat "$OUT/variants.md"; tail -30 "$log"
