/**
 * POPE (Li et al. 2023): yes/no object-existence questions on COCO val2014, three splits
 * (random, popular, adversarial). Files as the POPE repository publishes them:
 * `coco_pope_<split>.json`, JSON Lines of {question_id, image, text, label: "yes"|"no"}
 * (a `category` field overrides the split from the name). A file with no `label` on any line —
 * LLaVA's llava_pope_test.jsonl beside the POPE files in its playground — is not read: the
 * labels are in the coco_pope_<split>.json files it was made from.
 * Images by file name (COCO_val2014_….jpg) anywhere under the folder or --images.
 *
 * Answer parsing is LLaVA's eval_pope.py: keep the text before the first '.', drop commas, split
 * on spaces; 'No', 'no' or 'not' among the words → no, anything else → yes. So an empty
 * answer counts as "yes", as it does there.
 * Metrics per split as eval_pope.py prints them (positive = yes): accuracy, precision, recall,
 * F1, yes-ratio. Headline: F1 averaged over the splits present (LLaVA-1.5's and SparseVLM's
 * Table 1 POPE figure). A ratio with a zero denominator is 0 (eval_pope.py would divide by zero).
 */
import { pickFile, readJsonLines, type DataSource } from '../source';
import type { EvalFormat, EvalItem, FormatScores, ItemRecord } from '../types';
import { isObject, scoredOf, SINGLE_WORD } from './common';

const splitOf = (path: string) =>
  /coco_pope_([a-z]+)/i.exec(path)?.[1] ?? path.replace(/^.*\//, '').replace(/\.jsonl?$/, '');

async function load(source: DataSource, file?: string): Promise<EvalItem[]> {
  const files = file
    ? [pickFile(source, file, () => true, 'POPE file')]
    : source.files.filter((p) => /\.jsonl?$/i.test(p) && /pope/i.test(p.replace(/^.*\//, '')));
  if (files.length === 0) pickFile(source, undefined, () => false, 'POPE question file (coco_pope_<split>.json)');
  const items: EvalItem[] = [];
  for (const path of files) {
    const lines = await readJsonLines(source, path);
    if (!file && !lines.some((l) => 'value' in l && isObject(l.value) && 'label' in l.value)) continue;
    for (const line of lines) {
      const where = `${path} line ${line.line}`;
      if ('error' in line) {
        items.push({
          id: `${splitOf(path)}:line${line.line}`,
          image: null,
          question: '',
          label: '',
          invalid: `${path}: ${line.error}`,
        });
        continue;
      }
      const v = line.value;
      const category = isObject(v) && typeof v.category === 'string' ? v.category : splitOf(path);
      const id = `${category}:${isObject(v) ? String(v.question_id ?? `line${line.line}`) : `line${line.line}`}`;
      const label = isObject(v) && typeof v.label === 'string' ? v.label.trim().toLowerCase() : '';
      if (
        !isObject(v) ||
        typeof v.text !== 'string' ||
        typeof v.image !== 'string' ||
        (label !== 'yes' && label !== 'no')
      ) {
        items.push({
          id,
          image: null,
          question: '',
          label,
          invalid: `${where}: needs text, image and label "yes"/"no"`,
        });
        continue;
      }
      items.push({ id, image: v.image, question: v.text, label, meta: { category } });
    }
  }
  return items;
}

export function parsePope(answer: string): 'yes' | 'no' {
  let text = answer.trim();
  if (text.includes('.')) text = text.split('.')[0];
  const words = text.split(',').join('').split(' ');
  return words.includes('No') || words.includes('not') || words.includes('no') ? 'no' : 'yes';
}

export interface PopeFigures {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  yesRatio: number;
  count: number;
}

/** The confusion-matrix figures of one split, in % (yes = positive). */
export function popeFigures(pairs: { prediction: string; label: string }[]): PopeFigures {
  let tp = 0,
    fp = 0,
    tn = 0,
    fn = 0;
  for (const { prediction, label } of pairs) {
    const yes = prediction === 'yes';
    if (label === 'yes') {
      if (yes) tp++;
      else fn++;
    } else if (yes) fp++;
    else tn++;
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  const f1 = ratio(2 * precision * recall, precision + recall);
  const n = pairs.length;
  return {
    accuracy: 100 * ratio(tp + tn, n),
    precision: 100 * precision,
    recall: 100 * recall,
    f1: 100 * f1,
    yesRatio: 100 * ratio(tp + fp, n),
    count: n,
  };
}

function summarise(records: ItemRecord[]): FormatScores {
  const scored = scoredOf(records);
  const splits = [...new Set(scored.map((r) => String(r.meta?.category ?? 'all')))].sort();
  const figures: Record<string, number> = {};
  const f1s: number[] = [];
  for (const split of splits) {
    const f = popeFigures(
      scored
        .filter((r) => String(r.meta?.category ?? 'all') === split)
        .map((r) => ({ prediction: r.prediction!, label: String(r.label) })),
    );
    f1s.push(f.f1);
    for (const [k, v] of Object.entries(f)) figures[`${split}.${k}`] = v;
  }
  const all = popeFigures(scored.map((r) => ({ prediction: r.prediction!, label: String(r.label) })));
  for (const [k, v] of Object.entries(all)) figures[`all.${k}`] = v;
  return {
    headline: f1s.length ? f1s.reduce((s, v) => s + v, 0) / f1s.length : 0,
    headlineName: 'F1 (mean over splits, %)',
    figures,
    scored: scored.length,
    skipped: records.length - scored.length,
  };
}

export const pope: EvalFormat = {
  name: 'pope',
  description:
    'POPE: coco_pope_<split>.json lines {question_id, image, text, label}; F1, accuracy, precision, recall, yes-ratio per split',
  defaultSuffix: SINGLE_WORD,
  load,
  parse: (answer) => parsePope(answer),
  scoreItem: (prediction, item) => (prediction === item.label ? 1 : 0),
  summarise,
};
