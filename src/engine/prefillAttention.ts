/**
 * Prefill attention as one com.microsoft `MultiHeadAttention` node, a load-time rewrite of the
 * lifted layer graph's *prefill* session only (graphRewrite.ts `liftWeights`'s output; the decode
 * graph for capture is derived from the un-fused lifted graph, and the package on disk is
 * unchanged).
 *
 * Why: a pruned prefill layer (18–82 tokens) is bound by onnxruntime-web's CPU cost per dispatched
 * node (README, "Pruned prefill, measured apart": ~2.3 ms per layer run for ~28 dispatches on the
 * H200 host). The converter writes attention as plain ops (attention.ts `attend`: k Transpose,
 * q·kᵀ MatMul, scale Mul, mask Add, Softmax, probs·v MatMul, output Transpose, plus the k/v head
 * Transposes and the present Concats: 12 dispatches at f32); MultiHeadAttention with past
 * key/value takes 3–4 (probe of 2026-12-03, bench/gpu/mha-probe.ts).
 *
 * The rewrite, with its graph in the converter's shapes (attention.ts, llama.ts):
 *
 *   qBSD, kBSD [1,S,H·hd] (RotaryEmbedding outputs), vBSD [1,S,H·hd]
 *   query = Transpose(Reshape(qBSD))                       kept: SparseVLM's hook reads it
 *   present_key = Concat(past_key, Transpose(Reshape(kBSD)))          ┐
 *   present_value = Concat(past_value, Transpose(Reshape(vBSD)))      │
 *   s = Mul(MatMul(query, Transpose(present_key)) [→ f32], scale)     │ replaced by
 *   p = Softmax(Add(s, attn_bias)) [→ act]                            │ MultiHeadAttention(qBSD, kBSD, vBSD,
 *   attn = Reshape(Transpose(MatMul(p, present_value)))  [1,S,H·hd]   ┘   attention_bias, past_key, past_value)
 *                                                                        → attn, present_key, present_value
 *
 * The outputs keep their names (`present_key`, `present_value` [1,H,T,hd] BNSH, as the op writes
 * them), so prefill.ts and the method hooks read the same I/O. onnxruntime-web's kernel for this
 * node depends on the device: with `subgroups` it always takes flash attention; for S < 32 its
 * decode kernels (right everywhere: max diff 1.1e-6 against the plain ops at H32/hd128, present_*
 * bit-exact, on SwiftShader), for S ≥ 32 its FlashAttention prefill kernel, which steps keys by
 * min(subgroup size, 16) through subgroupShuffle and is wrong where subgroups are narrower
 * (SwiftShader's 4: rows ≥ 4 off by ~0.5). Read in the WGSL it generates (onnxruntime-web
 * 1.31.0-dev, FlashAttention program): each step loads min(width, 16) keys into a tile, lane j of
 * the subgroup holds key j, and the scores are taken by subgroupShuffle from lanes 0..15 where the
 * width is > 8 and 0..7 otherwise: at a width of 4 keys 4..7 of each step come from lanes that do
 * not exist (and the next step counts them again), while at 8, 16, 32 and 64 each key is read once. So the engine uses it by default only
 * where the adapter's subgroups are ≥ 16 wide (ortEnv.ts `PrefillTuning.fusedAttention`; 32 is
 * NVIDIA's, checked on the H200 on 2026-12-03: bench/gpu/mha-probe.sh right at S = 18..590 with
 * and without past, f32 and f16, and bench/gpu/mha-layers.ts on the 7B package within 3e-6 per
 * layer at MatMulNBits accuracy 0; at accuracy 4 the DP4A rounding of o_proj's input turns those
 * 1e-6 into ~5e-3, as any change of the attention's float order would).
 *
 * Refused (the plain graph stays, with the reason) where kv heads ≠ query heads (the op has no
 * grouped heads; repeating k/v first would add the dispatches it saves) or the graph does not
 * have the pattern above.
 */
import { AttributeType, DataType, ModelProto } from '../onnx/proto';
import { f16ToF32 } from '../common/float16';
import { BIAS_INPUT, type AttentionHeads } from './graphRewrite';

/** The op's domain (onnxruntime contrib ops). */
const MS_DOMAIN = 'com.microsoft';

