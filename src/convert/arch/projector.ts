/** LLaVA multi-modal projector: linear_1 → act (GELU, erf) → linear_2; [1,Vp,Dv] → [1,Vp,D]. */
import { type Ctx, activation, linear } from './common';

export async function projector(
  ctx: Ctx,
  x: string,
  visionDim: number,
  textDim: number,
  hiddenAct: string,
): Promise<string> {
  const bias = ctx.has('projector.linear_1.bias');
  const h = await linear(ctx, x, 'projector.linear_1', visionDim, textDim, { bias });
  return linear(ctx, activation(ctx, h, hiddenAct), 'projector.linear_2', textDim, textDim, { bias });
}
