/**
 * Load-time rewrites of a decoder-layer graph for decode through onnxruntime's WebGPU graph
 * capture (capturedDecode.ts). The package on disk is unchanged (docs/ARCHITECTURE.md, "Layer
 * graph I/O"); only the sessions the engine makes from it differ:
 *
 * 1. **Weights become graph inputs** (`liftWeights`). A session that captures must be a second
 *    session of the layer (one captured graph per session, and a capture-enabled session keeps
 *    every buffer it ever allocated: running prefill through it would pin each layer's largest
 *    activations for good — onnxruntime's `GraphCacheManager`). Two sessions holding the same
 *    initializers would hold the weights twice; with the weights as inputs neither session
 *    holds them, the engine uploads them once and feeds the same GPU buffers to both.
 * 2. **The causal mask becomes an input** (`attn_bias`, additive f32 [1,1,S,T]). The converter's
 *    mask is made from shapes (Shape → Squeeze → Cast → Sub → Range → LessOrEqual); onnxruntime
 *    puts that int64 arithmetic on its CPU EP, and a graph with any CPU node cannot be captured
 *    ("all compute graph nodes have not been partitioned to the WebGpuExecutionProvider",
 *    H200 probe 2026-12-02). An input also lets a fixed-capacity cache mask its unused slots.
 *    `Where(allowed, s, −∞)` → `Add(s, bias)`: the same values (s + 0 = s; s + −∞ = −∞).
 * 3. For the decode session only (`decodeOutputs`): outputs `hidden_out` and the new token's
 *    post-RoPE key and value (`key_new`, `value_new` [1,Hkv,S,hd], the second inputs of the
 *    present Concats), no `present_*` and no `query`: the caller writes the new rows into its
 *    fixed cache itself (WebGPU forbids binding one buffer as both past and present).
 */
import { DataType, ModelProto } from '../onnx/proto';

/** Initializers at least this large (and of a float or uint8 type) are lifted to inputs. */
export const LIFT_MIN_BYTES = 1024;

export const BIAS_INPUT = 'attn_bias';
export const KEY_NEW = 'key_new';
export const VALUE_NEW = 'value_new';

export type WeightType = 'float32' | 'float16' | 'uint8';

/** One lifted initializer: now a graph input of this name, dtype and shape. */
export interface LiftedWeight {
  name: string;
  type: WeightType;
  dims: number[];
  bytes: Uint8Array;
}

export class GraphRewriteError extends Error {
  override readonly name = 'GraphRewriteError';
  constructor(
    readonly graph: string,
    readonly detail: string,
  ) {
    super(`cannot prepare ${graph} for graph capture: ${detail}`);
  }
}

// Decoded protobuf messages (protobufjs reflection objects; int64 fields may be Long-like).
type Num = number | { toNumber(): number };
interface Dim {
  dimValue?: Num;
  dimParam?: string;
}
interface ValueInfo {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: Dim[] } } };
}
interface TensorMsg {
  name: string;
  dims: Num[];
  dataType: number;
  rawData?: Uint8Array;
  externalData?: { key: string; value: string }[];
  dataLocation?: number;
}
interface NodeMsg {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain?: string;
  attribute: unknown[];
}
interface GraphMsg {
  node: NodeMsg[];
  initializer: TensorMsg[];
  input: ValueInfo[];
  output: ValueInfo[];
  name: string;
}
interface ModelMsg {
  graph: GraphMsg;
}

const num = (v: Num | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

const WEIGHT_TYPES: Partial<Record<number, WeightType>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.FLOAT16]: 'float16',
  [DataType.UINT8]: 'uint8',
};

function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function decode(model: Uint8Array): ModelMsg {
  return ModelProto.decode(model) as unknown as ModelMsg;
}

function encode(m: ModelMsg): Uint8Array {
  const bytes = ModelProto.encode(m as never).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength); // a Node Buffer in Node
}

/** Keep only nodes that contribute to a graph output (the mask's shape arithmetic goes). */
function pruneDeadNodes(g: GraphMsg): void {
  const needed = new Set(g.output.map((o) => o.name));
  const keep: NodeMsg[] = [];
  for (const n of [...g.node].reverse()) {
    if (n.output.some((o) => needed.has(o))) {
      keep.push(n);
      for (const i of n.input) if (i) needed.add(i);
    }
  }
  g.node = keep.reverse();
  g.initializer = g.initializer.filter((t) => needed.has(t.name));
}

