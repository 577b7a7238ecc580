#!/bin/bash
# Fused prefill attention (engine/prefillAttention.ts, MultiHeadAttention) against the plain ops on
# this GPU (bench/gpu/mha-probe.ts: H32/hd128, S = 18, 64, 82, 590 with P 0 and > 0, f32 and f16
# where shader-f16): carried as .gpu/extra/mha-probe.sh, ~1 min.
#   source .gpu/unpack.sh && bash $GPU_HOME/extra/mha-probe.sh
# Exit code 1 (and WRONG in the log) when the fused graph differs: then the engine's default
# (SVLM_FUSED_ATTENTION on where subgroups are 16+ wide) must go off for this adapter.
set -uo pipefail
cd "$GPU_HOME/extra"
OUT=${OUT:-/tmp/bench-out}; mkdir -p "$OUT"; log=$OUT/mha-probe.log
probe() { timeout 30 node -e "const w=require('webgpu');Object.assign(globalThis,w.globals);w.create([]).requestAdapter().then(a=>{console.log(a?'adapter':'none');process.exit(a?0:1)},e=>process.exit(1))" >/dev/null 2>&1; }
egl=$(ldconfig -p | grep -Eo '/[^ ]*libEGL_nvidia\.so\.0' | head -1)
printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "${egl:-libEGL_nvidia.so.0}" > /tmp/nvidia_egl_icd.json
probe || export VK_ICD_FILENAMES=/tmp/nvidia_egl_icd.json
echo "machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1); ICD ${VK_ICD_FILENAMES:-default}" | tee -a "$log"
timeout ${MHA_TIMEOUT_S:-240} node mha-probe.mjs 2>&1 | grep --line-buffered -v 'VerifyEachNodeIsAssignedToAnEp' | tee -a "$log"
rc=${PIPESTATUS[0]}
echo "mha-probe rc $rc" | tee -a "$log"
# MHA_LAYERS=1: then layer by layer on the 7B package (mha-layers.ts; made here in ~20 s, kept in
# /tmp/bench-cache as variants.sh makes it): each layer's update plain vs fused, the two chains, and
# layer 0 on wasm (MHA_WASM, default 1) as the CPU reference.
if [ -n "${MHA_LAYERS:-}" ]; then
  dir=$(BENCH_TOKENIZER_DIR=$PWD node bench.mjs --prepare-only --shape "${SHAPE:-llava-1.5-7b}" --dtype "${DTYPE:-q4}" --no-merged --cache /tmp/bench-cache 2>/dev/null | tail -1)
  MHA_PACKAGE=$dir MHA_WASM=${MHA_WASM:-1} timeout ${MHA_LAYERS_TIMEOUT_S:-300} node mha-layers.mjs 2>&1 | grep --line-buffered -v 'VerifyEachNodeIsAssignedToAnEp' | tee -a "$log"
  echo "mha-layers rc ${PIPESTATUS[0]}" | tee -a "$log"
fi
exit "$rc"
