/**
 * Every decoder layer in one graph: the same layer math as the per-layer graphs
 * (addDecoderLayer), chained hidden → hidden, one KV cache per layer, rotary tables and causal
 * mask shared. Two I/O namings use it: our `decoder_merged.onnx` (the benchmark's split-cost
 * baseline) and transformers.js' `decoder_model_merged` (see ../transformersjs.ts).
 *
 * A 7B decoder is ~3.5 GB even in int4, so the graph spills its weights into external data
 * chunks as layers are added; the generator hands each closed chunk out as a file at once, and
 * the .onnx itself (references only) last. Peak memory: about two chunks plus one layer.
 */
import { type DataChunk, type Dim, GraphBuilder, attr } from '../../onnx/builder';
import { Ctx } from './common';
import { addDecoderLayer, addHead, sharedAttention } from './llama';
import type { ActDtype, TensorSource, TextDims, WeightDtype } from './types';

export interface StackIo {
  graphName: string;
  /** Input hidden states [batch, S, D] (act dtype). */
  hidden: string;
  positionIds: string; // int64 [batch, S]
  past: (layer: number) => [key: string, value: string];
  present: (layer: number) => [key: string, value: string];
  /** Symbolic dims of the I/O. */
  dims: { batch: Dim; seq: Dim; past: Dim; total: Dim };
  /** Extra inputs the graph declares but does not read (transformers.js' attention_mask). */
  extraInputs?: { name: string; elem: 'int64'; dims: Dim[] }[];
  /** 'hidden': hidden states out under this name; 'logits': final norm + lm_head of the last position, f32 [batch,1,V]. */
  output: { kind: 'hidden' | 'logits'; name: string };
}

/** Chunk file names: `<graph>.data`, `<graph>.data.1`, … (ours) or `<graph>_data`, `<graph>_data_1`, … (transformers.js). */
export type ChunkNamer = (index: number) => string;

export const MERGED_CHUNK_BYTES = 1 << 30;

/**
 * Builds the stack, yielding each closed data chunk; returns the serialised graph (after the
 * last chunk, which `serialize` closes and which is yielded too).
 */
export async function* buildDecoderStack(
  src: TensorSource,
  dims: TextDims,
  dtype: WeightDtype,
  io: StackIo,
  chunkName: ChunkNamer,
  maxChunkBytes = MERGED_CHUNK_BYTES,
): AsyncGenerator<DataChunk, Uint8Array> {
  const g = new GraphBuilder(io.graphName);
  g.spillTo({ location: chunkName, maxChunkBytes });
  const ctx = new Ctx(g, src, dtype);
  const act: ActDtype = ctx.act;
  const { hiddenSize: D, numKvHeads: Hkv, headDim: hd } = dims;
  const { batch, seq, past, total } = io.dims;
  let hidden = g.input(io.hidden, act, [batch, seq, D]);
  const positionIds = g.input(io.positionIds, 'int64', [batch, seq]);
  for (const extra of io.extraInputs ?? []) g.input(extra.name, extra.elem, extra.dims);
  for (let layer = 0; layer < dims.numLayers; layer++) {
    const [pk, pv] = io.past(layer);
    g.input(pk, act, [batch, Hkv, past, hd]);
    g.input(pv, act, [batch, Hkv, past, hd]);
  }
  const shared = sharedAttention(ctx, dims, positionIds, hidden);
  for (let layer = 0; layer < dims.numLayers; layer++) {
    const [pastKey, pastValue] = io.past(layer);
    const [presentKey, presentValue] = io.present(layer);
    const last = layer === dims.numLayers - 1;
    const hiddenOut = last && io.output.kind === 'hidden' ? io.output.name : `hidden_${layer + 1}`;
    await addDecoderLayer(
      ctx,
      dims,
      layer,
      { hidden, pastKey, pastValue, presentKey, presentValue, hiddenOut },
      shared,
    );
    hidden = hiddenOut;
    yield* g.takeChunks();
  }
  if (io.output.kind === 'logits') {
    const logits = await addHead(ctx, dims, hidden); // [batch,1,V] act
    g.node(act === 'float32' ? 'Identity' : 'Cast', [logits], {
      outputs: [io.output.name],
      attrs: act === 'float32' ? {} : { to: attr.int(1) },
    });
    g.output(io.output.name, 'float32', [batch, 1, dims.vocabSize]);
  } else {
    g.output(io.output.name, act, [batch, seq, D]);
  }
  for (let layer = 0; layer < dims.numLayers; layer++) {
    for (const name of io.present(layer)) g.output(name, act, [batch, Hkv, total, hd]);
  }
  const { model } = g.serialize();
  yield* g.takeChunks();
  return model;
}