// Decoded protobuf messages (protobufjs reflection objects; int64 fields may be Long-like).
type Num = number | { toNumber(): number };
interface Attr {
  name: string;
  type?: number;
  i?: Num;
  f?: number;
  ints?: Num[];
}
interface NodeMsg {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain?: string;
  attribute: Attr[];
}
interface TensorMsg {
  name: string;
  dims: Num[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
}
interface ValueInfo {
  name: string;
  type: { tensorType: { elemType: number } };
}
interface GraphMsg {
  node: NodeMsg[];
  initializer: TensorMsg[];
  input: ValueInfo[];
  output: ValueInfo[];
}

const num = (v: Num | undefined): number => (v === undefined ? NaN : typeof v === 'number' ? v : v.toNumber());

/** The rewrite's result: the fused graph, or the graph as given and why not. */
export type PrefillAttention = { model: Uint8Array; refusal: null } | { model: Uint8Array; refusal: string };

/** Why the pattern did not match (caught inside `fusePrefillAttention`, returned as its refusal). */
class NoMatch extends Error {}

/** The prefill graph with attention as one MultiHeadAttention node, or `model` itself and the reason. */
export function fusePrefillAttention(model: Uint8Array, heads: AttentionHeads): PrefillAttention {
  const { numHeads: H, numKvHeads: Hkv } = heads;
  if (H !== Hkv)
    return {
      model,
      refusal: `${Hkv} kv heads for ${H} query heads: MultiHeadAttention needs one kv head per query head`,
    };
  const m = ModelProto.decode(model) as unknown as { graph: GraphMsg };
  try {
    rewrite(m.graph, heads);
  } catch (e) {
    if (e instanceof NoMatch) return { model, refusal: e.message };
    throw e;
  }
  const bytes = ModelProto.encode(m as never).finish();
  return { model: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), refusal: null };
}

