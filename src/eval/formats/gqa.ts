/**
 * GQA (Hudson & Manning 2019), balanced split: `testdev_balanced_questions.json`, one object
 * keyed by question id → {imageId, question, answer, types: {structural, semantic, detailed}, …};
 * images `images/<imageId>.jpg`. LLaVA's convert_gqa_for_eval.py makes the prediction
 * `answer.rstrip('.').lower()` and GQA's eval.py counts exact matches: accuracy in %. Also the
 * accuracy per structural type (verify, query, choose, logical, compare) from the same records.
 */
import { EvalDataError, pickFile, readJson, type DataSource } from '../source';
import type { EvalFormat, EvalItem, ItemRecord } from '../types';
import { accuracyScores, groupAccuracy, isObject, SINGLE_WORD } from './common';

async function load(source: DataSource, file?: string): Promise<EvalItem[]> {
  const path = pickFile(
    source,
    file,
    (p) => /questions.*\.json$/i.test(p.replace(/^.*\//, '')),
    'GQA questions file (*questions*.json)',
  );
  const data = await readJson(source, path);
  if (!isObject(data)) throw new EvalDataError(path, 'expected one object keyed by question id');
  return Object.entries(data).map(([id, q]): EvalItem => {
    if (
      !isObject(q) ||
      typeof q.question !== 'string' ||
      typeof q.imageId !== 'string' ||
      typeof q.answer !== 'string'
    ) {
      return {
        id,
        image: null,
        question: '',
        label: '',
        invalid: `${path}: question ${id} needs imageId, question and answer`,
      };
    }
    const structural = isObject(q.types) && typeof q.types.structural === 'string' ? q.types.structural : undefined;
    return {
      id,
      image: `${q.imageId}.jpg`,
      question: q.question,
      label: q.answer,
      meta: structural ? { structural } : undefined,
    };
  });
}

/** LLaVA's GQA prediction: trailing periods stripped, lower-cased (after the loader's strip()). */
export const parseGqa = (answer: string) => answer.trim().replace(/\.+$/, '').toLowerCase();

export const gqa: EvalFormat = {
  name: 'gqa',
  description: 'GQA: *questions*.json {qid: {imageId, question, answer}} + images/<imageId>.jpg; exact-match accuracy',
  defaultSuffix: SINGLE_WORD,
  load,
  parse: parseGqa,
  scoreItem: (prediction, item) => (prediction === item.label ? 1 : 0),
  summarise: (records: ItemRecord[]) =>
    accuracyScores(
      records,
      'accuracy (%)',
      groupAccuracy(records, (r) => r.meta?.structural as string | undefined),
    ),
};
