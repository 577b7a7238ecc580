/**
 * Parameter definitions per method: one table that the CLI (`--<name> <value>`) and the app's
 * controls both read. A default of `null` means "derived": from the budget's table or from the
 * model's shape (the help text says how); a method resolves it when it is created.
 */

export type ParamValue = number | boolean | string;

export interface ParamDef {
  /** CLI flag without dashes and the key in MethodSettings.params. */
  name: string;
  label: string;
  help: string;
  kind: 'int' | 'number' | 'boolean' | 'choice';
  default: ParamValue | null;
  min?: number;
  max?: number;
  choices?: readonly string[];
}

export class ParamError extends Error {
  constructor(
    readonly method: string,
    readonly param: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`method ${method}: parameter --${param} got ${JSON.stringify(value)}, expected ${expected}`);
    this.name = 'ParamError';
  }
}

const onOff = (name: string, label: string, help: string, value: boolean): ParamDef => ({
  name,
  label,
  help,
  kind: 'boolean',
  default: value,
});

/** Ablation switches shared by the SparseVLM versions (paper §5.2 and the paper-vs-code gaps). */
function sparseCommon(recycling: boolean): ParamDef[] {
  return [
    onOff(
      'raters',
      'Text raters',
      'on: score with the rater rows only; off: every text token after the image is a rater',
      true,
    ),
    onOff('recycling', 'Token recycling', 'merge the best pruned tokens back by DPC-kNN (off in v2)', recycling),
    {
      name: 'tau',
      label: 'Recycle share τ',
      help: 'share of pruned tokens recycled: int(τ·pruned) + 1',
      kind: 'number',
      default: 0.3,
      min: 0,
      max: 1,
    },
    {
      name: 'theta',
      label: 'Cluster share θ',
      help: 'clusters per recycled token: int(θ·n) + 1',
      kind: 'number',
      default: 0.1,
      min: 0,
      max: 1,
    },
    onOff(
      'paperVariants',
      'Paper variants',
      'turn the four paper variants below on together (each can still be set alone)',
      false,
    ),
    {
      name: 'threshold',
      label: 'Rater threshold',
      help: 'strict: m_i > mean (code); inclusive: m_i ≥ mean (paper Eq. 5)',
      kind: 'choice',
      default: null,
      choices: ['strict', 'inclusive'],
    },
    {
      name: 'assignment',
      label: 'Cluster assignment',
      help: 'euclidean (code) or cosine (paper) nearest centre',
      kind: 'choice',
      default: null,
      choices: ['euclidean', 'cosine'],
    },
    {
      name: 'merge',
      label: 'Cluster merge',
      help: 'mean (code) or sum (paper Eq. 11)',
      kind: 'choice',
      default: null,
      choices: ['mean', 'sum'],
    },
    {
      name: 'densestDelta',
      label: 'δ of the densest token',
      help: 'global-max pairwise distance (code) or row-max (paper Eq. 10)',
      kind: 'choice',
      default: null,
      choices: ['global-max', 'row-max'],
    },
  ];
}

