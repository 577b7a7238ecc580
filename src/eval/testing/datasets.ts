/**
 * Small datasets in each benchmark's published layout, for the tests and the e2e spec (Node
 * only). Images are the app's sample PNGs under the names the benchmarks use. Each dataset
 * carries the awkward cases on purpose: a question whose image is missing, a malformed line,
 * MME's two questions per image. With the synthetic model the answers are noise; the point is
 * that loading, asking, parsing and scoring run on the real files.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SAMPLES = join(import.meta.dirname, '..', '..', '..', 'public', 'samples');
export const SAMPLE_IMAGES = ['shapes.png', 'landscape.png', 'chart.png'].map((n) => readFileSync(join(SAMPLES, n)));

function put(dir: string, path: string, content: string | Uint8Array): void {
  const full = join(dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
}

/** COCO-style image name (the bytes are PNG: the engine decodes by content). */
export const cocoName = (id: number) => `COCO_val2014_${String(id).padStart(12, '0')}.jpg`;

export interface PopeLine {
  question_id: number;
  image: string;
  text: string;
  label: 'yes' | 'no';
}

/**
 * POPE: coco_pope_<split>.json lines + val2014/ images. Default: `perSplit` questions in each
 * of `splits`, alternating yes/no over 3 images, then one question about a missing image and one
 * line that is not JSON (only in the first split).
 */
export function writePope(
  dir: string,
  options: { splits?: string[]; perSplit?: number; awkward?: boolean } = {},
): { questions: number; lines: PopeLine[] } {
  const splits = options.splits ?? ['random', 'adversarial'];
  const perSplit = options.perSplit ?? 2;
  SAMPLE_IMAGES.forEach((bytes, i) => put(dir, `val2014/${cocoName(i + 1)}`, bytes));
  const all: PopeLine[] = [];
  splits.forEach((split, s) => {
    const lines: PopeLine[] = [];
    for (let q = 0; q < perSplit; q++) {
      lines.push({
        question_id: q + 1,
        image: cocoName((q % 3) + 1),
        text: `Is there a ${['circle', 'tree', 'bar'][q % 3]} in the image?`,
        label: q % 2 === 0 ? 'yes' : 'no',
      });
    }
    const text = lines.map((l) => JSON.stringify(l));
    if (options.awkward !== false && s === 0) {
      const missing: PopeLine = {
        question_id: perSplit + 1,
        image: cocoName(999),
        text: 'Is there a dog in the image?',
        label: 'no',
      };
      lines.push(missing);
      text.push(JSON.stringify(missing), '{"question_id": 77, "image": "COCO_val2014_0000');
    }
    put(dir, `coco_pope_${split}.json`, `${text.join('\n')}\n`);
    all.push(...lines);
  });
  return { questions: all.length + (options.awkward !== false ? 1 : 0), lines: all };
}

/** GQA: testdev_balanced_questions.json + images/<imageId>.jpg (3 answerable, 1 missing image). */
export function writeGqa(dir: string): void {
  const ids = ['n100', 'n200', 'n300'];
  ids.forEach((id, i) => put(dir, `images/${id}.jpg`, SAMPLE_IMAGES[i]));
  const q = (imageId: string, question: string, answer: string, structural: string) => ({
    imageId,
    question,
    answer,
    fullAnswer: `${answer}.`,
    types: { structural, semantic: 'obj', detailed: 'x' },
  });
  put(
    dir,
    'testdev_balanced_questions.json',
    JSON.stringify({
      '201': q('n100', 'Is the circle red?', 'yes', 'verify'),
      '202': q('n200', 'What is in the sky?', 'sun', 'query'),
      '203': q('n300', 'Which is taller, the left or the right bar?', 'right', 'choose'),
      '204': q('n999', 'What color is the dog?', 'brown', 'query'),
    }),
  );
}

/** MME release layout: two categories, two images each, two questions per image; one image missing its picture. */
export function writeMme(dir: string): void {
  const base = 'MME_Benchmark_release_version';
  // existence: images/ + questions_answers_YN/
  put(dir, `${base}/existence/images/000000006040.jpg`, SAMPLE_IMAGES[0]);
  put(
    dir,
    `${base}/existence/questions_answers_YN/000000006040.txt`,
    'Is there a circle in this image? Please answer yes or no.\tYes\nIs there a train in this image? Please answer yes or no.\tNo\n',
  );
  put(dir, `${base}/existence/images/000000007777.jpg`, SAMPLE_IMAGES[1]);
  put(
    dir,
    `${base}/existence/questions_answers_YN/000000007777.txt`,
    'Is there a tree in this image? Please answer yes or no.\tYes\nIs there a boat in this image? Please answer yes or no.\tNo\n',
  );
  // code_reasoning (cognition): image and txt side by side; the second image is missing.
  put(dir, `${base}/code_reasoning/0001.png`, SAMPLE_IMAGES[2]);
  put(
    dir,
    `${base}/code_reasoning/0001.txt`,
    'Will the code print 3? Please answer yes or no.\tYes\nWill the code print 4? Please answer yes or no.\tNo\n',
  );
  put(
    dir,
    `${base}/code_reasoning/0002.txt`,
    'Is the output hello? Please answer yes or no.\tNo\nIs the output world? Please answer yes or no.\tYes\n',
  );
}

