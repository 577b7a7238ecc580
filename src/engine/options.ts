/**
 * Generation options checked before anything runs: the engine refuses bad ones with a sentence
 * that names the option (a negative answer length used to reach the model as an empty token
 * array, "token_ids must be a non-empty array of integers."), and the CLI checks the same
 * before it loads a model, which can take minutes.
 */
import type { GenerateOptions } from './protocol';
import { EngineError } from '../common/errors';

/** Longest answer any request may ask for; the model's context limits it further (inputs.ts). */
export const MAX_NEW_TOKENS_LIMIT = 4096;

/** Throws EngineError('input', 'bad-option') naming the first option out of range. */
export function checkGenerateOptions(
  options: GenerateOptions,
  names: Partial<Record<keyof GenerateOptions, string>> = {},
): void {
  const name = (k: keyof GenerateOptions) => names[k] ?? k;
  const bad = (k: keyof GenerateOptions, want: string) =>
    new EngineError('input', 'bad-option', `${name(k)} must be ${want}, not ${String(options[k])}.`, {
      option: k,
      value: options[k],
    });
  if (
    !Number.isInteger(options.maxNewTokens) ||
    options.maxNewTokens < 1 ||
    options.maxNewTokens > MAX_NEW_TOKENS_LIMIT
  ) {
    throw bad('maxNewTokens', `a whole number of tokens from 1 to ${MAX_NEW_TOKENS_LIMIT}`);
  }
  if (!Number.isFinite(options.temperature) || options.temperature < 0)
    throw bad('temperature', 'a number ≥ 0 (0 = greedy)');
  if (!Number.isFinite(options.topP) || options.topP <= 0 || options.topP > 1) throw bad('topP', 'a number in (0, 1]');
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff)
    throw bad('seed', 'a whole number from 0 to 4294967295');
}
