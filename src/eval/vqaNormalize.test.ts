/** The VQA answer normalisation, rule by rule, and soft accuracy on hand-computed agreement counts. */
import { describe, expect, it } from 'vitest';
import { CONTRACTIONS, normalizeVqaAnswer, vqaSoftAccuracy } from './vqaNormalize';

describe('normalizeVqaAnswer', () => {
  it.each([
    ['Two.', '2'], // period dropped, number word → digit
    ['None', '0'],
    ['ten', '10'],
    ['The Sun', 'sun'], // lower-cased, article dropped
    ['an apple a day', 'apple day'],
    ['yes!', 'yes'], // '!' touching no space → a space, then split away
    ['e-mail', 'e mail'], // '-' inside a word → a space
    ['left - right', 'left right'], // '-' beside a space → removed
    ['3.5', '3.5'], // a period before a digit stays
    ['end.', 'end'],
    ['1,000', '1000'], // commas always dropped first
    ['red, white', 'red white'],
    ['what?', 'what'],
    ["man's hat", "man 's hat"], // "'s" split off as the processor does
    ['dont know', "don't know"], // contraction restored
    ['isnt', "isn't"],
    ["couldnt've", "couldn't've"],
    ['its', 'its'], // an ordinary word, not a contraction
    ['  a\tb\nc ', 'b c'], // whitespace folded; 'a' is an article
    ['(cat)', 'cat'],
    ['cat (left)', 'cat left'],
    ['2:30', '2:30'], // ':' is not in the punctuation list
    ['', ''],
  ])('%j → %j', (raw, want) => {
    expect(normalizeVqaAnswer(raw)).toBe(want);
  });

  it('a mark touching a space is removed, one inside a word becomes a space (the check is on the text before any replacement)', () => {
    expect(normalizeVqaAnswer('x/y')).toBe('x y');
    expect(normalizeVqaAnswer('x /y')).toBe('x y'); // '/' removed: 'x ' + 'y'
    expect(normalizeVqaAnswer('x/y /z')).toBe('xy z'); // '/ ' seen once → every '/' removed
  });

  it('contractions: every apostrophe-less spelling maps to the canonical form', () => {
    expect(CONTRACTIONS.get('wouldntve')).toBe("wouldn't've");
    expect(CONTRACTIONS.get("wouldn'tve")).toBe("wouldn't've");
    expect(CONTRACTIONS.get("wouldnt've")).toBe("wouldn't've");
    expect(CONTRACTIONS.has('well')).toBe(false);
  });
});

describe('vqaSoftAccuracy', () => {
  const tenWith = (answer: string, k: number) => [...Array(k).fill(answer), ...Array(10 - k).fill('other')];
  it.each([
    // k of 10 annotators gave the answer: the k leave-one-out sets that drop one of them see k−1
    // matches, the 10−k others see k; each scores min(1, matches/3); the mean of the 10.
    [0, 0],
    [1, 0.3], // (1·0 + 9·1/3) / 10
    [2, 0.6], // (2·1/3 + 8·2/3) / 10
    [3, 0.9], // (3·2/3 + 7·1) / 10
    [4, 1], // (4·1 + 6·1) / 10
    [10, 1],
  ])('%i matching annotators → %f', (k, want) => {
    expect(vqaSoftAccuracy('cat', tenWith('cat', k))).toBeCloseTo(want, 12);
  });

  it('normalises both sides before matching; no ground truths → 0', () => {
    expect(vqaSoftAccuracy('Two', ['2', '2', 'two', '2 '])).toBe(1);
    expect(vqaSoftAccuracy('anything', [])).toBe(0);
    expect(vqaSoftAccuracy('', tenWith('cat', 10))).toBe(0);
  });
});
