/**
 * The cost of splitting the decoder into per-layer sessions: the same weights as one merged
 * graph (decoder_merged.onnx, written by the converter with `mergedDecoder: true`) against the
 * engine's per-layer sessions, unpruned, same inputs, same loop, same process. Only the decoder
 * stack is timed (no vision, embed or head): hidden [1,S,D] in, hidden_out out; then decode
 * steps of one token against the caches each path produced. Both paths end every step by
 * reading hidden_out back (the same bytes), which is what synchronises with the GPU.
 * No node: imports: the browser bench runs it in a worker (bench/page/split.ts), Node in run.ts;
 * `read` gives a package file's bytes by its manifest path.
 */
import type { Engine } from '../src/engine/engine';
import { sessionOptions, type OrtSession, type OrtTensor } from '../src/engine/ortEnv';
import type { MergedComparison, NotMeasured } from './result';
import { spread } from './stats';
import { f32ToF16 } from '../src/common/float16';

interface MergedManifest {
  graphs: { mergedDecoder?: { graph: string; data: string[] } };
}

export async function measureSplitCost(
  engine: Engine,
  read: (path: string) => Promise<Uint8Array>,
  o: { runs: number; newTokens: number; seqLen: number },
  log: (l: string) => void = () => {},
): Promise<MergedComparison | NotMeasured> {
  const pkg = engine.model;
  if (!pkg) return { notMeasured: 'no model loaded' };
  const entry = (pkg.manifest as unknown as MergedManifest).graphs.mergedDecoder;
  if (!entry)
    return { notMeasured: "the package has no merged decoder (generate it with the converter's mergedDecoder option)" };
  const { ort } = engine.rt;
  const t = pkg.manifest.text;
  const act = pkg.manifest.activationDtype;
  const L = t.numLayers;
  const names = (p: string) => Array.from({ length: L }, (_, i) => `${p}.${i}`);
  const external = await Promise.all(
    entry.data.map(async (p) => ({ path: p.slice(p.lastIndexOf('/') + 1), data: await read(p) })),
  );
  const merged: OrtSession = await ort.InferenceSession.create(
    await read(entry.graph),
    sessionOptions(engine.rt, ['hidden_out', ...names('present_key'), ...names('present_value')], external),
  );
  const tensor = (rows: number, seed: number) => {
    const n = rows * t.hiddenSize;
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = Math.sin(i * 12.9898 + seed) * 0.02;
    if (act === 'float32') return new ort.Tensor('float32', f, [1, rows, t.hiddenSize]);
    return new ort.Tensor('float16', f32ToF16(f), [1, rows, t.hiddenSize]);
  };
  const positions = (from: number, count: number) =>
    new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: count }, (_, i) => BigInt(from + i)),
      [1, count],
    );
  const empty = () =>
    new ort.Tensor(act, act === 'float16' ? new Uint16Array(0) : new Float32Array(0), [1, t.numKvHeads, 0, t.headDim]);
  const dispose = (xs: Iterable<OrtTensor>) => {
    for (const x of xs) x.dispose();
  };

  /** One request: prefill S rows then newTokens−1 decode steps; returns [prefill ms, tokens/s]. */
  const perLayer = async (): Promise<[number, number]> => {
    let keys: OrtTensor[] = Array.from({ length: L }, empty);
    let values: OrtTensor[] = Array.from({ length: L }, empty);
    const step = async (hidden: OrtTensor, pos: OrtTensor) => {
      let h = hidden;
      const nk: OrtTensor[] = [];
      const nv: OrtTensor[] = [];
      for (let l = 0; l < L; l++) {
        const out = await pkg.sessions.layers[l].run({
          hidden: h,
          position_ids: pos,
          past_key: keys[l],
          past_value: values[l],
        });
        if (h !== hidden) h.dispose();
        out.query.dispose();
        h = out.hidden_out;
        nk.push(out.present_key);
        nv.push(out.present_value);
      }
      await h.getData(true);
      dispose(keys);
      dispose(values);
      keys = nk;
      values = nv;
    };
    const t0 = performance.now();
    await step(tensor(o.seqLen, 1), positions(0, o.seqLen));
    const prefill = performance.now() - t0;
    const t1 = performance.now();
    for (let s = 1; s < o.newTokens; s++) await step(tensor(1, s), positions(o.seqLen + s - 1, 1));
    const tps = ((o.newTokens - 1) / (performance.now() - t1)) * 1000;
    dispose(keys);
    dispose(values);
    return [prefill, tps];
  };
  const whole = async (): Promise<[number, number]> => {
    let pasts: Record<string, OrtTensor> = {};
    for (let l = 0; l < L; l++) {
      pasts[`past_key.${l}`] = empty();
      pasts[`past_value.${l}`] = empty();
    }
    const step = async (hidden: OrtTensor, pos: OrtTensor) => {
      const out = await merged.run({ hidden, position_ids: pos, ...pasts });
      await out.hidden_out.getData(true);
      dispose(Object.values(pasts));
      pasts = {};
      for (let l = 0; l < L; l++) {
        pasts[`past_key.${l}`] = out[`present_key.${l}`];
        pasts[`past_value.${l}`] = out[`present_value.${l}`];
      }
    };
    const t0 = performance.now();
    await step(tensor(o.seqLen, 1), positions(0, o.seqLen));
    const prefill = performance.now() - t0;
    const t1 = performance.now();
    for (let s = 1; s < o.newTokens; s++) await step(tensor(1, s), positions(o.seqLen + s - 1, 1));
    const tps = ((o.newTokens - 1) / (performance.now() - t1)) * 1000;
    dispose(Object.values(pasts));
    return [prefill, tps];
  };
  try {
    await perLayer();
    await whole(); // warm-up (pipelines of the merged graph are new)
    const a: [number, number][] = [];
    const b: [number, number][] = [];
    for (let r = 0; r < o.runs; r++) {
      a.push(await perLayer());
      b.push(await whole());
      log(
        `split cost run ${r + 1}/${o.runs}: per-layer ${a[r][0].toFixed(1)} ms ${a[r][1].toFixed(1)} tok/s, merged ${b[r][0].toFixed(1)} ms ${b[r][1].toFixed(1)} tok/s`,
      );
    }
    const perLayerS = { prefillMs: spread(a.map((x) => x[0])), decodeTokPerS: spread(a.map((x) => x[1])) };
    const mergedS = { prefillMs: spread(b.map((x) => x[0])), decodeTokPerS: spread(b.map((x) => x[1])) };
    return {
      perLayer: perLayerS,
      merged: mergedS,
      prefillCost: perLayerS.prefillMs.median / mergedS.prefillMs.median,
      decodeCost: mergedS.decodeTokPerS.median / perLayerS.decodeTokPerS.median,
    };
  } finally {
    await merged.release();
  }
}
