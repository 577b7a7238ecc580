/**
 * `accuracy_level` of every `com.microsoft.MatMulNBits` node, set in a serialised model at load.
 *
 * Why at load and not in the package: the level picks onnxruntime's kernel, not the weights.
 * Level 0 dequantises and multiplies in the activation dtype — exact against the goldens (q4
 * reproduces fp32 on the dequantised weights within 1e-4, src/convert/golden.test.ts), which
 * is what packages keep. Level 4 lets the WebGPU EP take its DP4A kernel (activations
 * quantised to int8 per block of 32, dot products in int32): ~1.5× faster prefill on an H200,
 * logits moved by ~1e-2 (../../shared/research/onnxruntime-web-speed.md). The engine chooses
 * per adapter (engine/ortEnv.ts `PrefillTuning`), so one package serves both.
 */
import { AttributeType, ModelProto } from './proto';

/** MatMulNBits levels onnxruntime accepts (0 = unset, 1 = f32, 2 = f16, 3 = bf16, 4 = int8). */
export type MatMulAccuracy = 0 | 1 | 2 | 3 | 4;

interface AttrMsg {
  name: string;
  type?: number;
  i?: number | { toNumber(): number };
}
interface NodeMsg {
  opType: string;
  domain?: string;
  attribute: AttrMsg[];
}
interface ModelMsg {
  graph: { node: NodeMsg[] };
}

/**
 * The model with every MatMulNBits node's accuracy_level set to `level`, and how many nodes
 * that touched. Returns the input bytes unchanged (count 0) when the graph has none, so
 * graphs without int4 weights cost one decode and no encode.
 */
export function setMatMulAccuracy(model: Uint8Array, level: MatMulAccuracy): { model: Uint8Array; nodes: number } {
  const m = ModelProto.decode(model) as unknown as ModelMsg;
  let nodes = 0;
  for (const n of m.graph.node) {
    if (n.opType !== 'MatMulNBits' || n.domain !== 'com.microsoft') continue;
    nodes++;
    const a = n.attribute.find((x) => x.name === 'accuracy_level');
    if (a) {
      a.type = AttributeType.INT;
      a.i = level;
    } else n.attribute.push({ name: 'accuracy_level', type: AttributeType.INT, i: level });
  }
  if (nodes === 0) return { model, nodes };
  const bytes = ModelProto.encode(m as never).finish();
  return { model: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), nodes };
}

/** Each MatMulNBits node's accuracy_level in graph order (0 where unset), for tests and logs. */
export function matMulAccuracies(model: Uint8Array): number[] {
  const m = ModelProto.decode(model) as unknown as ModelMsg;
  return m.graph.node
    .filter((n) => n.opType === 'MatMulNBits' && n.domain === 'com.microsoft')
    .map((n) => {
      const i = n.attribute.find((x) => x.name === 'accuracy_level')?.i ?? 0;
      return typeof i === 'number' ? i : i.toNumber();
    });
}
