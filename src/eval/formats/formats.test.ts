/**
 * Each benchmark's loader on files in its published layout (testing/datasets.ts), its answer
 * parser on the awkward answers, and its metric against figures computed by hand in the
 * comments. No model here: runner.test.ts runs the same datasets through the engine.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeDataSource } from '../nodeSource';
import { promptFor } from '../runner';
import { ImageIndex } from '../source';
import {
  SAMPLE_IMAGES,
  writeGqa,
  writeMmbench,
  writeMme,
  writePope,
  writeScienceQa,
  writeTextVqa,
  writeVqaV2,
} from '../testing/datasets';
import type { EvalFormat, EvalItem, ItemRecord } from '../types';
import { FORMATS, formatByName } from './index';
import { parseLetter } from './mcq';
import { parseMme } from './mme';
import { parsePope } from './pope';

const dirs: string[] = [];
function dataset(write: (dir: string) => unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'eval-fmt-'));
  dirs.push(dir);
  write(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function load(format: EvalFormat, dir: string): Promise<{ items: EvalItem[]; index: ImageIndex }> {
  const { source, file } = nodeDataSource(dir);
  return { items: await format.load(source, file), index: new ImageIndex(source.files) };
}

/** A scored record as the runner makes it: parse, then score. */
function answered(format: EvalFormat, item: EvalItem, answer: string, method = 'none'): ItemRecord {
  const prediction = format.parse(answer, item);
  return {
    method,
    id: item.id,
    answer,
    prediction,
    label: item.label,
    score: format.scoreItem(prediction, item, answer),
    ...(item.meta ? { meta: item.meta } : {}),
  };
}
const skipped = (item: EvalItem): ItemRecord => ({
  method: 'none',
  id: item.id,
  label: item.label,
  skipped: 'image missing',
  ...(item.meta ? { meta: item.meta } : {}),
});

describe('POPE', () => {
  const pope = FORMATS.pope;

  it('reads coco_pope_<split>.json lines: split from the file name, a cut-off line kept as an invalid item; an unlabelled LLaVA question file beside them is left alone', async () => {
    const { items, index } = await load(
      pope,
      dataset((d) => {
        writePope(d, { splits: ['random', 'adversarial'], perSplit: 2 });
        writeFileSync(
          join(d, 'llava_pope_test.jsonl'),
          '{"question_id": 1, "image": "COCO_val2014_000000000001.jpg", "text": "Is there a circle in the image?", "category": "random"}\n',
        );
      }),
    );
    expect(items.map((i) => i.id)).toEqual([
      'adversarial:1',
      'adversarial:2',
      'random:1',
      'random:2',
      'random:3',
      'random:line4',
    ]);
    expect(items[2]).toMatchObject({
      image: 'COCO_val2014_000000000001.jpg',
      question: 'Is there a circle in the image?',
      label: 'yes',
      meta: { category: 'random' },
    });
    expect(items[5].invalid).toMatch(/coco_pope_random\.json: line 4 is not JSON/);
    expect(index.find(items[2].image!)).toBe('val2014/COCO_val2014_000000000001.jpg');
    expect(index.find(items[4].image!)).toBeNull(); // the missing image
    expect(promptFor(pope, items[2], pope.defaultSuffix)).toBe(
      'Is there a circle in the image?\nAnswer the question using a single word or phrase.',
    );
  });

  it("parses answers as LLaVA's eval_pope.py: first sentence, No/no/not as words, everything else (even '') yes", () => {
    expect(
      [
        'Yes',
        'No',
        'No, there is not.',
        'There is no dog.',
        'no.',
        'Yes. But no.',
        '',
        'Not really',
        'nope',
        'It is not there',
      ].map(parsePope),
    ).toEqual(['yes', 'no', 'no', 'no', 'no', 'yes', 'yes', 'yes', 'yes', 'no']);
  });

  it('scores accuracy, precision, recall, F1 and yes-ratio per split; headline = mean F1', () => {
    const item = (split: string, n: number, label: string): EvalItem => ({
      id: `${split}:${n}`,
      image: 'x.jpg',
      question: 'q',
      label,
      meta: { category: split },
    });
    // random: predictions yes, yes, no, no, yes against labels yes, no, no, yes, yes
    //   TP 2 (1st, 5th), FP 1, TN 1, FN 1 → accuracy 3/5, precision 2/3, recall 2/3, F1 2/3, yes-ratio 3/5.
    const random = [
      ['Yes', 'yes'],
      ['Yes', 'no'],
      ['No', 'no'],
      ['No', 'yes'],
      ['', 'yes'],
    ].map(([a, l], i) => answered(pope, item('random', i, l), a));
    // adversarial: no, no against yes, no → TP 0, FP 0, TN 1, FN 1 → accuracy 1/2, precision 0 (0/0), recall 0, F1 0, yes-ratio 0.
    const adversarial = [
      ['No', 'yes'],
      ['no', 'no'],
    ].map(([a, l], i) => answered(pope, item('adversarial', i, l), a));
    const s = pope.summarise([...random, ...adversarial, skipped(item('random', 9, 'no'))]);
    expect(s.figures['random.accuracy']).toBeCloseTo(60, 10);
    expect(s.figures['random.precision']).toBeCloseTo(200 / 3, 10);
    expect(s.figures['random.recall']).toBeCloseTo(200 / 3, 10);
    expect(s.figures['random.f1']).toBeCloseTo(200 / 3, 10);
    expect(s.figures['random.yesRatio']).toBeCloseTo(60, 10);
    expect(s.figures['adversarial.accuracy']).toBe(50);
    expect(s.figures['adversarial.precision']).toBe(0);
    expect(s.figures['adversarial.f1']).toBe(0);
    expect(s.figures['adversarial.yesRatio']).toBe(0);
    // pooled: TP 2, FP 1, TN 2, FN 2 over 7 → accuracy 4/7, yes-ratio 3/7.
    expect(s.figures['all.accuracy']).toBeCloseTo(400 / 7, 10);
    expect(s.figures['all.yesRatio']).toBeCloseTo(300 / 7, 10);
    expect(s.headline).toBeCloseTo(100 / 3, 10);
    expect(s).toMatchObject({ scored: 7, skipped: 1 });
  });
});

