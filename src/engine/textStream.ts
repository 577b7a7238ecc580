/**
 * Incremental detokenisation: the text of a growing token sequence, handed out as the new
 * suffix each time it becomes final. Decoding one token at a time loses what only the
 * sequence carries (SentencePiece's leading-space marker `▁` becomes a space only between
 * tokens; a byte-fallback character spans several tokens), so each step decodes the whole
 * sequence, as transformers.js' TextStreamer does, and hands out what is new.
 *
 * Held back until a later token settles them:
 *   - a trailing U+FFFD: an incomplete UTF-8 sequence (byte tokens) decodes to it until its
 *     last byte arrives;
 *   - trailing whitespace: cleanup (`clean_up_tokenization_spaces`) removes a space before
 *     punctuation (" ." → "."), so a space is only final once a non-space follows it.
 * The stream is therefore always a prefix of the final text (`decode(all ids)`), and `finish`
 * hands out the rest. Unlike TextStreamer we do not flush at newlines: a fresh decode after a
 * newline would strip the next token's leading space (the Llama decoder's Strip step).
 *
 * Cost: one decode of the sequence per token, O(n²) characters over an answer; at the answer
 * lengths we generate (≤ a few hundred tokens) a decode is well under a millisecond.
 */

export class TextStream {
  private readonly ids: number[] = [];
  private emitted = '';

  constructor(private readonly decode: (ids: number[]) => string) {}

  /** Text streamed so far (a prefix of the final text). */
  get text(): string {
    return this.emitted;
  }

  /** Adds one token; returns the text that became final with it ('' when nothing did). */
  push(id: number): string {
    this.ids.push(id);
    const settled = settledPrefix(this.decode(this.ids));
    // A later token may rewrite text already settled (rare cleanup cases such as " '" + "m" → "'m"):
    // then nothing more streams until the end, where `finish` gives the final text.
    if (!settled.startsWith(this.emitted) || settled.length === this.emitted.length) return '';
    const delta = settled.slice(this.emitted.length);
    this.emitted = settled;
    return delta;
  }

  /**
   * The whole sequence is in: the final text, and the rest still to stream (`rest` is '' and
   * `rewritten` true when the streamed text is not a prefix of the final one; show `text` then).
   */
  finish(): { text: string; rest: string; rewritten: boolean } {
    const text = this.ids.length ? this.decode(this.ids) : ''; // transformers.js refuses to decode []
    if (!text.startsWith(this.emitted)) return { text, rest: '', rewritten: true };
    const rest = text.slice(this.emitted.length);
    this.emitted = text;
    return { text, rest, rewritten: false };
  }
}

/** The decoded text without what a later token may still change (see the file comment). */
export function settledPrefix(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0xfffd) end--;
  while (end > 0 && /\s/.test(text[end - 1])) end--;
  return text.slice(0, end);
}
