/** Qwen2 decoder: LLaMA's layer with biases on q/k/v (never on o_proj). Everything else is shared. */
import type { TextVariant } from './llama';

export const qwen2Variant: TextVariant = { qkvBias: true };
