/** One layer's KV cache as the engine carries it between prefill and decode steps: post-RoPE keys and values [1,Hkv,capacity,hd], `length` rows filled. */
import type { OrtTensor } from './ortEnv';

/** Each layer's own cache: K/V [1,Hkv,P,hd] and its length P. */
export interface LayerCache {
  key: OrtTensor;
  value: OrtTensor;
  length: number;
}
