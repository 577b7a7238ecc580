/**
 * Issue 3 acceptance: between the first layer and the last token, hidden states and KV never
 * visit the CPU. During a 16-token greedy generation on WebGPU (Dawn) we count every
 * GPU→CPU read two ways: each `GPUBuffer.mapAsync` on the device (ORT's tensor downloads and
 * the door's counted reads both end there) and each ORT `Tensor.getData`. They must be only:
 *   - the first-step logits (one ORT download, Vocab × 4 bytes: firstStepTopLogits),
 *   - one token id per decode step (4 bytes, the GPU argmax through the door),
 *   - the pruning decisions and trace (door reads of the method's kernel outputs, the raters
 *     and the rank), each no
 *     larger than a few values per visual token — far below one layer's hidden or KV;
 *   - with the GPU phase clock (ORT's device has timestamp-query, as on SwiftShader), one more
 *     door read at the end of the request: the phase timestamps, 8 bytes per mark
 *     (phaseClock.ts; 'none' takes start, vision, embed, begin, one per layer, head).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateResult } from './engine';
import { dawnEngine } from './fixturePackage.testutil';
import type { MethodSettings } from './protocol';

const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'llama-clip-gqa');
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8')) as {
  question: string;
  greedy16: number[];
};
const image = new Uint8Array(readFileSync(join(FIXTURE, 'image.png')));

interface MapRecord {
  label: string;
  size: number;
}

let engine: Engine;
const maps: MapRecord[] = [];
let getDataCalls = 0;

beforeAll(async () => {
  engine = await dawnEngine('llama-clip-gqa');
  // Observe, not replace: the originals still do the work.
  const bufferProto = (globalThis as unknown as { GPUBuffer: { prototype: GPUBuffer } }).GPUBuffer.prototype;
  const mapAsync = bufferProto.mapAsync;
  bufferProto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    maps.push({ label: this.label, size: this.size });
    return mapAsync.apply(this, args);
  };
  const tensorProto = engine.rt.ort.Tensor.prototype;
  const getData = tensorProto.getData;
  tensorProto.getData = function (this: typeof tensorProto, ...args: Parameters<typeof getData>) {
    getDataCalls++;
    return getData.apply(this, args);
  };
}, 180_000);
afterAll(async () => engine?.dispose());

async function counted(settings: MethodSettings) {
  maps.length = 0;
  getDataCalls = 0;
  const door = engine.door!;
  const before = { count: door.readbacks.count, bytes: door.readbacks.bytes };
  const doorLabels: string[] = [];
  const read = door.readbacks.read.bind(door.readbacks);
  door.readbacks.read = (src, offset, bytes, label) => {
    doorLabels.push(`${label}:${bytes}`);
    return read(src, offset, bytes, label);
  };
  let result: GenerateResult;
  try {
    result = await engine.generate({
      image: { bytes: image, name: 'image.png' },
      question: golden.question,
      settings,
      options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
    });
  } finally {
    door.readbacks.read = read;
  }
  return {
    result,
    maps: [...maps],
    getDataCalls,
    doorLabels,
    doorCount: door.readbacks.count - before.count,
    doorBytes: door.readbacks.bytes - before.bytes,
  };
}

describe('read-backs during a 16-token greedy generation (WebGPU, llama-clip-gqa)', () => {
  it("method 'none': the first-step logits and 15 token ids, nothing else", async () => {
    const r = await counted({ method: 'none' });
    const vocab = r.result.firstStepLogits.length;
    const t = r.result.trace.timings;
    console.log(
      `none: ${r.maps.length} mapAsync (${r.maps.reduce((s, m) => s + m.size, 0)} B staged), ${r.getDataCalls} getData, door ${r.doorCount} reads / ${r.doorBytes} B; prefill ${t.prefillMs.toFixed(0)} ms (vision ${t.visionMs.toFixed(0)}, layers ${t.layerMs.map((x) => x.toFixed(0)).join('/')}, head ${t.headMs.toFixed(0)}), decode ${t.decodeStepMs.reduce((a, b) => a + b, 0).toFixed(0)} ms`,
    );
    expect(r.result.tokenIds).toEqual(golden.greedy16);
    expect(r.getDataCalls).toBe(1); // the first-step logits
    // The trace's phase timestamps: one read of all marks, when the clock is the GPU's.
    const marks = t.clock === 'gpu-timestamp' ? 5 + engine.model!.manifest.text.numLayers : 0;
    const clockReads = marks > 0 ? [`TimestampMarks.staging:${marks * 8}`] : [];
    expect(r.doorCount).toBe(15 + clockReads.length); // one token per decode step (+ the timestamps)
    expect(r.doorBytes).toBe(15 * 4 + marks * 8);
    expect(r.doorLabels).toEqual([...Array(15).fill('ArgmaxLogits.token:4'), ...clockReads]);
    expect(r.maps.length).toBe(16 + clockReads.length);
    const big = r.maps.filter((m) => m.size > 4 && m.label !== 'TimestampMarks.staging');
    expect(big.length).toBe(1);
    expect(big[0].size).toBeGreaterThanOrEqual(vocab * 4);
    expect(big[0].size).toBeLessThan(vocab * 4 + 256);
  }, 300_000);

  it("method 'sparsevlm' (budget 64): plus the pruning decisions and trace, each O(visual tokens)", async () => {
    const r = await counted({ method: 'sparsevlm', budget: 64 });
    const L = r.result.inputIds.length;
    const { hiddenSize: D, numKvHeads: Hkv, headDim: hd } = engine.model!.manifest.text;
    // Decisions and trace: the method's reads of kernel outputs, and the raters/rank kernels' own results.
    const trace = r.doorLabels.filter((l) =>
      /^(GpuPruneBackend\.read|RaterSelect\.staging|RankEstimate\.staging|TimestampMarks\.staging):/.test(l),
    );
    const tokens = r.doorLabels.filter((l) => l === 'ArgmaxLogits.token:4');
    console.log(
      `sparsevlm 64: ${r.maps.length} mapAsync, ${r.getDataCalls} getData, door ${r.doorCount} reads / ${r.doorBytes} B (${tokens.length} tokens, ${trace.length} trace: ${trace.join(' ')}); stages ${r.result.trace.stages.map((s) => `${s.visualIn}→${s.visualOut}`).join(', ')}`,
    );
    expect(r.result.trace.stages.length).toBeGreaterThan(0);
    expect(r.getDataCalls).toBe(1);
    expect(tokens.length).toBe(r.result.tokenIds.length - 1);
    expect(r.doorLabels.filter((l) => l.startsWith('TimestampMarks.staging:')).length).toBe(
      r.result.trace.timings.clock === 'gpu-timestamp' ? 1 : 0,
    );
    expect(trace.length + tokens.length).toBe(r.doorLabels.length);
    // Every GPU→CPU copy is the logits, a token, or a door read we can see.
    expect(r.maps.length).toBe(1 + r.doorCount);
    // The largest decision/trace read is a few values per token of the prompt (a stage reads
    // its scores, keep list, candidates and assignment in one readMany); one layer's
    // hidden (L·D·4) or key cache (Hkv·L·hd·4) is far larger, and nothing that size was read.
    const largest = Math.max(...trace.map((l) => Number(l.split(':')[1])));
    expect(largest).toBeLessThanOrEqual(4 * L * 4);
    expect(largest).toBeLessThan(Math.min(L * D * 4, Hkv * L * hd * 4) / 8);
  }, 300_000);
});
