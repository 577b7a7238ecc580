/**
 * The evaluation loop on the real engine (onnxruntime wasm, synthetic tiny package): every
 * generated dataset asked end to end; bad items recorded with their reasons; and a run stopped
 * half-way then resumed ends with the same results.json as an uninterrupted one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferQuickWasmCompile } from '../cli/shared/nodeGpu';
import type { Engine } from '../engine/engine';
import { FORMATS } from './formats';
import { parsePope } from './formats/pope';
import { parseMethodList } from './methods';
import { nodeDataSource } from './nodeSource';
import { runEvaluation, type EvalEngine } from './runner';
import { buildResults, resultsText } from './summary';
import {
  writeGqa,
  writeMmbench,
  writeMme,
  writePope,
  writeScienceQa,
  writeTextVqa,
  writeVqaV2,
} from './testing/datasets';
import { tinyPackage } from './testing/tinyPackage';
import type { FormatName, ItemRecord } from './types';

let engine: Engine;
let evalEngine: EvalEngine;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'eval-run-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  preferQuickWasmCompile(); // as the CLI does: V8's tier-up of onnxruntime's wasm costs more than it saves in a short run
  const dir = tinyPackage();
  const { Engine } = await import('../engine/engine');
  const { dirReader } = await import('../package/nodeSource');
  engine = await Engine.create({ preferBackend: 'wasm' });
  await engine.load(dirReader(dir));
  evalEngine = {
    generate: (r) =>
      engine.generate({
        image: r.image,
        question: r.prompt,
        settings: r.settings,
        options: { maxNewTokens: r.maxNewTokens, temperature: 0, topP: 1, seed: 0 },
        signal: r.signal,
      }),
  };
});
afterAll(async () => {
  await engine?.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function evaluate(
  name: FormatName,
  dir: string,
  methods: string,
  o: { existing?: ItemRecord[]; stopAfter?: number } = {},
) {
  const format = FORMATS[name];
  const { source, file } = nodeDataSource(dir);
  const items = await format.load(source, file);
  const specs = parseMethodList(methods);
  const records = [...(o.existing ?? [])];
  const stop = new AbortController();
  const outcome = await runEvaluation({
    format,
    items,
    methods: specs,
    source,
    engine: evalEngine,
    existing: o.existing ?? [],
    suffix: format.defaultSuffix,
    maxNewTokens: 3,
    signal: stop.signal,
    sink: async (r) => {
      records.push(r);
      if (o.stopAfter !== undefined && records.length >= o.stopAfter) stop.abort();
    },
  });
  const header = {
    format: name,
    data: 'generated',
    model: 'synthetic-tiny',
    suffix: format.defaultSuffix,
    maxNewTokens: 3,
    items: items.length,
  };
  return { outcome, records, items, results: buildResults(header, format, items, specs, records) };
}

describe('POPE through the engine', () => {
  it('asks every item under every method; a missing image, a cut-off line and an undecodable image are recorded with their reasons', async () => {
    const dir = tmp();
    writePope(dir, { splits: ['random'], perSplit: 3 });
    // An image file whose bytes are not an image: the engine refuses it, the run goes on.
    writeFileSync(join(dir, 'val2014', 'COCO_val2014_000000000003.jpg'), 'not an image');
    const { outcome, records, results } = await evaluate('pope', dir, 'none,sparsevlm:64');
    expect(outcome).toBe('done');
    expect(records).toHaveLength(5 * 2);
    const byId = (id: string, method = 'none') => records.find((r) => r.id === id && r.method === method)!;
    expect(byId('random:4').skipped).toMatch(/^image COCO_val2014_000000000999\.jpg not found in /);
    expect(byId('random:line5').skipped).toMatch(/coco_pope_random\.json: line 5 is not JSON/);
    expect(byId('random:3', 'sparsevlm:64').skipped).toMatch(/^the engine refused the item: /);
    for (const id of ['random:1', 'random:2']) {
      for (const method of ['none', 'sparsevlm:64']) {
        const r = byId(id, method);
        expect(typeof r.answer).toBe('string');
        expect(r.prediction).toBe(parsePope(r.answer!));
        expect(r.score).toBe(r.prediction === r.label ? 1 : 0);
        expect(r.speed!.prefillMs).toBeGreaterThan(0);
      }
      expect(byId(id).speed!.visualTokensLast).toBe(576);
      expect(byId(id, 'sparsevlm:64').speed!.visualTokensLast).toBeLessThan(64);
      expect(byId(id, 'sparsevlm:64').speed!.flops).toBeLessThan(byId(id).speed!.flops);
    }
    const [none, pruned] = results.methods;
    expect(none.scores).toMatchObject({ scored: 2, skipped: 3 });
    expect(pruned.scores.scored).toBe(2);
    expect(none.retention).toBe(none.scores.headline > 0 ? 1 : null);
    expect(pruned.cost.flops! / none.cost.flops!).toBeLessThan(0.5);
  });

  it('stopped after 3 of 6 requests and resumed: the same results.json as an uninterrupted run', async () => {
    const dir = tmp();
    writePope(dir, { splits: ['random'], perSplit: 3, awkward: false });
    const whole = await evaluate('pope', dir, 'none,sparsevlm:64');
    const first = await evaluate('pope', dir, 'none,sparsevlm:64', { stopAfter: 3 });
    expect(first.outcome).toBe('stopped');
    expect(first.records).toHaveLength(3);
    const second = await evaluate('pope', dir, 'none,sparsevlm:64', { existing: first.records });
    expect(second.outcome).toBe('done');
    expect(second.records).toHaveLength(whole.records.length);
    expect(resultsText(second.results)).toBe(resultsText(whole.results));
  });
});

describe('every format through the engine', () => {
  it.each([
    ['gqa', 'GQA', writeGqa, 4, 1],
    ['mme', 'MME', writeMme, 8, 2],
    ['vqa', 'VQAv2', writeVqaV2, 3, 1],
    ['vqa', 'TextVQA', writeTextVqa, 1, 0],
    ['mcq', 'ScienceQA', writeScienceQa, 2, 0],
    ['mcq', 'MMBench', writeMmbench, 3, 1],
  ] as const)(
    '%s (%s layout): every item answered and scored, or skipped with a reason',
    async (name, _layout, write, count, skippedCount) => {
      const dir = tmp();
      write(dir);
      const { records, results, items } = await evaluate(name, dir, 'none');
      expect(records).toHaveLength(count);
      expect(records.filter((r) => r.skipped).length).toBe(skippedCount);
      const format = FORMATS[name];
      for (const r of records.filter((x) => !x.skipped)) {
        const item = items.find((i) => i.id === r.id)!;
        expect(r.prediction).toBe(format.parse(r.answer!, item));
        expect(r.score).toBe(format.scoreItem(r.prediction!, item, r.answer!));
      }
      expect(results.methods[0].scores.scored).toBe(count - skippedCount);
    },
  );
});
