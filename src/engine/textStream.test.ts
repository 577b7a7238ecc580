/**
 * TextStream against the fixtures' own tokenizers (transformers.js, as the engine builds them):
 * SentencePiece-style (`▁` marker + Strip decoder: open-llava15-deep, the bundled model's, and
 * llama-clip-gqa) and byte-level BPE (qwen2-siglip, where one character can span tokens).
 */
import { readFileSync } from 'node:fs';
import * as T from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { TextStream, settledPrefix } from './textStream';

const read = (fixture: string, f: string) =>
  JSON.parse(readFileSync(`fixtures/${fixture}/${f}`, 'utf8')) as Record<string, unknown>;
const tokenizer = (fixture: string) =>
  new T.PreTrainedTokenizer(read(fixture, 'tokenizer.json'), read(fixture, 'tokenizer_config.json'));
/** Vocabulary size: the model's vocab plus added tokens. */
function vocabSize(fixture: string): number {
  const t = read(fixture, 'tokenizer.json') as {
    model: { vocab: Record<string, number> };
    added_tokens: { id: number }[];
  };
  return Math.max(...Object.values(t.model.vocab), ...t.added_tokens.map((a) => a.id)) + 1;
}

/** Streams `ids`; returns the streamed text after every token, and what finish() said. */
function stream(tok: T.PreTrainedTokenizer, ids: number[]) {
  const decode = (x: number[]) => tok.decode(x, { skip_special_tokens: true });
  const s = new TextStream(decode);
  let shown = '';
  const steps: string[] = [];
  for (const id of ids) {
    shown += s.push(id);
    steps.push(shown);
  }
  const end = s.finish();
  return { steps, end, shown: shown + end.rest, final: decode(ids) };
}

const SENTENCE = "Yes, Describe the warning now. I'm here?";

describe('TextStream', () => {
  for (const fixture of ['open-llava15-deep', 'llama-clip-gqa', 'qwen2-siglip']) {
    it(`${fixture}: streamed text keeps its spaces and is the final text's prefix at every step`, () => {
      const tok = tokenizer(fixture);
      const ids = tok.encode(SENTENCE, { add_special_tokens: false }) as number[];
      const { steps, end, shown, final } = stream(tok, ids);
      expect(final).toBe(SENTENCE);
      for (const step of steps) expect(final.startsWith(step), JSON.stringify(step)).toBe(true);
      expect(end.rewritten).toBe(false);
      expect(shown).toBe(final);
      // Spaces arrive while streaming, not only in the final text: the old per-token decode gave "Yes,Describe…".
      expect(steps.some((t) => t.startsWith('Yes, Describe the'))).toBe(true);
      expect(steps.every((t) => !t.includes('\uFFFD'))).toBe(true);
    });

    it(`${fixture}: any token sequence (special tokens, byte pieces, spaces) streams as a prefix of its decode`, () => {
      const tok = tokenizer(fixture);
      const vocab = vocabSize(fixture);
      let seed = 7;
      const next = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed;
      };
      for (let trial = 0; trial < 40; trial++) {
        const ids = Array.from({ length: 1 + (next() % 60) }, () => next() % vocab);
        const { steps, end, shown, final } = stream(tok, ids);
        for (const step of steps)
          expect(final.startsWith(step), `${JSON.stringify(step)} vs ${JSON.stringify(final)}`).toBe(true);
        expect(end.text).toBe(final);
        if (!end.rewritten) expect(shown).toBe(final);
      }
    });
  }

  it('byte-level BPE: a character split over byte tokens is held back until it is whole', () => {
    const tok = tokenizer('qwen2-siglip');
    const ids = tok.encode('Café au lait', { add_special_tokens: false }) as number[];
    const { steps, shown, final } = stream(tok, ids);
    expect(final).toBe('Café au lait');
    // é is two byte tokens: the sequence ending after the first decodes to U+FFFD.
    expect(ids.some((_, k) => tok.decode(ids.slice(0, k + 1)).endsWith('\uFFFD'))).toBe(true);
    for (const step of steps) expect(final.startsWith(step), JSON.stringify(step)).toBe(true);
    expect(shown).toBe(final);
  });

  it('holds back an incomplete UTF-8 sequence and trailing whitespace', () => {
    expect(settledPrefix('caf\uFFFD')).toBe('caf');
    expect(settledPrefix('Yes, ')).toBe('Yes,');
    expect(settledPrefix('a \uFFFD')).toBe('a');
    expect(settledPrefix('   ')).toBe('');
  });
});