/**
 * Weights → inputs and the causal mask → `attn_bias`. `files` holds the graph's external data
 * files by the location its protobuf records. Returns the new graph and the lifted weights.
 */
export function liftWeights(
  label: string,
  model: Uint8Array,
  files: Map<string, Uint8Array>,
): { model: Uint8Array; weights: LiftedWeight[] } {
  const m = decode(model);
  const g = m.graph;
  const weights: LiftedWeight[] = [];
  const kept: TensorMsg[] = [];
  for (const t of g.initializer) {
    const type = WEIGHT_TYPES[t.dataType];
    const dims = t.dims.map(num);
    let bytes: Uint8Array | undefined = t.rawData && t.rawData.byteLength > 0 ? t.rawData : undefined;
    if (t.dataLocation === 1) {
      const entry = (k: string) => t.externalData?.find((e) => e.key === k)?.value;
      const file = files.get(entry('location') ?? '');
      if (!file) throw new GraphRewriteError(label, `external data ${entry('location')} of ${t.name} was not given`);
      const offset = Number(entry('offset') ?? 0);
      const length = Number(entry('length') ?? file.byteLength - offset);
      bytes = file.subarray(offset, offset + length);
    }
    if (!type || !bytes || bytes.byteLength < LIFT_MIN_BYTES) {
      if (t.dataLocation === 1)
        throw new GraphRewriteError(label, `small external initializer ${t.name} is not supported`);
      kept.push(t);
      continue;
    }
    weights.push({ name: t.name, type, dims, bytes });
    g.input.push(valueInfo(t.name, t.dataType, dims));
  }
  g.initializer = kept;

  // The mask: Where(LessOrEqual(...), scores, −∞) → Add(scores, attn_bias).
  const producer = new Map<string, NodeMsg>();
  for (const n of g.node) for (const o of n.output) producer.set(o, n);
  const wheres = g.node.filter((n) => n.opType === 'Where' && producer.get(n.input[0])?.opType === 'LessOrEqual');
  if (wheres.length !== 1)
    throw new GraphRewriteError(label, `expected one causal-mask Where node, found ${wheres.length}`);
  const where = wheres[0];
  where.opType = 'Add';
  where.input = [where.input[1], BIAS_INPUT];
  where.attribute = [];
  g.input.push(valueInfo(BIAS_INPUT, DataType.FLOAT, [1, 1, 'S', 'T']));
  pruneDeadNodes(g);
  return { model: encode(m), weights };
}

/**
 * The decode session's graph from a lifted one: outputs `hidden_out`, `key_new`, `value_new`
 * (Identity of the present Concats' second inputs).
 */
export function decodeOutputs(label: string, lifted: Uint8Array): Uint8Array {
  const m = decode(lifted);
  const g = m.graph;
  const concatOf = (present: string) => g.node.find((n) => n.opType === 'Concat' && n.output[0] === present);
  const act = g.output.find((o) => o.name === 'present_key')?.type.tensorType.elemType;
  const hidden = g.output.find((o) => o.name === 'hidden_out');
  const pk = concatOf('present_key');
  const pv = concatOf('present_value');
  if (!pk || !pv || !hidden || act === undefined)
    throw new GraphRewriteError(label, 'no present_key/present_value Concat or hidden_out output');
  const hkv = g.output.find((o) => o.name === 'present_key')!.type.tensorType.shape.dim;
  const shape = [num(hkv[0]?.dimValue) || 1, num(hkv[1]?.dimValue), 'S', num(hkv[3]?.dimValue)];
  g.node.push({
    input: [pk.input[1]],
    output: [KEY_NEW],
    name: 'key_new_node',
    opType: 'Identity',
    domain: '',
    attribute: [],
  });
  g.node.push({
    input: [pv.input[1]],
    output: [VALUE_NEW],
    name: 'value_new_node',
    opType: 'Identity',
    domain: '',
    attribute: [],
  });
  g.output = [hidden, valueInfo(KEY_NEW, act, shape), valueInfo(VALUE_NEW, act, shape)];
  pruneDeadNodes(g);
  return encode(m);
}
