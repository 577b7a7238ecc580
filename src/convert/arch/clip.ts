/**
 * CLIP vision embeddings (LLaVA-1.5): patch Conv (no bias) → [CLS; patches] + learned
 * positions → pre_layrnorm. pixel_values [1,C,Hpx,Wpx] (act dtype) → [1, 1+Vp, Dv].
 */
import { attr } from '../../onnx/builder';
import { type Ctx, layerNorm } from './common';
import type { VisionDims } from './types';

export async function clipEmbeddings(ctx: Ctx, pixels: string, dims: VisionDims): Promise<string> {
  const { g } = ctx;
  const { hiddenSize: Dv, patchSize: ps, numChannels: C } = dims;
  const grid = Math.floor(dims.imageSize / ps); // the stride-ps Conv drops a remainder (384 px / 14 → 27)
  const Vp = grid * grid;
  const conv = g.op(
    'Conv',
    [pixels, await ctx.weight('vision.embeddings.patch_embedding.weight', [Dv, C, ps, ps])],
    {
      kernel_shape: attr.ints([ps, ps]),
      strides: attr.ints([ps, ps]),
    },
    'patch_conv',
  ); // [1,Dv,grid,grid]
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.constI64([1, Dv, Vp])])], { perm: attr.ints([0, 2, 1]) }); // [1,Vp,Dv]
  const cls = ctx.actInit(
    'vision.embeddings.class_embedding',
    await ctx.read('vision.embeddings.class_embedding', [Dv]),
    [1, 1, Dv],
  );
  const tokens = g.op('Concat', [cls, patches], { axis: attr.int(1) }); // [1,1+Vp,Dv]
  const pos = ctx.actInit(
    'vision.embeddings.position_embedding.weight',
    await ctx.read('vision.embeddings.position_embedding.weight', [Vp + 1, Dv]),
    [1, Vp + 1, Dv],
  );
  const embedded = g.op('Add', [tokens, pos], undefined, 'v_pos');
  return layerNorm(ctx, embedded, 'vision.pre_layrnorm', Dv, dims.layerNormEps);
}
