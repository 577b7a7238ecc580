#!/bin/bash
# The one combined GPU-machine run (carried as .gpu/extra/run.sh by bench/gpu/pack.sh):
#   source .gpu/unpack.sh && bash $GPU_HOME/extra/run.sh [bench flags...]
# 1. the LLaVA-1.5-7B q4 package generated (CPU, in the background) while
#    the native PyTorch reference (torch_reference.py, GPU) runs → $OUT/native.json
# 2. the bench on Dawn on that package, all methods, native folded in → $OUT/<date>-node-llava-1.5-7b.*
# 3. if time is left: the same bench with decode through plain session runs (capture off) for
#    none and sparsevlm:64 → $OUT/plain/*
# Every phase has its own limit inside TOTAL_S (keep it under the run tool's timeout_s), and every
# writer rewrites its files as it goes, so a phase cut short keeps what it measured. All logs go
# to $OUT/run.log: with native.json and two result triples that is the 8 files a run brings back.
set -uo pipefail
cd "$GPU_HOME/extra"
OUT=${OUT:-/tmp/bench-out}; mkdir -p "$OUT"
# DTYPE=q4f16: the 7B phases on a q4f16 package (f16 activations; needs shader-f16, which
# nodeGpu.ts's Dawn toggle exposes on NVIDIA). Default q4.
SHAPE=${SHAPE:-llava-1.5-7b}; DTYPE=${DTYPE:-q4}; TOTAL_S=${TOTAL_S:-560}; NATIVE_S=${NATIVE_S:-170}; PREP_S=${PREP_S:-300}; PLAIN_S=${PLAIN_S:-110}
log=$OUT/run.log
t0=$(date +%s); left() { echo $(( TOTAL_S - ($(date +%s) - t0) )); }
machine=$(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>/dev/null | head -1)
echo "machine: $machine; cpus $(nproc); $(free -g | awk '/Mem/{print $2 " GiB"}')" | tee -a "$log"
export BENCH_TOKENIZER_DIR=$PWD BENCH_IMAGE=$PWD/shapes.png
cache=/tmp/bench-cache
# Vulkan: the image's NVIDIA ICD names libGLX_nvidia.so.0, which can fail headless ("Could not get
# 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'", seen 2026-11-23 on an H100): then Dawn has no
# adapter and the engine falls back to wasm. Probe the loader's default first, then an ICD file that
# names the EGL library instead; keep the first that gives Dawn an adapter.
{ echo "icd files: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"; echo "dev: $(ls /dev | grep -i nvidia | tr '\n' ' ')"
  echo "libs: $(ldconfig -p | grep -Eo 'lib(GLX|EGL)_nvidia[^ ]*' | sort -u | tr '\n' ' ')"; } >> "$log"
probe() { timeout 30 node -e "const w=require('webgpu');Object.assign(globalThis,w.globals);w.create([]).requestAdapter().then(a=>{console.log(a?'adapter '+(a.info?.description||a.info?.vendor||'yes'):'none');process.exit(a?0:1)},e=>{console.log('error '+e);process.exit(1)})" 2>&1 | tail -1; return "${PIPESTATUS[0]}"; }
egl=$(ldconfig -p | grep -Eo '/[^ ]*libEGL_nvidia\.so\.0' | head -1)
printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "${egl:-libEGL_nvidia.so.0}" > /tmp/nvidia_egl_icd.json
if r=$(probe); then echo "vulkan default: $r" >> "$log"
else echo "vulkan default: $r" >> "$log"; export VK_ICD_FILENAMES=/tmp/nvidia_egl_icd.json
  if r=$(probe); then echo "vulkan EGL ICD ($egl): $r" >> "$log"; else echo "vulkan EGL ICD ($egl): $r — no WebGPU: the bench stops after the native reference" >> "$log"; unset VK_ICD_FILENAMES; NO_GPU=1; fi
fi
quiet() { grep --line-buffered -v 'VerifyEachNodeIsAssignedToAnEp'; }

