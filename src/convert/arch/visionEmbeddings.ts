/**
 * ViT embeddings as the tower's registry entry describes them (../architectures/, `embeddings`):
 * patch Conv (with a bias for SigLIP) → [CLS; patches] for a tower with a CLS token (CLIP) +
 * learned positions → `pre_layrnorm` where it has one (CLIP).
 * pixel_values [1,C,Hpx,Wpx] (act dtype) → [1, (1+)Vp, Dv].
 * SigLIP's post_layernorm is not applied: LLaVA reads `hidden_states[feature_layer]`, which are
 * the encoder layer outputs before the tower's post_layernorm.
 */
import { attr } from '../../onnx/builder';
import type { VisionEmbeddings } from '../architectures/architecture';
import { type Ctx, layerNorm } from './common';
import type { VisionDims } from './types';

export async function visionEmbeddings(
  ctx: Ctx,
  pixels: string,
  dims: VisionDims,
  embeddings: VisionEmbeddings,
): Promise<string> {
  const { g } = ctx;
  const { hiddenSize: Dv, patchSize: ps, numChannels: C } = dims;
  const grid = Math.floor(dims.imageSize / ps); // the stride-ps Conv drops a remainder (384 px / 14 → 27)
  const Vp = grid * grid;
  const convInputs = [pixels, await ctx.weight('vision.embeddings.patch_embedding.weight', [Dv, C, ps, ps])];
  if (embeddings.patchBias) convInputs.push(await ctx.weight('vision.embeddings.patch_embedding.bias', [Dv]));
  const conv = g.op(
    'Conv',
    convInputs,
    { kernel_shape: attr.ints([ps, ps]), strides: attr.ints([ps, ps]) },
    'patch_conv',
  ); // [1,Dv,grid,grid]
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.constI64([1, Dv, Vp])])], { perm: attr.ints([0, 2, 1]) }); // [1,Vp,Dv]
  let tokens = patches;
  if (embeddings.classToken) {
    const cls = ctx.actInit(
      'vision.embeddings.class_embedding',
      await ctx.read('vision.embeddings.class_embedding', [Dv]),
      [1, 1, Dv],
    );
    tokens = g.op('Concat', [cls, patches], { axis: attr.int(1) }); // [1,1+Vp,Dv]
  }
  const positions = Vp + (embeddings.classToken ? 1 : 0);
  const pos = ctx.actInit(
    'vision.embeddings.position_embedding.weight',
    await ctx.read('vision.embeddings.position_embedding.weight', [positions, Dv]),
    [1, positions, Dv],
  );
  const embedded = g.op('Add', [tokens, pos], undefined, 'v_pos');
  return embeddings.preNorm ? layerNorm(ctx, embedded, 'vision.pre_layrnorm', Dv, dims.layerNormEps) : embedded;
}
