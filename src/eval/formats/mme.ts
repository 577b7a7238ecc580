/**
 * MME (Fu et al. 2023): 14 subtasks of yes/no questions, two per image (one "yes", one "no").
 * Files as released (MME_Benchmark_release_version): a folder per category holding either
 * `images/` + `questions_answers_YN/<image stem>.txt`, or the images and their .txt side by
 * side; each txt line is `question<TAB>answer`. The eval tool's per-category files
 * (`<category>.txt`, lines `image<TAB>question<TAB>answer`, images under `<category>/`) are read too.
 *
 * Prompt as LLaVA-1.5's llava_mme.jsonl and lmms-eval make it: the question without its
 * " Please answer yes or no.", then the suffix (with an empty suffix the question is kept whole).
 * Answer parsing as the eval tool's calculation.py: lower-case; "yes"/"no" as is; else "yes" or
 * "no" within the first 4 characters; else "other" (always wrong).
 * Score per category = accuracy + accuracy+ (both in %; accuracy+ = images whose two questions
 * are both right); perception = Σ of the 10 perception categories, cognition = Σ of the 4
 * cognition ones, headline = perception + cognition (Table 1's MME column). With items skipped,
 * accuracy counts the scored questions and accuracy+ the images whose questions were all scored.
 */
import { ImageIndex, readText, type DataSource } from '../source';
import type { EvalFormat, EvalItem, FormatScores, ItemRecord } from '../types';
import { scoredOf, SINGLE_WORD } from './common';

export const PERCEPTION = [
  'existence',
  'count',
  'position',
  'color',
  'posters',
  'celebrity',
  'scene',
  'landmark',
  'artwork',
  'OCR',
];
export const COGNITION = ['commonsense_reasoning', 'numerical_calculation', 'text_translation', 'code_reasoning'];
const ASK_YES_NO = /\s*Please answer yes or no\.?\s*$/i;

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const stemOf = (name: string) => (name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : name);

function item(
  category: string,
  imageRef: string | null,
  imageKey: string,
  index: number,
  line: string,
  where: string,
): EvalItem {
  const [question, answer] = line.split('\t').map((s) => s.trim());
  const label = (answer ?? '').toLowerCase();
  const id = `${imageKey}#${index}`;
  if (!question || (label !== 'yes' && label !== 'no')) {
    return { id, image: null, question: question ?? '', label, invalid: `${where}: needs "question<TAB>yes|no"` };
  }
  return { id, image: imageRef, question, label, meta: { category, imageKey } };
}

async function load(source: DataSource, file?: string): Promise<EvalItem[]> {
  const index = new ImageIndex(source.files);
  const txts = source.files.filter(
    (p) => p.toLowerCase().endsWith('.txt') && (!file || p === file || p.startsWith(`${file}/`)),
  );
  const items: EvalItem[] = [];
  for (const path of txts) {
    const lines = (await readText(source, path)).split(/\r?\n/).filter((l) => l.trim());
    if (lines.length === 0) continue;
    if (lines[0].split('\t').length >= 3) {
      // Eval-tool layout: <category>.txt with image<TAB>question<TAB>answer.
      const category = stemOf(nameOf(path));
      const seen = new Map<string, number>();
      lines.forEach((line, i) => {
        const [image, ...rest] = line.split('\t');
        const key = `${category}/${image.trim()}`;
        const k = seen.get(key) ?? 0;
        seen.set(key, k + 1);
        const ref = index.find(image.trim(), category) ?? index.find(`images/${image.trim()}`, category);
        items.push(
          item(category, ref ?? `${category}/${image.trim()}`, key, k, rest.join('\t'), `${path} line ${i + 1}`),
        );
      });
      continue;
    }
    // Release layout: the txt beside its image, or in questions_answers_YN/ beside images/.
    let dir = dirOf(path);
    if (nameOf(dir) === 'questions_answers_YN') dir = dirOf(dir);
    const category = nameOf(dir) || 'mme';
    const stem = stemOf(nameOf(path));
    const image = index.find(stem, dir) ?? index.find(`images/${stem}`, dir);
    const key = `${category}/${image ? nameOf(image) : stem}`;
    lines.forEach((line, i) =>
      items.push(item(category, image ?? `${dir ? `${dir}/` : ''}${stem}.jpg`, key, i, line, `${path} line ${i + 1}`)),
    );
  }
  if (items.length === 0)
    throw new Error(
      `${source.label}: no MME question files found (<category>/questions_answers_YN/*.txt, <category>/*.txt or <category>.txt)`,
    );
  return items;
}

export function parseMme(answer: string): 'yes' | 'no' | 'other' {
  const text = answer.toLowerCase().trim();
  if (text === 'yes' || text === 'no') return text;
  const prefix = text.slice(0, 4);
  return prefix.includes('yes') ? 'yes' : prefix.includes('no') ? 'no' : 'other';
}

/** One category's score: accuracy + accuracy+ (each in %), with its parts. */
export function mmeCategoryScore(records: ItemRecord[]): {
  score: number;
  accuracy: number;
  accuracyPlus: number;
  images: number;
} {
  const scored = scoredOf(records);
  const accuracy = scored.length ? (100 * scored.filter((r) => r.score === 1).length) / scored.length : 0;
  const byImage = new Map<string, ItemRecord[]>();
  for (const r of records)
    byImage.set(String(r.meta?.imageKey ?? r.id), [...(byImage.get(String(r.meta?.imageKey ?? r.id)) ?? []), r]);
  const whole = [...byImage.values()].filter((rs) => rs.every((r) => r.skipped === undefined && r.score !== undefined));
  const accuracyPlus = whole.length
    ? (100 * whole.filter((rs) => rs.every((r) => r.score === 1)).length) / whole.length
    : 0;
  return { score: accuracy + accuracyPlus, accuracy, accuracyPlus, images: whole.length };
}

function summarise(records: ItemRecord[]): FormatScores {
  const byCategory = new Map<string, ItemRecord[]>();
  for (const r of records) {
    const c = String(r.meta?.category ?? 'unknown');
    byCategory.set(c, [...(byCategory.get(c) ?? []), r]);
  }
  const figures: Record<string, number> = {};
  let perception = 0,
    cognition = 0;
  for (const c of [...byCategory.keys()].sort()) {
    const s = mmeCategoryScore(byCategory.get(c)!);
    figures[`${c}.score`] = s.score;
    figures[`${c}.accuracy`] = s.accuracy;
    figures[`${c}.accuracyPlus`] = s.accuracyPlus;
    if (PERCEPTION.includes(c)) perception += s.score;
    if (COGNITION.includes(c)) cognition += s.score;
  }
  figures.perception = perception;
  figures.cognition = cognition;
  const scored = scoredOf(records).length;
  return {
    headline: perception + cognition,
    headlineName: 'score (perception + cognition)',
    figures,
    scored,
    skipped: records.length - scored,
  };
}

export const mme: EvalFormat = {
  name: 'mme',
  description:
    'MME: <category>/ images + question<TAB>answer txt per image; score = accuracy + accuracy+ per category, perception + cognition',
  defaultSuffix: SINGLE_WORD,
  load,
  prompt: (item, suffix) => (suffix ? `${item.question.replace(ASK_YES_NO, '')}\n${suffix}` : item.question),
  parse: (answer) => parseMme(answer),
  scoreItem: (prediction, item) => (prediction === item.label ? 1 : 0),
  summarise,
};
