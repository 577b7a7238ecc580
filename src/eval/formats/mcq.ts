/**
 * Multiple choice, scored by the letter (SQA-IMG and MMBench columns of Table 1). Two layouts:
 *  - ScienceQA: `problems.json` {pid: {question, choices[], answer (index), hint, image, split}};
 *    the image-bearing problems of the test split (of every split when there is no test one),
 *    images `<split>/<pid>/<image>` under the folder (ScienceQA's images/ tree).
 *  - MMBench: a .tsv with columns index, question, hint, A…E, answer, image (base64), category.
 * Prompt as LLaVA-1.5's eval (model_vqa_science / model_vqa_mmbench): "Context: <hint>\n" for
 * ScienceQA (MMBench: "<hint>\n"), the question, then one "L. option" line per option, then the
 * suffix. Parsing as LLaVA's eval_science_qa.py: the answer is a letter; or starts with "L. ";
 * or says "The answer is L." exactly once; else FAILED (wrong). MMBench's own scorer (circular
 * evaluation over option rotations, a ChatGPT matcher) is not reproduced: single pass, letters.
 */
import { tsvParse } from 'd3';
import { pickFile, readJson, readText, type DataSource } from '../source';
import type { EvalFormat, EvalItem, ItemRecord } from '../types';
import { accuracyScores, groupAccuracy, isObject, OPTION_LETTER } from './common';

const LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text.replace(/\s+/g, ''));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function loadScienceQa(source: DataSource, path: string): Promise<EvalItem[]> {
  const data = await readJson(source, path);
  if (!isObject(data)) throw new Error(`${path}: expected one object keyed by problem id`);
  const problems = Object.entries(data).filter(([, p]) => isObject(p) && p.image);
  const hasTest = problems.some(([, p]) => (p as Record<string, unknown>).split === 'test');
  return problems
    .filter(([, p]) => !hasTest || (p as Record<string, unknown>).split === 'test')
    .map(([pid, raw]): EvalItem => {
      const p = raw as Record<string, unknown>;
      const choices = Array.isArray(p.choices) ? p.choices.map(String) : [];
      const answer = typeof p.answer === 'number' ? LETTERS[p.answer] : undefined;
      if (typeof p.question !== 'string' || choices.length < 2 || !answer) {
        return {
          id: pid,
          image: null,
          question: '',
          label: '',
          invalid: `${path}: problem ${pid} needs question, choices and answer index`,
        };
      }
      const hint = typeof p.hint === 'string' && p.hint.trim() ? `Context: ${p.hint.trim()}\n` : '';
      const options = choices.map((c, i) => `${LETTERS[i]}. ${c}`).join('\n');
      return {
        id: pid,
        image: `${String(p.split ?? 'test')}/${pid}/${String(p.image)}`,
        question: `${hint}${p.question}\n${options}`,
        label: answer,
        meta: {
          options: LETTERS.slice(0, choices.length),
          ...(typeof p.subject === 'string' ? { category: p.subject } : {}),
        },
      };
    });
}

async function loadMmbench(source: DataSource, path: string): Promise<EvalItem[]> {
  const rows = tsvParse(await readText(source, path));
  return rows.map((row, i): EvalItem => {
    const id = row.index ?? `row${i}`;
    const options = LETTERS.filter((l) => row[l] !== undefined && row[l] !== '' && row[l] !== 'nan');
    const answer = (row.answer ?? '').trim();
    if (!row.question || options.length < 2 || !options.includes(answer)) {
      return {
        id,
        image: null,
        question: '',
        label: answer,
        invalid: `${path}: row ${i + 2} needs question, options A, B… and an answer letter among them`,
      };
    }
    const hint = row.hint && row.hint !== 'nan' ? `${row.hint}\n` : '';
    const question = `${hint}${row.question}\n${options.map((l) => `${l}. ${row[l]}`).join('\n')}`;
    const item: EvalItem = {
      id,
      image: null,
      question,
      label: answer,
      meta: { options, ...(row.category ? { category: row.category } : {}) },
    };
    if (!row.image || row.image.length < 64) return { ...item, invalid: `${path}: row ${i + 2} has no base64 image` };
    try {
      item.inlineImage = { bytes: base64Bytes(row.image), name: `${id}.jpg` };
    } catch {
      return { ...item, invalid: `${path}: row ${i + 2}: the image column is not base64` };
    }
    return item;
  });
}

async function load(source: DataSource, file?: string): Promise<EvalItem[]> {
  const path = pickFile(
    source,
    file,
    (p) => /(^|\/)problems\.json$/i.test(p) || /\.tsv$/i.test(p),
    'multiple-choice file (ScienceQA problems.json or an MMBench .tsv)',
  );
  return path.toLowerCase().endsWith('.tsv') ? loadMmbench(source, path) : loadScienceQa(source, path);
}

/** LLaVA's eval_science_qa.py letter rule; '' when it fails. */
export function parseLetter(answer: string, options: readonly string[]): string {
  const text = answer.trim();
  if (options.includes(text)) return text;
  if (text.length >= 3 && options.includes(text[0]) && text.slice(1, 3) === '. ') return text[0];
  const said = [...text.matchAll(/The answer is ([A-Z])\./g)].map((m) => m[1]);
  return said.length === 1 ? said[0] : '';
}

export const mcq: EvalFormat = {
  name: 'mcq',
  description:
    'multiple choice: ScienceQA problems.json + images/<split>/<pid>/, or an MMBench .tsv (base64 images); letter accuracy',
  defaultSuffix: OPTION_LETTER,
  load,
  parse: (answer, item) => parseLetter(answer, (item.meta?.options as string[] | undefined) ?? LETTERS),
  scoreItem: (prediction, item) => (prediction !== '' && prediction === item.label ? 1 : 0),
  summarise: (records: ItemRecord[]) =>
    accuracyScores(
      records,
      'accuracy (%)',
      groupAccuracy(records, (r) => r.meta?.category as string | undefined),
    ),
};