function rewrite(g: GraphMsg, heads: AttentionHeads): void {
  const producer = new Map<string, NodeMsg>();
  const consumers = new Map<string, NodeMsg[]>();
  for (const n of g.node) {
    for (const o of n.output) producer.set(o, n);
    for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const outputs = new Set(g.output.map((o) => o.name));
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const attr = (n: NodeMsg, name: string) => n.attribute.find((a) => a.name === name);
  const perm = (n: NodeMsg) => (attr(n, 'perm')?.ints ?? []).map(num).join(',');
  const fail: (what: string) => never = (what) => {
    throw new NoMatch(`no plain attention to fuse: ${what}`);
  };
  /** The one node reading `t` (an intermediate, not a graph output), of one of `ops`. */
  const only = (t: string, ops: string[], what: string): NodeMsg => {
    const cs = consumers.get(t) ?? [];
    if (cs.length !== 1 || outputs.has(t) || !ops.includes(cs[0].opType))
      fail(
        `${what}: ${t} is read by ${cs.map((c) => c.opType).join(', ') || 'nothing'}${outputs.has(t) ? ' and is a graph output' : ''}, not by one ${ops.join('/')}`,
      );
    return cs[0];
  };
  /** x of Transpose(Reshape(x), perm 0,2,1,3): a [1,S,n·hd] tensor split into heads. */
  const splitSource = (t: string, what: string): string => {
    const tr = producer.get(t);
    const rs = tr && producer.get(tr.input[0]);
    if (tr?.opType !== 'Transpose' || perm(tr) !== '0,2,1,3' || rs?.opType !== 'Reshape')
      fail(`${what} is not Transpose(Reshape(x), [0,2,1,3])`);
    return rs!.input[0];
  };

  const concat = (present: string, past: string): NodeMsg => {
    const c = producer.get(present);
    if (c?.opType !== 'Concat' || c.input[0] !== past || num(attr(c, 'axis')?.i) !== 2)
      fail(`${present} is not Concat(${past}, new, axis 2)`);
    return c!;
  };
  const pk = concat('present_key', 'past_key');
  const pv = concat('present_value', 'past_value');
  const kBSD = splitSource(pk.input[1], 'the new key');
  const vBSD = splitSource(pv.input[1], 'the new value');
  const qBSD = splitSource('query', 'query');

  // q·kᵀ → [Cast] → Mul(scale) → mask → Softmax → [Cast] → ·v → Transpose → Reshape.
  const kt = (consumers.get('present_key') ?? []).find((n) => n.opType === 'Transpose' && perm(n) === '0,1,3,2');
  if (!kt) fail('no Transpose(present_key, [0,1,3,2])');
  const qk = only(kt!.output[0], ['MatMul'], 'kᵀ');
  if (qk.input[0] !== 'query') fail('the q·kᵀ MatMul does not read query');
  const chain: NodeMsg[] = [kt!, qk];
  let x = qk;
  const step = (ops: string[], what: string) => {
    x = only(x.output[0], ops, what);
    chain.push(x);
    return x;
  };
  if (step(['Cast', 'Mul'], 'the scores').opType === 'Cast') step(['Mul'], 'the f32 scores');
  const scaleName = x.input.find((i) => i !== chain[chain.length - 2].output[0]) ?? '';
  const scale = scalarOf(inits.get(scaleName));
  if (scale === null) fail(`the scale ${scaleName} is not a float scalar initializer`);
  const mask = step(['Add', 'Where'], 'the scaled scores');
  let bias: { name: string; elemType: number; fromAllowed?: string };
  if (mask.opType === 'Add') {
    const b = mask.input.find((i) => i !== chain[chain.length - 2].output[0]);
    const input = g.input.find((v) => v.name === b);
    if (b !== BIAS_INPUT || !input) fail(`the mask Add does not read the ${BIAS_INPUT} input`);
    bias = { name: b!, elemType: input!.type.tensorType.elemType };
  } else
    fail(
      'the mask is a Where over a bool mask (not a lifted graph: graphRewrite.ts liftWeights makes it an additive input)',
    );
  const softmax = step(['Softmax'], 'the masked scores');
  if (![-1, 3].includes(num(attr(softmax, 'axis')?.i))) fail('the Softmax is not over the last axis');
  if (step(['Cast', 'MatMul'], 'the probabilities').opType === 'Cast') step(['MatMul'], 'the cast probabilities');
  const av = x;
  if (av.input[1] !== 'present_value') fail('the probs·v MatMul does not read present_value');
  const outT = step(['Transpose'], 'the attention output');
  if (perm(outT) !== '0,2,1,3') fail('the attention output Transpose is not [0,2,1,3]');
  const outR = step(['Reshape'], 'the transposed attention output');
  const attnOut = outR.output[0];
  const pvReaders = (consumers.get('present_value') ?? []).filter((n) => n !== av);
  const pkReaders = (consumers.get('present_key') ?? []).filter((n) => n !== kt);
  if (pvReaders.length || pkReaders.length)
    fail(
      `present_key/present_value have other readers (${[...pkReaders, ...pvReaders].map((n) => n.opType).join(', ')})`,
    );

  // The bias in the activation dtype (the op's attention_bias is of its type T).
  const act = g.output.find((o) => o.name === 'present_key')!.type.tensorType.elemType;
  const added: NodeMsg[] = [];
  let biasName = bias.name;
  if (bias.elemType !== act) {
    biasName = 'prefill_attn/bias_act';
    added.push(node('Cast', [bias.name], [biasName], [{ name: 'to', type: AttributeType.INT, i: act }]));
  }
  added.push(
    node(
      'MultiHeadAttention',
      [qBSD, kBSD, vBSD, '', '', biasName, 'past_key', 'past_value'],
      [attnOut, 'present_key', 'present_value'],
      [
        { name: 'num_heads', type: AttributeType.INT, i: heads.numHeads },
        { name: 'scale', type: AttributeType.FLOAT, f: scale! },
      ],
      MS_DOMAIN,
    ),
  );
  const gone = new Set([pk, pv, ...chain]);
  const at = g.node.indexOf(outR);
  g.node = [
    ...g.node.slice(0, at).filter((n) => !gone.has(n)),
    ...added,
    ...g.node.slice(at + 1).filter((n) => !gone.has(n)),
  ];
  pruneDeadNodes(g);
}

function node(opType: string, input: string[], output: string[], attribute: Attr[], domain = ''): NodeMsg {
  return { input, output, name: `prefill_attn/${opType}`, opType, domain, attribute };
}

/** A scalar (or one-element) f32/f16 initializer's value, else null. */
function scalarOf(t: TensorMsg | undefined): number | null {
  if (!t || t.dims.map(num).reduce((a, b) => a * b, 1) !== 1) return null;
  if (t.floatData?.length === 1 && t.dataType === DataType.FLOAT) return t.floatData[0];
  const raw = t.rawData;
  if (!raw) return null;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (t.dataType === DataType.FLOAT && raw.byteLength === 4) return view.getFloat32(0, true);
  if (t.dataType === DataType.FLOAT16 && raw.byteLength === 2)
    return f16ToF32(new Uint16Array([view.getUint16(0, true)]))[0];
  return null;
}

/** Keep only nodes that contribute to a graph output (the split k/v heads go). */
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