describe('MME', () => {
  const mme = FORMATS.mme;

  it('reads the release layout (images/ + questions_answers_YN/, and txt beside the image); prompt drops "Please answer yes or no."', async () => {
    const { items, index } = await load(mme, dataset(writeMme));
    expect(items.map((i) => i.id)).toEqual([
      'code_reasoning/0001.png#0',
      'code_reasoning/0001.png#1',
      'code_reasoning/0002#0',
      'code_reasoning/0002#1',
      'existence/000000006040.jpg#0',
      'existence/000000006040.jpg#1',
      'existence/000000007777.jpg#0',
      'existence/000000007777.jpg#1',
    ]);
    expect(items[4]).toMatchObject({
      label: 'yes',
      meta: { category: 'existence', imageKey: 'existence/000000006040.jpg' },
    });
    expect(index.find(items[4].image!)).toBe('MME_Benchmark_release_version/existence/images/000000006040.jpg');
    expect(index.find(items[2].image!)).toBeNull(); // 0002 has no picture
    expect(promptFor(mme, items[4], mme.defaultSuffix)).toBe(
      'Is there a circle in this image?\nAnswer the question using a single word or phrase.',
    );
    expect(promptFor(mme, items[4], '')).toBe('Is there a circle in this image? Please answer yes or no.');
  });

  it("reads the eval tool's per-category files (image<TAB>question<TAB>answer, images under <category>/)", async () => {
    const { items, index } = await load(
      mme,
      dataset((d) => {
        writeFileSync(
          join(d, 'OCR.txt'),
          'a.png\tIs the word "cat"? Please answer yes or no.\tYes\na.png\tIs the word "dog"? Please answer yes or no.\tNo\nb.png\tIs it red?\tmaybe\n',
        );
        mkdirSync(join(d, 'OCR'));
        writeFileSync(join(d, 'OCR', 'a.png'), SAMPLE_IMAGES[0]);
      }),
    );
    expect(items.map((i) => [i.id, i.label, i.meta?.category])).toEqual([
      ['OCR/a.png#0', 'yes', 'OCR'],
      ['OCR/a.png#1', 'no', 'OCR'],
      ['OCR/b.png#0', 'maybe', undefined],
    ]);
    expect(index.find(items[0].image!)).toBe('OCR/a.png');
    expect(items[2].invalid).toMatch(/OCR\.txt line 3: needs "question<TAB>yes\|no"/);
  });

  it("parses as the eval tool: yes/no, else yes/no within the first 4 characters, else 'other'", () => {
    expect(['Yes', 'no', 'No, it is not.', 'I think yes', 'nope', '', 'Not at all', 'Yes.'].map(parseMme)).toEqual([
      'yes',
      'no',
      'no',
      'other',
      'no',
      'other',
      'no',
      'yes',
    ]);
  });

  it('scores accuracy + accuracy+ per category with per-image pairs; perception + cognition', () => {
    const item = (category: string, image: string, k: number, label: string): EvalItem => ({
      id: `${category}/${image}#${k}`,
      image,
      question: 'q',
      label,
      meta: { category, imageKey: `${category}/${image}` },
    });
    const records = [
      // existence, image A: both right; image B: second wrong → accuracy 3/4 = 75, accuracy+ 1/2 = 50 → 125.
      answered(mme, item('existence', 'A', 0, 'yes'), 'Yes'),
      answered(mme, item('existence', 'A', 1, 'no'), 'No'),
      answered(mme, item('existence', 'B', 0, 'yes'), 'Yes'),
      answered(mme, item('existence', 'B', 1, 'no'), 'Yes'),
      // code_reasoning, image C: 'other' then right → accuracy 1/2 = 50, accuracy+ 0/1 = 0 → 50;
      // image D skipped: out of both (no scored question, no whole pair).
      answered(mme, item('code_reasoning', 'C', 0, 'yes'), 'Maybe'),
      answered(mme, item('code_reasoning', 'C', 1, 'no'), 'no'),
      skipped(item('code_reasoning', 'D', 0, 'no')),
      skipped(item('code_reasoning', 'D', 1, 'yes')),
    ];
    const s = mme.summarise(records);
    expect(s.figures).toMatchObject({
      'existence.accuracy': 75,
      'existence.accuracyPlus': 50,
      'existence.score': 125,
      'code_reasoning.accuracy': 50,
      'code_reasoning.accuracyPlus': 0,
      'code_reasoning.score': 50,
      perception: 125,
      cognition: 50,
    });
    expect(s).toMatchObject({ headline: 175, scored: 6, skipped: 2 });
  });
});

