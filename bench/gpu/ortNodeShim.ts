/**
 * Stands in for onnxruntime-node in bench/gpu/f16-parity.ts's bundle (esbuild alias): the
 * reference runner's InferenceSession and Tensor from onnxruntime-web (its CPU EP is the wasm
 * build), since onnxruntime-node's 44 MB native library does not fit the GPU machine's carry.
 * `env` stays undefined as in pack.sh's stub, which transformers.js only reads at load.
 */
import { InferenceSession, Tensor } from 'onnxruntime-web/webgpu';

export { InferenceSession, Tensor };
export const env = undefined;
