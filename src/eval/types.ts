/**
 * The evaluation harness's shared vocabulary (issue 16): an item read from a benchmark's own
 * files, what a format does with it (load, parse an answer, score), and the per-item record
 * every run appends. Plain data, no DOM and no Node: the CLI (src/cli/eval.ts) and the app's
 * Evaluate panel (src/ui/eval/) share all of it.
 */
import type { DataSource } from './source';

export type FormatName = 'pope' | 'gqa' | 'mme' | 'vqa' | 'mcq';

/** One question of a benchmark, as read from its files. */
export interface EvalItem {
  /** The benchmark's own question id (as a string), unique within the dataset. */
  id: string;
  /** Image path as the benchmark names it (resolved through the DataSource's image index); null when the item has no image. */
  image: string | null;
  /** Image bytes carried inline by the benchmark itself (MMBench's base64 column). */
  inlineImage?: { bytes: Uint8Array; name: string };
  /** The question text before the format's suffix. */
  question: string;
  /** The ground truth in the format's own shape (POPE/GQA/MME: a string, VQA: the 10 answers, MCQ: a letter). */
  label: string | string[];
  /** Grouping the metric needs: POPE/MME category, MME image key, MCQ option letters… */
  meta?: Record<string, string | number | string[]>;
  /** Why the item cannot be asked at all (a malformed line): recorded as skipped, never sent. */
  invalid?: string;
}

/** One item's outcome under one method; `records.jsonl` holds one per line. */
export interface ItemRecord {
  method: string;
  id: string;
  /** The model's answer text, exactly as generated ('' for an empty answer). */
  answer?: string;
  /** What the format's parser made of the answer ('yes'/'no'/'other', a letter, the normalised text). */
  prediction?: string;
  label: string | string[];
  /** The item's score under the benchmark's metric: 0/1, or VQA's soft accuracy in [0, 1]. */
  score?: number;
  /** Set instead of answer/prediction/score when the item was not asked or the engine refused it. */
  skipped?: string;
  meta?: EvalItem['meta'];
  /** Engine figures of this request (timings vary run to run; the cost figures do not). */
  speed?: ItemSpeed;
}

export interface ItemSpeed {
  prefillMs: number;
  firstTokenMs: number;
  /** Decode tokens per second after the first token; null with fewer than 2 tokens. */
  tokensPerS: number | null;
  /** Prefill FLOPs by the trace's reference formula, and unpruned. */
  flops: number;
  flopsUnpruned: number;
  /** Visual tokens entering the last layer, and the layer mean ("equal tokens"). */
  visualTokensLast: number;
  equalTokens: number;
}

/** What a format contributes: its files, its answer parser, its metric. */
export interface EvalFormat {
  name: FormatName;
  /** One line for the README and the panel. */
  description: string;
  /** The prompt suffix the reference's eval scripts use for this benchmark (appended after a newline). */
  defaultSuffix: string;
  /** Read the benchmark's own files from a folder (or the one file `file`, a path inside it). */
  load(source: DataSource, file?: string): Promise<EvalItem[]>;
  /** The text sent with the image; default: the question, a newline, the suffix (none when empty). */
  prompt?(item: EvalItem, suffix: string): string;
  /** The prediction the benchmark's scorer derives from an answer text. */
  parse(answer: string, item: EvalItem): string;
  /** The per-item score of a prediction (0/1 or soft accuracy); `answer` is the raw text. */
  scoreItem(prediction: string, item: EvalItem, answer: string): number;
  /** The benchmark's headline figures over the scored records of one method. */
  summarise(records: ItemRecord[]): FormatScores;
}

export interface FormatScores {
  /** The figure Table 1 reports for this benchmark (accuracy in %, or MME's summed score). */
  headline: number;
  headlineName: string;
  /** Every other figure the benchmark's own scorer prints (F1, precision, per-category scores…). */
  figures: Record<string, number>;
  scored: number;
  skipped: number;
}