describe('GQA', () => {
  const gqa = FORMATS.gqa;
  it('reads testdev_balanced_questions.json; exact match after rstrip(".") and lower-casing', async () => {
    const { items, index } = await load(gqa, dataset(writeGqa));
    expect(items.map((i) => [i.id, i.image, i.label])).toEqual([
      ['201', 'n100.jpg', 'yes'],
      ['202', 'n200.jpg', 'sun'],
      ['203', 'n300.jpg', 'right'],
      ['204', 'n999.jpg', 'brown'],
    ]);
    expect(index.find('n100.jpg')).toBe('images/n100.jpg');
    expect(['Yes.', ' Right.. ', 'The sun', ''].map((a) => gqa.parse(a, items[0]))).toEqual([
      'yes',
      'right',
      'the sun',
      '',
    ]);
    // 'Yes.' right, 'The sun' wrong (exact match), 'Right..' right, 204 skipped → 2/3.
    const s = gqa.summarise([
      answered(gqa, items[0], 'Yes.'),
      answered(gqa, items[1], 'The sun'),
      answered(gqa, items[2], 'Right..'),
      skipped(items[3]),
    ]);
    expect(s.headline).toBeCloseTo(200 / 3, 10);
    expect(s.figures).toEqual({ 'accuracy.choose': 100, 'accuracy.query': 0, 'accuracy.verify': 100 });
    expect(answered(gqa, items[0], '').score).toBe(0); // empty answer
  });
});