# VIDEO_ONLY=1: issue 15's video row alone, then stop (≈ 150 s; VIDEO_S caps it, default 240).
# 8 frames of frames.gif (fixtures/multi, 24 frames) on the video-llava-7b shape: Video-LLaVA-7B's
# (VideoLlavaForConditionalGeneration) image and video towers, each CLIP ViT-L/14 at 224 px; the
# frames go as one <video> through the video tower, 257 tokens a frame (CLS kept), 8 × 257 = 2056
# visual tokens; the same Vicuna-7B weights as llava-1.5-7b. none vs sparsevlm-v1+schedule=video (the reference's
# video branch: one stage after layer 1, keep rank(P), recycling) vs fastv:135 (keep 73 after
# layer 1: 135 equal tokens). The package is generated here (≈ 20 s) and kept in $cache.
# llava-1.5-7b itself cannot take 8 frames: 8 × 576 = 4608 visual tokens exceed its 4096 context,
# and the unpruned prefill's attention scores (32 heads × L × L × 4 bytes at L ≈ 4650: 2.77 GB)
# exceed the adapter's 2 GiB storage-binding limit (README, Benchmarks).
video_row() {
  local s=$1
  timeout "$s" node bench.mjs --where node --shape video-llava-7b --dtype $DTYPE --no-merged --cache $cache --checkpoint \
    --frames "${VIDEO_FRAMES:-8}" --video "$PWD/frames.gif" --methods none,sparsevlm-v1+schedule=video,fastv:135 \
    --runs "${VIDEO_RUNS:-3}" --warmup 1 --tokens 64 --out "$OUT/video" --machine "$machine" --deadline "$(( s - 50 ))" 2>&1 \
    | quiet | sed -u 's/^/[video] /' >> "$log"
  echo "video row: rc ${PIPESTATUS[0]}, at $(( $(date +%s) - t0 )) s" | tee -a "$log"
}
if [ -n "${VIDEO_ONLY:-}" ]; then
  [ -n "${NO_GPU:-}" ] && { tail -20 "$log"; exit 0; }
  video_row "${VIDEO_S:-240}"; tail -30 "$log"; ls -la "$OUT" "$OUT/video"; exit 0
fi

( timeout "$PREP_S" node bench.mjs --prepare-only --shape $SHAPE --dtype $DTYPE --no-merged --cache $cache 2>&1 \
    | quiet | sed -u 's/^/[prepare] /' >> "$log" ) &
prep=$!
timeout "$NATIVE_S" python3 torch_reference.py --plan plan.json --out "$OUT/native.json" --runs 5 --warmup 2 --tokens 64 2>&1 \
  | sed -u 's/^/[native] /' >> "$log"
echo "native: rc ${PIPESTATUS[0]}, $(( $(date +%s) - t0 )) s" | tee -a "$log"
wait $prep; echo "prepare done at $(( $(date +%s) - t0 )) s" | tee -a "$log"
[ -n "${NO_GPU:-}" ] && { tail -40 "$log"; exit 0; }

b=$(( $(left) - PLAIN_S ))
echo "bench 7B: limit $b s" | tee -a "$log"
timeout "$b" node bench.mjs --where node --shape $SHAPE --dtype $DTYPE --no-merged --cache $cache --checkpoint \
  --methods none,sparsevlm:192,sparsevlm:64,fastv:64,pdrop:64,divprune:64 --runs 3 --warmup 1 --tokens 64 \
  --out "$OUT" --native "$OUT/native.json" --machine "$machine" --deadline "$(( b - 60 ))" "$@" 2>&1 | quiet | sed -u 's/^/[bench] /' >> "$log"
echo "bench 7B: rc ${PIPESTATUS[0]}, at $(( $(date +%s) - t0 )) s" | tee -a "$log"

# 3. the same package with decode through plain session runs (SVLM_GRAPH_CAPTURE=0: the path
#    before 2026-12-02), none and sparsevlm:64, 1 round, 32 tokens → $OUT/plain/* (before/after
#    in one call). The split cost and dispatch-cost phases of earlier runs are left out: the
#    64 MiB carry and one 600 s call no longer hold them (README, Benchmarks).
s=$(( $(left) - 5 ))
if [ "$s" -gt 60 ]; then
  SVLM_GRAPH_CAPTURE=0 timeout "$s" node bench.mjs --where node --shape $SHAPE --dtype $DTYPE --no-merged --cache $cache \
    --methods none,sparsevlm:64 --runs 1 --warmup 1 --tokens 32 --out "$OUT/plain" --machine "$machine" 2>&1 | quiet | sed -u 's/^/[plain] /' >> "$log"
  echo "plain decode: rc ${PIPESTATUS[0]}, at $(( $(date +%s) - t0 )) s" | tee -a "$log"
fi
tail -40 "$log"; ls -la "$OUT"
