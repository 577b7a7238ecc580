/**
 * Reading config.json fields with errors that name the file and the dotted key path
 * (ConvertError 'missing-key' / 'bad-value' / 'unsupported'), used by ../checkpoint/config.ts
 * and by each architecture's config reading (registry.ts).
 */
import { ConvertError } from '../../common/errors';
import { type JsonObject, isObject } from '../../common/json';

export type Json = JsonObject;
export { isObject };

/** Activations our graphs have as fused nodes (arch/common.ts `activation`). */
export const SUPPORTED_ACTIVATIONS: readonly string[] = ['silu', 'quick_gelu', 'gelu', 'gelu_pytorch_tanh'];

/** Reads fields of one config object, naming `file` and the dotted key path in every error. */
export class ConfigFields {
  constructor(
    readonly obj: Json,
    readonly path: string,
    readonly file: string,
    /** Values for absent keys: the transformers config class's defaults. */
    readonly defaults: Json = {},
  ) {}

  private key(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }
  has(name: string): boolean {
    return this.obj[name] !== undefined;
  }
  raw(name: string): unknown {
    return this.obj[name] !== undefined ? this.obj[name] : this.defaults[name];
  }
  required(name: string): unknown {
    const value = this.raw(name);
    if (value === undefined) throw new ConvertError('missing-key', this.file, `missing key "${this.key(name)}"`);
    return value;
  }
  bad(name: string, want: string, got: unknown): ConvertError {
    return new ConvertError('bad-value', this.file, `"${this.key(name)}" must be ${want}, got ${JSON.stringify(got)}`);
  }
  /** A value transformers accepts but our graphs cannot run: the field, its value and why. */
  unsupported(name: string, got: unknown, why: string): ConvertError {
    return new ConvertError('unsupported', this.file, `unsupported "${this.key(name)}" ${JSON.stringify(got)}: ${why}`);
  }
  /** An activation name our graphs have (SUPPORTED_ACTIVATIONS), or 'unsupported' naming the field. */
  activation(name: string, where: string): string {
    const value = this.str(name);
    if (!SUPPORTED_ACTIVATIONS.includes(value)) {
      throw this.unsupported(
        name,
        value,
        `the ${where} has no such activation (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`,
      );
    }
    return value;
  }
  int(name: string, min = 1): number {
    const value = this.required(name);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw this.bad(name, min > 0 ? 'a positive integer' : `an integer ≥ ${min}`, value);
    }
    return value;
  }
  signedInt(name: string): number {
    const value = this.required(name);
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.bad(name, 'an integer', value);
    return value;
  }
  num(name: string): number {
    const value = this.required(name);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw this.bad(name, 'a positive number', value);
    return value;
  }
  bool(name: string): boolean {
    const value = this.required(name);
    if (typeof value !== 'boolean') throw this.bad(name, 'true or false', value);
    return value;
  }
  str(name: string): string {
    const value = this.required(name);
    if (typeof value !== 'string') throw this.bad(name, 'a string', value);
    return value;
  }
  /** null/absent → null; an int → itself. */
  optInt(name: string): number | null {
    const value = this.raw(name);
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw this.bad(name, 'a token id', value);
    return value;
  }
  object(name: string): ConfigFields {
    const value = this.required(name);
    if (!isObject(value)) throw this.bad(name, 'an object', value);
    return new ConfigFields(value, this.key(name), this.file);
  }
}

/**
 * The attention window transformers applies to a decoder with sliding layers: the layers marked
 * "sliding_attention" in `layer_types` (transformers 5 writes it), or, in files without it,
 * what `slidesWithoutLayerTypes` says; then `sliding_window` (null: none).
 */
export function slidingWindowOf(
  text: ConfigFields,
  numLayers: number,
  slidesWithoutLayerTypes: () => boolean,
): number | null {
  let slides: boolean;
  const layerTypes = text.raw('layer_types');
  if (layerTypes !== undefined && layerTypes !== null) {
    if (
      !Array.isArray(layerTypes) ||
      layerTypes.length !== numLayers ||
      !layerTypes.every((t) => t === 'full_attention' || t === 'sliding_attention')
    ) {
      throw text.bad('layer_types', `a list of ${numLayers} "full_attention" / "sliding_attention"`, layerTypes);
    }
    slides = layerTypes.includes('sliding_attention');
  } else {
    slides = slidesWithoutLayerTypes();
  }
  if (!slides || text.raw('sliding_window') == null) return null;
  return text.int('sliding_window');
}
