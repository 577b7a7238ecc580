/** The formats by name (STYLE.md rule 5: a registry; an unknown name lists the known ones). */
import type { EvalFormat, FormatName } from '../types';
import { gqa } from './gqa';
import { mcq } from './mcq';
import { mme } from './mme';
import { pope } from './pope';
import { vqa } from './vqa';

export const FORMATS: Record<FormatName, EvalFormat> = { pope, gqa, mme, vqa, mcq };

export class UnknownFormatError extends Error {
  override readonly name = 'UnknownFormatError';
  constructor(readonly format: string) {
    super(`unknown format "${format}"; known: ${Object.keys(FORMATS).join(', ')}`);
  }
}

export function formatByName(name: string): EvalFormat {
  const f = (FORMATS as Record<string, EvalFormat>)[name];
  if (!f) throw new UnknownFormatError(name);
  return f;
}
