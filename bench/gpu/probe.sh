#!/bin/bash
# A short GPU-machine probe of decode through captured graphs (carried as .gpu/extra/probe.sh):
#   source .gpu/unpack.sh && bash $GPU_HOME/extra/probe.sh
# The 7B q4 package, then none and sparsevlm:64 (1 round, 32 tokens) with graph capture on and
# off (SVLM_GRAPH_CAPTURE=0) in two processes; the per-token CPU breakdown of the captured path
# is printed by the bench at exit. Logs to $OUT/probe.log.
set -uo pipefail
cd "$GPU_HOME/extra"
OUT=${OUT:-/tmp/bench-out}; mkdir -p "$OUT"; log=$OUT/probe.log
t0=$(date +%s)
export BENCH_TOKENIZER_DIR=$PWD BENCH_IMAGE=$PWD/shapes.png
probe() { timeout 30 node -e "const w=require('webgpu');Object.assign(globalThis,w.globals);w.create([]).requestAdapter().then(a=>{console.log(a?'adapter':'none');process.exit(a?0:1)},e=>process.exit(1))" >/dev/null 2>&1; }
egl=$(ldconfig -p | grep -Eo '/[^ ]*libEGL_nvidia\.so\.0' | head -1)
printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "${egl:-libEGL_nvidia.so.0}" > /tmp/nvidia_egl_icd.json
probe || export VK_ICD_FILENAMES=/tmp/nvidia_egl_icd.json
echo "machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1); ICD ${VK_ICD_FILENAMES:-default}" | tee -a "$log"
quiet() { grep --line-buffered -v 'VerifyEachNodeIsAssignedToAnEp\|Vulkan shaderUniform\|While initializing\|at Initialize'; }
timeout 150 node bench.mjs --prepare-only --shape llava-1.5-7b --dtype q4 --no-merged --cache /tmp/bench-cache 2>&1 | quiet | tail -2 | sed 's/^/[prepare] /' >> "$log"
echo "prepared at $(( $(date +%s) - t0 )) s" >> "$log"
for cap in 1 0; do
  SVLM_GRAPH_CAPTURE=$cap timeout 110 node bench.mjs --where node --shape llava-1.5-7b --dtype q4 --no-merged --cache /tmp/bench-cache \
    --methods none,sparsevlm:64 --runs 1 --warmup 1 --tokens 32 --out "$OUT/cap$cap" 2>&1 | quiet | sed "s/^/[capture=$cap] /" >> "$log"
  echo "capture=$cap done at $(( $(date +%s) - t0 )) s" >> "$log"
done
cat "$log"; for f in "$OUT"/cap*/*.md; do echo "== $f"; cat "$f"; done
