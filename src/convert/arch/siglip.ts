/**
 * SigLIP vision embeddings (LLaVA-Interleave-Qwen): patch Conv with bias + learned
 * positions; no CLS token and no pre-norm. pixel_values [1,C,Hpx,Wpx] → [1, Vp, Dv].
 * post_layernorm is not applied: LLaVA reads `hidden_states[feature_layer]`, which are the
 * encoder layer outputs before the tower's post_layernorm.
 */
import { attr } from '../../onnx/builder';
import type { Ctx } from './common';
import type { VisionDims } from './types';

export async function siglipEmbeddings(ctx: Ctx, pixels: string, dims: VisionDims): Promise<string> {
  const { g } = ctx;
  const { hiddenSize: Dv, patchSize: ps, numChannels: C } = dims;
  const grid = Math.floor(dims.imageSize / ps); // the stride-ps Conv drops a remainder (384 px / 14 → 27)
  const Vp = grid * grid;
  const conv = g.op(
    'Conv',
    [
      pixels,
      await ctx.weight('vision.embeddings.patch_embedding.weight', [Dv, C, ps, ps]),
      await ctx.weight('vision.embeddings.patch_embedding.bias', [Dv]),
    ],
    { kernel_shape: attr.ints([ps, ps]), strides: attr.ints([ps, ps]) },
    'patch_conv',
  );
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.constI64([1, Dv, Vp])])], { perm: attr.ints([0, 2, 1]) });
  const pos = ctx.actInit(
    'vision.embeddings.position_embedding.weight',
    await ctx.read('vision.embeddings.position_embedding.weight', [Vp, Dv]),
    [1, Vp, Dv],
  );
  return g.op('Add', [patches, pos], undefined, 'v_pos');
}
