/**
 * Open-ended VQA with 10 human answers per question, scored by soft accuracy (vqaNormalize.ts).
 * Two published layouts:
 *  - VQAv2: a questions file {data_subtype, questions: [{question_id, image_id, question}]} and an
 *    annotations file {annotations: [{question_id, answers: [{answer}…]}]}; images
 *    COCO_<data_subtype>_<image_id, 12 digits>.jpg. (Table 1's VQAv2 column is test-dev, whose
 *    answers are private: locally only val2014 can be scored.)
 *  - TextVQA: TextVQA_0.5.1_val.json {data: [{question_id, image_id, question, answers: [10]}]};
 *    images <image_id>.jpg (train_images/).
 * Headline: mean soft accuracy in %. LLaVA-1.5's TextVQA prompt also lists Rosetta OCR tokens
 * ("Reference OCR token: …"); we send the question alone (README says what that changes).
 */
import { EvalDataError, readJson, type DataSource } from '../source';
import type { EvalFormat, EvalItem, ItemRecord } from '../types';
import { normalizeVqaAnswer, vqaSoftAccuracy } from '../vqaNormalize';
import { accuracyScores, isObject, SINGLE_WORD } from './common';

async function jsonFiles(
  source: DataSource,
  file?: string,
): Promise<{ path: string; data: Record<string, unknown> }[]> {
  const paths = file ? [file] : source.files.filter((p) => p.toLowerCase().endsWith('.json'));
  const out: { path: string; data: Record<string, unknown> }[] = [];
  for (const path of paths) {
    const data = await readJson(source, path).catch((e) => {
      if (file) throw e;
      return null;
    });
    if (isObject(data)) out.push({ path, data });
  }
  return out;
}

const invalid = (id: string, reason: string): EvalItem => ({
  id,
  image: null,
  question: '',
  label: [],
  invalid: reason,
});

async function load(source: DataSource, file?: string): Promise<EvalItem[]> {
  const jsons = await jsonFiles(source);
  const chosen = file ? jsons.filter((j) => j.path === file) : jsons;
  const textvqa = chosen.find((j) => Array.isArray(j.data.data));
  const questions = chosen.find((j) => Array.isArray(j.data.questions));
  if (textvqa && !questions) {
    return (textvqa.data.data as unknown[]).map((q, i) => {
      if (!isObject(q) || typeof q.question !== 'string' || q.image_id === undefined || !Array.isArray(q.answers))
        return invalid(`row${i}`, `${textvqa.path}: entry ${i} needs question, image_id and answers`);
      return {
        id: String(q.question_id ?? `row${i}`),
        image: `${String(q.image_id)}.jpg`,
        question: q.question,
        label: q.answers.map(String),
      };
    });
  }
  if (!questions)
    throw new EvalDataError(source.label, 'no VQA question file found (VQAv2 {questions: […]} or TextVQA {data: […]})');
  const annotations = jsons.find((j) => Array.isArray(j.data.annotations));
  if (!annotations)
    throw new EvalDataError(
      source.label,
      `${questions.path} has no answers: put the matching annotations file ({annotations: […]}) beside it`,
    );
  const answersById = new Map<string, string[]>();
  for (const a of annotations.data.annotations as unknown[]) {
    if (isObject(a) && Array.isArray(a.answers))
      answersById.set(
        String(a.question_id),
        a.answers.map((x) => (isObject(x) ? String(x.answer) : String(x))),
      );
  }
  const subtype = typeof questions.data.data_subtype === 'string' ? questions.data.data_subtype : 'val2014';
  return (questions.data.questions as unknown[]).map((q, i) => {
    if (!isObject(q) || typeof q.question !== 'string' || q.image_id === undefined)
      return invalid(`row${i}`, `${questions.path}: entry ${i} needs question and image_id`);
    const id = String(q.question_id ?? `row${i}`);
    const answers = answersById.get(id);
    if (!answers) return invalid(id, `${annotations.path} has no answers for question ${id}`);
    return {
      id,
      image: `COCO_${subtype}_${String(q.image_id).padStart(12, '0')}.jpg`,
      question: q.question,
      label: answers,
    };
  });
}

export const vqa: EvalFormat = {
  name: 'vqa',
  description:
    'VQAv2 (questions + annotations JSON) or TextVQA (TextVQA_0.5.1_*.json); soft accuracy with the official answer normalisation',
  defaultSuffix: SINGLE_WORD,
  load,
  parse: (answer) => normalizeVqaAnswer(answer),
  // Soft accuracy normalises the raw answer and the ground truths alike.
  scoreItem: (_prediction, item, answer) => vqaSoftAccuracy(answer, item.label as string[]),
  summarise: (records: ItemRecord[]) => accuracyScores(records, 'soft accuracy (%)'),
};
