#!/bin/bash
# Bundles the bench for the GPU machine and packs it into .gpu/ (../shared/gpu/pack.sh; GPU.md).
# Then: run tool, carry [".gpu"], command: bash .gpu-run.sh  (see bench/gpu/run.sh).
#
# The bench CLI becomes one bench.mjs with webgpu and onnxruntime-web left external (carried by
# pack.sh). @huggingface/transformers' Node build (tokenizer, image processor) needs two native
# packages at run time: sharp (decodes the image) and onnxruntime-node (required when the module
# loads, never used by us); both are carried as they are installed here (linux-x64 binaries only).
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
stage=tmp/gpu-extra
rm -rf "$stage" && mkdir -p "$stage/node_modules/@img" "$stage/node_modules/onnxruntime-node"
npx esbuild bench/cli.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/bench.mjs" --external:webgpu --external:onnxruntime-web --external:onnxruntime-node \
  --external:sharp --external:vite --external:@playwright/test \
  --banner:js="import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);"
# f16-parity.mjs (issue 11: WebGPU vs wasm vs the CPU reference runner on f16 packages): the
# reference runner's onnxruntime-node import goes to onnxruntime-web's CPU EP (ortNodeShim.ts).
npx esbuild bench/gpu/f16-parity.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/f16-parity.mjs" --external:webgpu --external:onnxruntime-web --external:sharp \
  --alias:onnxruntime-node=./bench/gpu/ortNodeShim.ts \
  --banner:js="import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);"
# prefill-variants.mjs (issue 13: prefill tuning variants side by side, run by variants.sh).
npx esbuild bench/gpu/prefill-variants.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/prefill-variants.mjs" --external:webgpu --external:onnxruntime-web --external:onnxruntime-node \
  --external:sharp --external:vite --external:@playwright/test \
  --banner:js="import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);"
npx esbuild bench/gpu/dispatchCost.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/dispatchCost.mjs" --external:webgpu --external:onnxruntime-web
# mha-probe.mjs (issue 13: fused prefill attention against the plain ops, run by mha-probe.sh).
npx esbuild bench/gpu/mha-probe.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/mha-probe.mjs" --external:webgpu --external:onnxruntime-web \
  --banner:js="import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);"
# mha-layers.mjs (the same, layer by layer on the 7B package; mha-probe.sh with MHA_LAYERS=1).
npx esbuild bench/gpu/mha-layers.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/mha-layers.mjs" --external:webgpu --external:onnxruntime-web \
  --banner:js="import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);"
cp fixtures/open-llava15-deep/tokenizer.json fixtures/open-llava15-deep/tokenizer_config.json \
   fixtures/open-llava15-deep/chat_template.jinja public/samples/shapes.png fixtures/multi/frames.gif \
   bench/native/torch_reference.py bench/native/plan.json bench/gpu/run.sh bench/gpu/variants.sh bench/gpu/probe.sh bench/gpu/f16-run.sh bench/gpu/mha-probe.sh "$stage/"
# The random fixture families for f16-run.sh's last phase (f16-parity on llama-clip-gqa, qwen2-siglip; ~2 MB).
mkdir -p "$stage/fixtures" && cp -r fixtures/llama-clip-gqa fixtures/qwen2-siglip "$stage/fixtures/"
# The video-llava-7b shape's tokenizer (with <video>; bench/models.ts reads it from fixtures/ under the working folder; 18 KB).
mkdir -p "$stage/fixtures/videollava-clip-112" && cp fixtures/videollava-clip-112/tokenizer.json \
  fixtures/videollava-clip-112/tokenizer_config.json fixtures/videollava-clip-112/chat_template.jinja "$stage/fixtures/videollava-clip-112/"
nm=node_modules; dst=$stage/node_modules
cp -r $nm/sharp $nm/detect-libc $nm/semver $nm/onnxruntime-common "$dst/"
cp -r $nm/@img/colour $nm/@img/sharp-linux-x64 $nm/@img/sharp-libvips-linux-x64 "$dst/@img/"
# onnxruntime-node: its 44 MB native library no longer fits the 64 MiB carry beside the repo's
# fixtures, and transformers.js only reads it at load (InferenceSession, Tensor, env): a module
# that refuses any use stands in for it on the GPU machine (our engine runs onnxruntime-web).
cat > "$dst/onnxruntime-node/package.json" <<'JSON'
{ "name": "onnxruntime-node", "version": "0.0.0-not-carried", "main": "index.js" }
JSON
cat > "$dst/onnxruntime-node/index.js" <<'JS'
const refuse = () => { throw new Error('onnxruntime-node is not carried to the GPU machine (bench/gpu/pack.sh)'); };
exports.InferenceSession = { create: refuse };
exports.Tensor = class Tensor { constructor() { refuse(); } };
exports.env = undefined;
JS
bash ../shared/gpu/pack.sh "$stage"/*