export const METHOD_PARAMS: Readonly<Record<string, readonly ParamDef[]>> = {
  none: [],
  sparsevlm: sparseCommon(true),
  'sparsevlm-v1': [
    ...sparseCommon(true),
    {
      name: 'rule',
      label: 'Keep rule',
      help: 'code: keep int(rank·scale + bias); paper: delete λ·(V − rank)',
      kind: 'choice',
      default: 'code',
      choices: ['code', 'paper'],
    },
    {
      name: 'scale',
      label: 'Rank scale',
      help: 'code rule; default from the budget (13.5 / 9 / 4.9 / 0.8)',
      kind: 'number',
      default: null,
      min: 0,
      max: 1000,
    },
    {
      name: 'bias',
      label: 'Rank bias',
      help: 'code rule; default from the budget (0 / 6 / 3 / 0)',
      kind: 'number',
      default: null,
      min: -10000,
      max: 10000,
    },
    {
      name: 'lambda',
      label: 'λ',
      help: 'paper rule: delete λ·(V − rank) tokens',
      kind: 'number',
      default: 1,
      min: 0,
      max: 1,
    },
    {
      name: 'schedule',
      label: 'Schedule',
      help: "image: stages after layers 2/6/15/19; video: the reference's video branch, one stage after layer 1 keeping rank(P) tokens (scale 1, bias 0)",
      kind: 'choice',
      default: 'image',
      choices: ['image', 'video'],
    },
  ],
  'sparsevlm-v2': [
    ...sparseCommon(false),
    onOff('gravity', 'Gravity correction', 'divide attention by the RoPE gravity w(Δ) before head selection', true),
    {
      name: 'topHeads',
      label: 'Heads kept',
      help: 'heads with the largest rater×visual mass; default round(14·H/32)',
      kind: 'int',
      default: null,
      min: 1,
      max: 4096,
    },
  ],
  fastv: [
    {
      name: 'K',
      label: 'Prune layer K',
      help: 'prune before layer K with the attention of layer K−1',
      kind: 'int',
      default: 2,
      min: 1,
      max: 4096,
    },
    {
      name: 'R',
      label: 'Drop ratio R',
      help: 'share of visual tokens dropped; default: the R whose equal-tokens figure is nearest the budget',
      kind: 'number',
      default: null,
      min: 0,
      max: 1,
    },
  ],
  pdrop: [
    {
      name: 'lambda',
      label: 'Ratio λ',
      help: 'keep λ, λ², λ³ of the visual tokens before layers 8/16/24 (scaled with depth)',
      kind: 'number',
      default: 0.5,
      min: 0,
      max: 1,
    },
  ],
  divprune: [
    {
      name: 'keep',
      label: 'Tokens kept',
      help: 'visual tokens kept before layer 0; default the budget (scaled to the visual-token count)',
      kind: 'int',
      default: null,
      min: 1,
      max: 100000,
    },
  ],
};

function parseBoolean(method: string, def: ParamDef, raw: ParamValue): boolean {
  if (typeof raw === 'boolean') return raw;
  const text = String(raw).toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(text)) return true;
  if (['off', 'false', '0', 'no'].includes(text)) return false;
  throw new ParamError(method, def.name, raw, 'on|off');
}

function parseOne(method: string, def: ParamDef, raw: ParamValue): ParamValue {
  switch (def.kind) {
    case 'boolean':
      return parseBoolean(method, def, raw);
    case 'choice': {
      const text = String(raw);
      if (!def.choices!.includes(text)) throw new ParamError(method, def.name, raw, def.choices!.join('|'));
      return text;
    }
    case 'int':
    case 'number': {
      const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
      const range = `${def.kind === 'int' ? 'an integer' : 'a number'} in [${def.min}, ${def.max}]`;
      if (typeof raw === 'boolean' || !Number.isFinite(value)) throw new ParamError(method, def.name, raw, range);
      if (def.kind === 'int' && !Number.isInteger(value)) throw new ParamError(method, def.name, raw, range);
      if ((def.min !== undefined && value < def.min) || (def.max !== undefined && value > def.max))
        throw new ParamError(method, def.name, raw, range);
      return value;
    }
  }
}

/**
 * Checks and parses a method's raw parameters (strings from the CLI or typed values from the
 * app). Unknown names throw, listing the known ones. Missing ones take their default (null =
 * derived later by the method).
 */
export function resolveParams(
  method: string,
  raw: Readonly<Record<string, ParamValue>> = {},
): Record<string, ParamValue | null> {
  const defs = METHOD_PARAMS[method];
  if (!defs) throw new ParamError(method, '(method)', method, `one of ${Object.keys(METHOD_PARAMS).join(', ')}`);
  const out: Record<string, ParamValue | null> = {};
  for (const def of defs) out[def.name] = def.default;
  for (const [name, value] of Object.entries(raw)) {
    const def = defs.find((d) => d.name === name);
    if (!def)
      throw new ParamError(
        method,
        name,
        value,
        defs.length ? `one of --${defs.map((d) => d.name).join(', --')}` : 'no parameters',
      );
    out[name] = parseOne(method, def, value);
  }
  return out;
}
