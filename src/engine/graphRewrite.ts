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
 *    The new outputs are the producing nodes' own outputs (renamed), not Identity nodes after
 *    them: onnxruntime runs Identity as an alias and fills a pre-allocated graph output with a
 *    buffer copy, and graph capture records compute dispatches only, so every replay left
 *    `key_new`/`value_new` as the capture run wrote them (Dawn, 2026-12-02: the fixed caches
 *    got the first decoded token's key/value again each step; tokens drifted from the plain
 *    path's where caches are short, i.e. after pruning).
 * 4. For the decode session only, attention without copies of the cache (`attendWithoutCopies`):
 *    the layer graph's Concat(past, new) → Transpose → q·kᵀ would materialise three cache-sized
 *    tensors per layer ([1,Hkv,cap+1,hd] each), and a capture-enabled session keeps every
 *    buffer it allocated, so 32 layers of a 7B model held ~1.1 GB of them for good (the H200
 *    run of 2026-12-02: captured peak 8521 MiB vs 6219 MiB plain) and copied ~1 GB per token.
 *    Instead: scores over the cache as past_key · qᵀ ([1,Hkv,cap,hd]·[1,Hkv,hd,G], no transpose
 *    of the cache), the new token's score apart, softmax over both, then probs_cache · past_value
 *    + prob_new · value_new. Every intermediate is O(cap·G) (G = query heads per kv head).
 *    With one new token a Transpose that only moves an axis of size 1 keeps every element in
 *    place, so those become Reshapes, which onnxruntime runs as aliases, not dispatches (a
 *    captured replay's CPU cost is per recorded dispatch): qᵀ and the cache scores' swap where
 *    G = 1, the new key's kᵀ, and the layer's own head swaps of the query and of the attention
 *    output (not outputs of the decode graph). 5 of a layer's 7 Transposes at G = 1, 3 for
 *    grouped-query layers; key_new/value_new keep theirs (item 3). Counted on Dawn: 40 fewer
 *    dispatches a token on the small shape (8 layers, 8/8 heads), 12 on the tiny (4 layers, GQA).
 * 5. For the decode session only, several consecutive layers as one graph (`mergeDecodeGraphs`):
 *    a captured replay costs onnxruntime-web a fixed ~120 µs of CPU per session run besides
 *    ~4 µs per recorded dispatch (README, "what limits each phase"), and decode needs no
 *    boundary between layers (every method decides in prefill). Layer i's names get the prefix
 *    `L{i}/`, its `hidden` input is layer i−1's `hidden_out`; the merged graph reads the first
 *    layer's `hidden` and every layer's other inputs, and writes the last layer's `hidden_out`
 *    and every layer's `key_new`/`value_new`.
 */
import { AttributeType, DataType, ModelProto } from '../onnx/proto';

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

/** Ops onnxruntime may run as an alias of their input (no kernel writes their output). */
const ALIAS_OPS = new Set(['Identity', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten']);

/**
 * Make `tensor` a graph output named `name` by renaming it where it is produced and read, so
 * a kernel writes the output buffer itself (see 3. above on why not an Identity).
 */
function exposeAs(label: string, g: GraphMsg, tensor: string, name: string): void {
  const producer = g.node.find((n) => n.output.includes(tensor));
  if (!producer) throw new GraphRewriteError(label, `${tensor} (for ${name}) has no producing node`);
  if (ALIAS_OPS.has(producer.opType))
    throw new GraphRewriteError(
      label,
      `${tensor} (for ${name}) comes from ${producer.opType}, which onnxruntime runs as an alias: a captured replay would not refresh it`,
    );
  const rename = (t: string) => (t === tensor ? name : t);
  for (const n of g.node) {
    n.output = n.output.map(rename);
    n.input = n.input.map(rename);
  }
}

/**
 * The decode session's graph from a lifted one (one new token): outputs `hidden_out`, `key_new`,
 * `value_new` (the present Concats' second inputs, renamed), attention without cache copies. Throws GraphRewriteError when the graph does
 * not have that form (the engine then decodes without capture).
 */
export function decodeOutputs(label: string, lifted: Uint8Array, heads: AttentionHeads): Uint8Array {
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
  exposeAs(label, g, pk.input[1], KEY_NEW);
  exposeAs(label, g, pv.input[1], VALUE_NEW);
  // Outputs first: attendWithoutCopies turns Transposes that are not outputs into Reshapes.
  g.output = [hidden, valueInfo(KEY_NEW, act, shape), valueInfo(VALUE_NEW, act, shape)];
  attendWithoutCopies(label, m, heads);
  pruneDeadNodes(g);
  return encode(m);
}

/** The name of layer `i`'s tensor `name` inside a merged decode graph (item 5). */
export const segmentName = (i: number, name: string): string => `L${i}/${name}`;

/**
 * Item 5: the decode graphs of consecutive layers (`decodeOutputs`' results, in order) as one
 * graph. One graph is returned as it is.
 */
export function mergeDecodeGraphs(label: string, models: Uint8Array[]): Uint8Array {
  if (models.length === 1) return models[0];
  const ms = models.map(decode);
  const last = ms.length - 1;
  const merged: GraphMsg = { node: [], initializer: [], input: [], output: [], name: label };
  for (const [i, m] of ms.entries()) {
    const g = m.graph;
    const rename = (t: string): string => {
      if (t === '') return t; // an omitted optional input
      if (t === 'hidden') return i === 0 ? t : segmentName(i - 1, 'hidden_out');
      if (t === 'hidden_out' && i === last) return t;
      return segmentName(i, t);
    };
    const ownDims = (v: ValueInfo): ValueInfo => {
      for (const d of v.type.tensorType.shape?.dim ?? []) if (d.dimParam) d.dimParam = segmentName(i, d.dimParam);
      return v;
    };
    for (const [k, n] of g.node.entries()) {
      n.input = n.input.map(rename);
      n.output = n.output.map(rename);
      n.name = segmentName(i, n.name || `${n.opType}_${k}`);
      merged.node.push(n);
    }
    for (const t of g.initializer) merged.initializer.push({ ...t, name: rename(t.name) });
    for (const v of g.input)
      if (!(v.name === 'hidden' && i > 0)) merged.input.push(ownDims({ ...v, name: rename(v.name) }));
    for (const v of g.output)
      if (!(v.name === 'hidden_out' && i < last)) merged.output.push(ownDims({ ...v, name: rename(v.name) }));
  }
  const m = ms[0];
  m.graph = merged;
  return encode(m);
}

/** Query and kv head counts and head size of a layer graph (the manifest's `text`). */
export interface AttentionHeads {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/** Whether `tensor` is `source` or made from it by reshaping ops only (repeat_kv: Unsqueeze, Expand, Reshape). */
function derivesFrom(g: GraphMsg, tensor: string, source: string): boolean {
  for (let t = tensor, hops = 0; hops < 8; hops++) {
    if (t === source) return true;
    const n = g.node.find((x) => x.output.includes(t));
    if (!n || !['Unsqueeze', 'Expand', 'Reshape', 'Identity'].includes(n.opType)) return false;
    t = n.input[0];
  }
  return false;
}

/**
 * Item 4 above, for one new token (S = 1): replaces the q·kᵀ MatMul (query × Transpose of the
 * present key) and the probs·v MatMul (probs × present value) of the layer graph; the scale,
 * mask, casts and softmax between them stay as they are. Head h of the layer's query is kv head
 * ⌊h/G⌋'s g = h mod G (HF repeat_kv order), so [1,H,1,·] ↔ [1,Hkv,G,·] is a reshape.
 */
function attendWithoutCopies(label: string, m: ModelMsg, h: AttentionHeads): void {
  const g = m.graph;
  const H = h.numHeads;
  const Hkv = h.numKvHeads;
  const G = H / Hkv;
  const qk = g.node.find(
    (n) =>
      n.opType === 'MatMul' &&
      g.node.some(
        (t) => t.opType === 'Transpose' && t.output[0] === n.input[1] && derivesFrom(g, t.input[0], 'present_key'),
      ),
  );
  const av = g.node.find((n) => n.opType === 'MatMul' && derivesFrom(g, n.input[1], 'present_value'));
  if (!qk || !av || !Number.isInteger(G))
    throw new GraphRewriteError(label, 'no q·kᵀ MatMul over present_key or probs·v MatMul over present_value');
  let serial = 0;
  const fresh = (hint: string) => `decode_attn_${hint}_${serial++}`;
  const i64 = (values: number[]): string => {
    const name = fresh('const');
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    g.initializer.push({ name, dims: [values.length], dataType: DataType.INT64, rawData: raw });
    return name;
  };
  const node = (
    opType: string,
    input: string[],
    attribute: unknown[] = [],
    output = fresh(opType),
  ): NodeMsg & { output: string[] } => ({
    input,
    output: [output],
    name: fresh(`${opType}_node`),
    opType,
    domain: '',
    attribute,
  });
  const perm = { name: 'perm', type: AttributeType.INTS, ints: [0, 1, 3, 2] };
  // Swapping the last two axes, where one of them is 1 (G = 1, the new token's one row), keeps
  // every element where it is: a Reshape, which onnxruntime runs as an alias, not a dispatch
  // (a captured replay's CPU cost is per recorded dispatch).
  const T = (x: string, swappedIsOne: boolean, to: number[]) =>
    swappedIsOne ? node('Reshape', [x, i64(to)]) : node('Transpose', [x], [perm]);

  // Scores [1,H,1,cap+1] under the q·kᵀ MatMul's output name.
  const qr = node('Reshape', [qk.input[0], i64([1, Hkv, G, h.headDim])]); // [1,Hkv,G,hd]
  const qt = T(qr.output[0], G === 1, [1, Hkv, h.headDim, 1]); // [1,Hkv,hd,G]
  const cacheCols = node('MatMul', ['past_key', qt.output[0]]); // [1,Hkv,cap,G]
  const cacheScores = T(cacheCols.output[0], G === 1, [1, Hkv, 1, -1]); // [1,Hkv,G,cap]
  const kt = T(KEY_NEW, true, [1, Hkv, h.headDim, 1]); // [1,Hkv,hd,1]
  const newScore = node('MatMul', [qr.output[0], kt.output[0]]); // [1,Hkv,G,1]
  const axis3 = { name: 'axis', type: AttributeType.INT, i: 3 };
  const scores = node('Concat', [cacheScores.output[0], newScore.output[0]], [axis3]); // [1,Hkv,G,cap+1]
  const toHeads = node('Reshape', [scores.output[0], i64([1, H, 1, -1])], [], qk.output[0]);
  const scoreNodes = [qr, qt, cacheCols, cacheScores, kt, newScore, scores, toHeads];

  // probs [1,H,1,cap+1] → out [1,H,1,hd] under the probs·v MatMul's output name.
  const pr = node('Reshape', [av.input[0], i64([1, Hkv, G, -1])]); // [1,Hkv,G,cap+1]
  const pc = node('Slice', [pr.output[0], i64([0]), i64([-1]), i64([3])]); // [1,Hkv,G,cap]
  const pn = node('Slice', [pr.output[0], i64([-1]), i64([Number.MAX_SAFE_INTEGER]), i64([3])]); // [1,Hkv,G,1]
  const oc = node('MatMul', [pc.output[0], 'past_value']); // [1,Hkv,G,hd]
  const on = node('MatMul', [pn.output[0], VALUE_NEW]); // [1,Hkv,G,hd]
  const sum = node('Add', [oc.output[0], on.output[0]]);
  const back = node('Reshape', [sum.output[0], i64([1, H, 1, h.headDim])], [], av.output[0]);
  const outNodes = [pr, pc, pn, oc, on, sum, back];

  g.node.splice(g.node.indexOf(qk), 1, ...scoreNodes);
  g.node.splice(g.node.indexOf(av), 1, ...outNodes);

  // The layer's own head Transposes around attention, [1,S,H,hd] ↔ [1,H,S,hd], move an axis of
  // 1 here (S = 1): the query's (not an output of the decode graph) and the attention output's
  // become Reshapes. key_new/value_new keep theirs: a graph output must be a kernel's own
  // output (item 3).
  const outputs = new Set(g.output.map((o) => o.name));
  const headSwap = (n: NodeMsg | undefined) =>
    n?.opType === 'Transpose' &&
    !outputs.has(n.output[0]) &&
    (n.attribute as { name: string; ints?: Num[] }[])
      .find((a) => a.name === 'perm')
      ?.ints?.map(num)
      .join(',') === '0,2,1,3';
  const toReshape = (n: NodeMsg, to: number[]) =>
    g.node.splice(g.node.indexOf(n), 1, node('Reshape', [n.input[0], i64(to)], [], n.output[0]));
  const queryT = g.node.find((n) => n.output[0] === qk.input[0]);
  if (headSwap(queryT)) toReshape(queryT!, [1, H, 1, h.headDim]);
  const readers = g.node.filter((n) => n.input.includes(av.output[0]));
  if (readers.length === 1 && headSwap(readers[0])) toReshape(readers[0], [1, 1, H, h.headDim]);
}