/** VQAv2 val layout: questions + annotations JSON, COCO_val2014 images; one question with a missing image. */
export function writeVqaV2(dir: string): void {
  SAMPLE_IMAGES.forEach((bytes, i) => put(dir, `val2014/${cocoName(i + 1)}`, bytes));
  const questions = [
    { image_id: 1, question: 'How many circles are there?', question_id: 10 },
    { image_id: 2, question: 'What is in the sky?', question_id: 20 },
    { image_id: 999, question: 'What is the man holding?', question_id: 30 },
  ];
  const ten = (...answers: string[]) =>
    answers.map((answer, i) => ({ answer, answer_confidence: 'yes', answer_id: i + 1 }));
  put(
    dir,
    'v2_OpenEnded_mscoco_val2014_questions.json',
    JSON.stringify({ task_type: 'Open-Ended', data_type: 'mscoco', data_subtype: 'val2014', questions }),
  );
  put(
    dir,
    'v2_mscoco_val2014_annotations.json',
    JSON.stringify({
      annotations: [
        {
          question_id: 10,
          image_id: 1,
          answers: ten('2', '2', 'two', '2', '3', '2', 'two', '2', '2', '2'),
          multiple_choice_answer: '2',
        },
        {
          question_id: 20,
          image_id: 2,
          answers: ten('sun', 'the sun', 'sun', 'clouds', 'sun', 'sun', 'sun', 'sun', 'sun', 'sun'),
          multiple_choice_answer: 'sun',
        },
        {
          question_id: 30,
          image_id: 999,
          answers: ten('bat', 'bat', 'bat', 'bat', 'bat', 'bat', 'bat', 'bat', 'bat', 'bat'),
          multiple_choice_answer: 'bat',
        },
      ],
    }),
  );
}

/** TextVQA layout: TextVQA_0.5.1_val.json + train_images/<image_id>.jpg. */
export function writeTextVqa(dir: string): void {
  put(dir, 'train_images/abc123.jpg', SAMPLE_IMAGES[2]);
  put(
    dir,
    'TextVQA_0.5.1_val.json',
    JSON.stringify({
      dataset_name: 'textvqa',
      dataset_version: '0.5.1',
      data: [
        {
          question_id: 34602,
          image_id: 'abc123',
          question: 'what is the title of the chart?',
          answers: Array(10).fill('sales'),
        },
      ],
    }),
  );
}

/** ScienceQA: problems.json + images/test/<pid>/image.png (one text-only problem, left out as SQA-IMG does). */
export function writeScienceQa(dir: string): void {
  put(dir, 'images/test/5/image.png', SAMPLE_IMAGES[0]);
  put(dir, 'images/test/9/image.png', SAMPLE_IMAGES[1]);
  put(
    dir,
    'problems.json',
    JSON.stringify({
      5: {
        question: 'Which shape is red?',
        choices: ['circle', 'square', 'triangle'],
        answer: 0,
        hint: 'Look at the picture.',
        image: 'image.png',
        split: 'test',
        subject: 'natural science',
      },
      9: {
        question: 'Is it day or night?',
        choices: ['day', 'night'],
        answer: 0,
        hint: '',
        image: 'image.png',
        split: 'test',
        subject: 'natural science',
      },
      11: {
        question: 'What is 2 + 2?',
        choices: ['3', '4'],
        answer: 1,
        hint: '',
        image: null,
        split: 'test',
        subject: 'language science',
      },
    }),
  );
}

/** MMBench dev TSV with base64 images (one row quoted across lines, one row without an image). */
export function writeMmbench(dir: string): void {
  const b64 = Buffer.from(SAMPLE_IMAGES[0]).toString('base64');
  const rows = [
    ['index', 'question', 'hint', 'A', 'B', 'C', 'D', 'answer', 'category', 'image'],
    ['1', 'Which shape is on the left?', 'nan', 'circle', 'square', 'triangle', 'nan', 'A', 'spatial', b64],
    ['2', 'What does the chart show?', '"A chart\nwith bars."', 'sales', 'weather', 'nan', 'nan', 'A', 'ocr', b64],
    ['3', 'Which is larger?', 'nan', 'left', 'right', 'nan', 'nan', 'B', 'spatial', ''],
  ];
  put(dir, 'mmbench_dev_20230712.tsv', `${rows.map((r) => r.join('\t')).join('\n')}\n`);
}