describe('VQA', () => {
  const vqa = FORMATS.vqa;
  it('reads VQAv2 questions + annotations (COCO image names from data_subtype) and TextVQA', async () => {
    const v2 = await load(vqa, dataset(writeVqaV2));
    expect(v2.items.map((i) => [i.id, i.image])).toEqual([
      ['10', 'COCO_val2014_000000000001.jpg'],
      ['20', 'COCO_val2014_000000000002.jpg'],
      ['30', 'COCO_val2014_000000000999.jpg'],
    ]);
    expect(v2.items[0].label).toHaveLength(10);
    const text = await load(vqa, dataset(writeTextVqa));
    expect(text.items).toMatchObject([
      { id: '34602', image: 'abc123.jpg', question: 'what is the title of the chart?' },
    ]);
    expect(text.index.find('abc123.jpg')).toBe('train_images/abc123.jpg');
  });

  it('soft accuracy per item with the answer normalisation (hand-computed)', async () => {
    const { items } = await load(vqa, dataset(writeVqaV2));
    const [count, sky] = items; // ground truths: nine '2' (three written 'two') and one '3'; nine 'sun' (one 'the sun') and 'clouds'
    expect(answered(vqa, count, 'Two.').score).toBe(1); // → '2': 9 matches
    expect(answered(vqa, count, '3').score).toBeCloseTo(0.3, 12); // the '3' annotator: 0/3; the 9 others: 1/3 each → 9/30
    expect(answered(vqa, sky, 'The Sun').score).toBe(1);
    expect(answered(vqa, sky, 'clouds').score).toBeCloseTo(0.3, 12);
    expect(answered(vqa, sky, '').score).toBe(0); // empty answer
    const s = vqa.summarise([answered(vqa, count, '2'), answered(vqa, sky, 'clouds'), skipped(items[2])]);
    expect(s.headline).toBeCloseTo(65, 10); // (1 + 0.3) / 2
    expect(s).toMatchObject({ scored: 2, skipped: 1 });
  });
});

describe('multiple choice', () => {
  const mcq = FORMATS.mcq;
  it('reads ScienceQA problems.json: image problems of the test split, LLaVA prompt, images/test/<pid>/image.png', async () => {
    const { items, index } = await load(mcq, dataset(writeScienceQa));
    expect(items.map((i) => [i.id, i.label])).toEqual([
      ['5', 'A'],
      ['9', 'A'],
    ]);
    expect(promptFor(mcq, items[0], mcq.defaultSuffix)).toBe(
      "Context: Look at the picture.\nWhich shape is red?\nA. circle\nB. square\nC. triangle\nAnswer with the option's letter from the given choices directly.",
    );
    expect(items[1].question).toBe('Is it day or night?\nA. day\nB. night');
    expect(index.find(items[0].image!)).toBe('images/test/5/image.png');
    expect(index.find(items[1].image!)).toBe('images/test/9/image.png');
  });

  it('reads an MMBench TSV: options present, a quoted multi-line hint, base64 images; a row without one is invalid', async () => {
    const { items } = await load(mcq, dataset(writeMmbench));
    expect(items.map((i) => [i.id, i.label, i.meta?.options])).toEqual([
      ['1', 'A', ['A', 'B', 'C']],
      ['2', 'A', ['A', 'B']],
      ['3', 'B', ['A', 'B']],
    ]);
    expect(items[1].question).toBe('A chart\nwith bars.\nWhat does the chart show?\nA. sales\nB. weather');
    expect(items[0].inlineImage!.bytes.subarray(1, 4)).toEqual(new TextEncoder().encode('PNG'));
    expect(items[2].invalid).toMatch(/row 4 has no base64 image/);
  });

  it("parses letters as LLaVA's eval_science_qa.py and scores letter accuracy", () => {
    const opts = ['A', 'B', 'C'];
    expect(
      ['A', 'B. square', 'The answer is C.', 'The answer is A. The answer is B.', 'a', '', 'E', 'A)'].map((a) =>
        parseLetter(a, opts),
      ),
    ).toEqual(['A', 'B', 'C', '', '', '', '', '']);
    const item = (id: string, label: string): EvalItem => ({
      id,
      image: 'x',
      question: 'q',
      label,
      meta: { options: opts, category: id < '3' ? 'x' : 'y' },
    });
    // right, wrong, right, failed → 2/4.
    const s = mcq.summarise([
      answered(mcq, item('1', 'A'), 'A'),
      answered(mcq, item('2', 'B'), 'C'),
      answered(mcq, item('3', 'C'), 'C. triangle'),
      answered(mcq, item('4', 'A'), ''),
    ]);
    expect(s.headline).toBe(50);
    expect(s.figures).toEqual({ 'accuracy.x': 50, 'accuracy.y': 50 });
  });
});

it('an unknown format names the known ones', () => {
  expect(() => formatByName('vqav3')).toThrow('unknown format "vqav3"; known: pope, gqa, mme, vqa, mcq');
});
