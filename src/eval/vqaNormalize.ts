/**
 * Answer normalisation of the VQA evaluation (VQAv2's official `vqaEval.py` rules, in the form
 * TextVQA's `m4c_evaluator` EvalAIAnswerProcessor applies them to every answer — prediction and
 * ground truth alike — which is how LLaVA-1.5's TextVQA scores and its VQAv2 submissions were
 * made). Written from the rules, step by step:
 *   1. lower-case; drop ',' and '?'; "'s" → " 's"; newlines and tabs → spaces; trim;
 *   2. punctuation (; / [ ] " { } ( ) = + \ _ - > < @ ` , ? !): removed where it touches a space,
 *      otherwise replaced by a space (vqaEval.py also removes it everywhere when the text has a
 *      digit,digit comma; step 1 has dropped every comma already, so that rule never fires here,
 *      as it never does in m4c);
 *   3. a period not followed by a digit is removed (at most 32 of them, as `re.sub(…, re.UNICODE)`
 *      passes 32 as the count there);
 *   4. per word: number words zero…ten (and 'none') → digits; articles a/an/the dropped;
 *      apostrophe-less contractions restored ("dont" → "don't");
 *   5. words joined by single spaces.
 * Deviation, stated: the official contraction table is a hand list; ours is generated from the
 * canonical forms below (every spelling with any subset of the apostrophes left out). Words that
 * are also ordinary words (its, id, ill, well, wed, were, hell, shell, lets) are not in it, as
 * they are not in the official one; its capitalised keys (Im, Ive, Id've) never match after
 * step 1 lower-cases the text, so they are left out here too.
 */

const PUNCTUATION = [
  ';',
  '/',
  '[',
  ']',
  '"',
  '{',
  '}',
  '(',
  ')',
  '=',
  '+',
  '\\',
  '_',
  '-',
  '>',
  '<',
  '@',
  '`',
  ',',
  '?',
  '!',
];
const NUMBER_WORDS: Record<string, string> = {
  none: '0',
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
};
const ARTICLES = new Set(['a', 'an', 'the']);

/** Canonical contractions the official table restores. */
const CANONICAL = [
  "ain't",
  "aren't",
  "can't",
  "could've",
  "couldn't",
  "couldn't've",
  "didn't",
  "doesn't",
  "don't",
  "hadn't",
  "hadn't've",
  "hasn't",
  "haven't",
  "he'd",
  "he'd've",
  "he's",
  "how'd",
  "how'll",
  "how's",
  "isn't",
  "it'd",
  "it'd've",
  "it'll",
  "let's",
  "ma'am",
  "mightn't",
  "mightn't've",
  "might've",
  "mustn't",
  "must've",
  "needn't",
  "not've",
  "o'clock",
  "oughtn't",
  "'ow's'at",
  "shan't",
  "she'd've",
  "she's",
  "should've",
  "shouldn't",
  "shouldn't've",
  "somebody'd",
  "somebody'd've",
  "somebody'll",
  "somebody's",
  "someone'd",
  "someone'd've",
  "someone'll",
  "someone's",
  "something'd",
  "something'd've",
  "something'll",
  "that's",
  "there'd",
  "there'd've",
  "there're",
  "there's",
  "they'd",
  "they'd've",
  "they'll",
  "they're",
  "they've",
  "'twas",
  "wasn't",
  "we'd've",
  "we've",
  "weren't",
  "what'll",
  "what're",
  "what's",
  "what've",
  "when's",
  "where'd",
  "where's",
  "where've",
  "who'd",
  "who'd've",
  "who'll",
  "who's",
  "who've",
  "why'll",
  "why're",
  "why's",
  "won't",
  "would've",
  "wouldn't",
  "wouldn't've",
  "y'all",
  "y'all'll",
  "y'all'd've",
  "you'd",
  "you'd've",
  "you'll",
  "you're",
  "you've",
];
const NOT_CONTRACTIONS = new Set(['its', 'id', 'ill', 'well', 'wed', 'were', 'hell', 'shell', 'lets']);

/** Every spelling of `form` with some of its apostrophes left out (the form itself excluded). */
function dropApostrophes(form: string): string[] {
  const positions = [...form].flatMap((c, i) => (c === "'" ? [i] : []));
  const out: string[] = [];
  for (let mask = 1; mask < 1 << positions.length; mask++) {
    const drop = new Set(positions.filter((_, b) => mask & (1 << b)));
    out.push([...form].filter((_, i) => !drop.has(i)).join(''));
  }
  return out;
}

export const CONTRACTIONS: ReadonlyMap<string, string> = new Map(
  CANONICAL.flatMap((form) =>
    dropApostrophes(form)
      .filter((k) => !NOT_CONTRACTIONS.has(k))
      .map((k) => [k, form] as [string, string]),
  ),
);

function processPunctuation(text: string): string {
  let out = text;
  for (const p of PUNCTUATION) {
    if (text.includes(`${p} `) || text.includes(` ${p}`)) out = out.split(p).join('');
    else out = out.split(p).join(' ');
  }
  let periods = 0;
  return out.replace(/\.(?!\d)/g, (m) => (periods++ < 32 ? '' : m));
}

function processDigitArticle(text: string): string {
  const words = text
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => NUMBER_WORDS[w] ?? w)
    .filter((w) => !ARTICLES.has(w))
    .map((w) => CONTRACTIONS.get(w) ?? w);
  return words.join(' ');
}

/** The normalised form of one answer (prediction or ground truth). */
export function normalizeVqaAnswer(answer: string): string {
  let text = answer.toLowerCase().split(',').join('').split('?').join('').split("'s").join(" 's").trim();
  text = text.replace(/[\n\t]/g, ' ').trim();
  return processDigitArticle(processPunctuation(text));
}

/**
 * VQA soft accuracy: the mean over the ground-truth answers of min(1, matches among the other
 * answers / 3) — "3 of 10 annotators agree" is full credit, averaged over the 10 leave-one-out
 * subsets. Both sides normalised. 0 when there are no ground-truth answers.
 */
export function vqaSoftAccuracy(prediction: string, groundTruths: readonly string[]): number {
  if (groundTruths.length === 0) return 0;
  const pred = normalizeVqaAnswer(prediction);
  const gts = groundTruths.map(normalizeVqaAnswer);
  const matches = gts.filter((g) => g === pred).length;
  let total = 0;
  for (const g of gts) total += Math.min(1, (matches - (g === pred ? 1 : 0)) / 3);
  return total / gts.length;
}
