/**
 * The "margins" fixture: a small LLaVA (CLIP 84/14 → 36 visual tokens + LLaMA, 4 layers) whose
 * weights are seeded random (std 0.02, like the other synthetic shapes) with a few designed
 * rows, and an image made for it, so that every pruning decision and every greedy token is
 * won by a clear margin. It exists to compare backends whose f16 arithmetic differs (ORT's
 * WebGPU and wasm f16 kernels disagree by up to ~2 % on scores): on the random fixtures the
 * 576 visual scores all sit near 1/576 and the logits are flat, so such rounding flips top-k
 * lines and greedy steps; here it cannot (the margins are measured: src/engine/margins.ts).
 *
 * It is a real checkpoint: an HF-layout folder (config.json, tokenizer, processor config,
 * model.safetensors with transformers 5.17's saved keys) read by openCheckpoint and converted
 * by convertCheckpoint like any other, then run by the engine.
 *
 * The design, in the text model's hidden space (D = 128; directions are coordinates):
 * - Vision: each 14×14 patch of the image is one flat colour; the patch embedding reads its
 *   mean red only, the position embeddings are one zero-mean pattern P (so pre-LayerNorm is
 *   nearly affine), and the tower's layers add nothing (out_proj and fc2 zero), so the visual
 *   features are an affine function of each patch's red level.
 * - Projector: row A_DIM of its output = A · a (a ∈ ≈[−1, 1], the red level scaled; GELU kept in
 *   its linear range by a bias), rows C_DIM and V_DIM = C for every patch, the other rows tiny.
 * - Text tokens: a random unit identity vector × S on the last D − 5 coordinates, Z on C_DIM for
 *   the rater words (RATER_IDS: the question's content words and the prompt's last token; the
 *   rater selection's dot with the visual rows' C), a per-word query strength on Q_DIM, F on
 *   T_DIM for every text token.
 * - Layers: their attention and MLP outputs never write A_DIM, C_DIM, T_DIM, Q_DIM, V_DIM (zero rows).
 * - Attention, every layer, on the lowest-frequency RoPE pair (dims 31/63 of a 64-wide head,
 *   rope_theta 1e6: rotation < 1e−4 rad over the prompt): q = β · (Q_DIM + V_DIM) in both heads, k =
 *   γ · (A_DIM), so a rater's logit to visual token j is ∝ a_j — scores ordered by the red
 *   level, ~0.25 logit per level; head 1 also sees text keys (dims 30/62: q = β_T·C_DIM, k =
 *   γ_T·T_DIM), so the two heads carry clearly different visual mass (SparseVLM v2's head
 *   choice). Everything else is random std 0.02 (the updates it makes are small).
 * - Head: lm_head row π(t) = Λ · identity(t) for a fixed random derangement π of the
 *   ordinary ids, 0 for the special ids: the next token is π(last token) by ~7 logits.
 * - The image's red levels (LEVELS, by rank) put every top-k line, recycling boundary,
 *   DPC-kNN peak and DivPrune pick of the methods at budget 64 (FastV: MARGINS_BUDGETS) at
 *   least 4 levels (≈1 logit) from the runner-up.
 *
 * Two families (MARGINS_FAMILIES), the same design in each:
 * - `llama-clip` (above): LLaVA-1.5's CLIP (CLS dropped, feature layer −2) + LLaMA, GQA 2/1,
 *   head_dim 64, the fixture tokenizer of open-llava15-deep (Llama-2 prompt).
 * - `qwen2-siglip`: LLaVA-Interleave's SigLIP (no CLS, no pre-LayerNorm, patch Conv with a bias,
 *   `full` features from the last layer before post_layernorm) + Qwen2 (q/k/v biases — random
 *   std 0.02 but 0 on the designed rows — GQA 4/2, head_dim 32), qwen2-siglip's byte-level BPE
 *   tokenizer and ChatML template. The red feature is made affine by the Conv's scale and bias
 *   (SIGLIP_RED) to match what CLIP's LayerNorm gives; every kv group has a visual-only head
 *   (even) and a text-seeing one (odd), so v2 keeps the two visual-only heads of 4; β, γ scaled
 *   by (32/64)^¼ so q·k/√head_dim is the LLaMA family's; kv group 1's designed q and k rows
 *   negated (same q·k), so a head reading the wrong kv head ranks the visual tokens backwards.
 */
import { nameSeed, seededRandom } from '../../common/random';
import { parseLlavaConfig } from '../checkpoint/config';
import { expectedTensors } from '../checkpoint/keys';
import { elementCount } from '../checkpoint/safetensors';
import { encodeSafetensors, type WriterTensor } from './safetensorsWriter';
import { savedKey, type SyntheticTokenizer } from './synthetic';
import { CLIP } from '../architectures/clip';
import { SIGLIP } from '../architectures/siglip';

type Json = Record<string, unknown>;

export const MARGINS_IMAGE_SIZE = 84;
const PATCH = 14;
const GRID = MARGINS_IMAGE_SIZE / PATCH; // 6 → 36 visual tokens
export const MARGINS_QUESTION = 'describe the scene in detail';
/**
 * Budgets per method for this fixture: 64 (the tables scaled to 36 tokens), except FastV, whose
 * budget→keep rule gives all 36 tokens at 64 on 4 layers; 12 keeps 4.
 */
export const MARGINS_BUDGETS: [string, number][] = [
  ['sparsevlm', 64],
  ['sparsevlm-v1', 64],
  ['sparsevlm-v2', 64],
  ['fastv', 12],
  ['pdrop', 64],
  ['divprune', 64],
];

const D = 128;
const A_DIM = 0;
const C_DIM = 1;
const T_DIM = 2;
const Q_DIM = 3;
const V_DIM = 4;
const DESIGN = {
  P: 3, // vision position pattern amplitude
  G1: 1.6, // projector gain on the red feature
  B1: 5, // projector bias keeping GELU linear
  A: 3,
  C: 6,
  S: 6,
  Z: 1,
  F: 2,
  beta: 5.4,
  gamma: 5.4,
  betaText: 6.5,
  gammaText: 6.5,
  lambda: 1,
  std: 0.02,
  projectorStd: 0.002,
};

/** The two fixture families: LLaVA-1.5's (CLIP + LLaMA) and LLaVA-Interleave's (SigLIP + Qwen2). */
export type MarginsFamilyName = 'llama-clip' | 'qwen2-siglip';

interface MarginsFamily {
  /** The fixtures/ folder whose tokenizer (tokenizer.json, tokenizer_config.json, chat_template.jinja) it carries. */
  tokenizerFixture: string;
  config: Json;
  processor: Json;
  vision: 'clip' | 'siglip';
  /** Rater words (Z on C_DIM) → their query strength (Q_DIM). */
  raterQuery: Record<number, number>;
  /** Other tokens with a query: the prompt's last token where it is not a rater. */
  otherQuery: Record<number, number>;
  /** The ids the head maps to each other (a derangement); every other id's head row is 0. */
  ordinaryIds: number[];
  vocab: number;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

export const MARGINS_FAMILIES: Record<MarginsFamilyName, MarginsFamily> = {
  'llama-clip': {
    tokenizerFixture: 'open-llava15-deep',
    config: {
      architectures: ['LlavaForConditionalGeneration'],
      model_type: 'llava',
      image_token_index: 4,
      image_seq_length: GRID * GRID,
      projector_hidden_act: 'gelu',
      multimodal_projector_bias: true,
      tie_word_embeddings: false,
      vision_feature_layer: -2,
      vision_feature_select_strategy: 'default',
      text_config: {
        model_type: 'llama',
        hidden_size: D,
        num_hidden_layers: 4,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        head_dim: 64,
        intermediate_size: 256,
        vocab_size: 270,
        hidden_act: 'silu',
        max_position_embeddings: 2048,
        rms_norm_eps: 1e-5,
        attention_bias: false,
        mlp_bias: false,
        tie_word_embeddings: false,
        rope_parameters: { rope_theta: 1000000, rope_type: 'default' },
        bos_token_id: 1,
        eos_token_id: 2,
        pad_token_id: 3,
      },
      vision_config: {
        model_type: 'clip_vision_model',
        hidden_size: 32,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 64,
        image_size: MARGINS_IMAGE_SIZE,
        patch_size: PATCH,
        num_channels: 3,
        hidden_act: 'quick_gelu',
        layer_norm_eps: 1e-5,
      },
    },
    processor: {
      image_processor: CLIP.imageProcessor(MARGINS_IMAGE_SIZE),
      image_token: '<image>',
      num_additional_image_tokens: 1,
      patch_size: PATCH,
      processor_class: 'LlavaProcessor',
      vision_feature_select_strategy: 'default',
    },
    vision: 'clip',
    // ▁describe ▁scene ▁detail ▁ASSISTANT: (the prompt's last token) in the fixture tokenizer.
    raterQuery: { 203: 0.9, 225: 0.8, 232: 1.0, 269: 1.2 },
    otherQuery: {},
    ordinaryIds: range(5, 270),
    vocab: 270,
  },
  // LLaVA-Interleave-Qwen's shape (as fixtures/qwen2-siglip): Qwen2 with q/k/v biases and GQA 4/2
  // (head_dim 32), SigLIP without CLS or pre-norm, `full` features from the last layer, ChatML.
  'qwen2-siglip': {
    tokenizerFixture: 'qwen2-siglip',
    config: {
      architectures: ['LlavaForConditionalGeneration'],
      model_type: 'llava',
      image_token_index: 383,
      image_seq_length: GRID * GRID,
      projector_hidden_act: 'gelu',
      multimodal_projector_bias: true,
      tie_word_embeddings: false,
      vision_feature_layer: -1,
      vision_feature_select_strategy: 'full',
      text_config: {
        model_type: 'qwen2',
        hidden_size: D,
        num_hidden_layers: 4,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        intermediate_size: 256,
        vocab_size: 384,
        hidden_act: 'silu',
        max_position_embeddings: 4096,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: false,
        use_sliding_window: false,
        sliding_window: null,
        max_window_layers: 28,
        rope_parameters: { rope_theta: 1000000, rope_type: 'default' },
        bos_token_id: 380,
        eos_token_id: 382,
        pad_token_id: 380,
      },
      vision_config: {
        model_type: 'siglip_vision_model',
        hidden_size: 32,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 64,
        image_size: MARGINS_IMAGE_SIZE,
        patch_size: PATCH,
        num_channels: 3,
        hidden_act: 'gelu_pytorch_tanh',
        layer_norm_eps: 1e-6,
        vision_use_head: false,
      },
    },
    processor: {
      image_processor: SIGLIP.imageProcessor(MARGINS_IMAGE_SIZE),
      image_token: '<image>',
      num_additional_image_tokens: 0,
      patch_size: PATCH,
      processor_class: 'LlavaProcessor',
      vision_feature_select_strategy: 'full',
    },
    vision: 'siglip',
    // escri (de|escri|be) Ġscene Ġdetail in fixtures/qwen2-siglip's byte-level BPE. The prompt ends
    // with Ċ (assistant\n), which is also the first text token and the one after <|im_end|>: a
    // query but no rater (three equal rater rows would make v1's rank a near-tie).
    raterQuery: { 313: 0.9, 320: 0.8, 379: 1.0 },
    otherQuery: { 198: 1.2 },
    ordinaryIds: range(0, 380),
    vocab: 384,
  },
};

/** The LLaMA + CLIP family's config.json. */
export const MARGINS_CONFIG: Json = MARGINS_FAMILIES['llama-clip'].config;
/** Rater words of the LLaMA + CLIP family: ▁describe ▁scene ▁detail ▁ASSISTANT: in the fixture tokenizer. */
export const RATER_IDS = Object.keys(MARGINS_FAMILIES['llama-clip'].raterQuery).map(Number);

/**
 * SigLIP has no pre-LayerNorm (and LLaVA reads its layers before post_layernorm), so its visual
 * feature is exactly affine in the red level: scale and shift (the patch Conv's bias) fitted by
 * least squares to what CLIP's pre-LayerNorm makes of the same levels (≤ 0.002 apart, a tenth of
 * the smallest level step), so both families see the same geometry; the position pattern at the
 * amplitude CLIP's LayerNorm leaves it (3 / ≈2.9).
 */
const SIGLIP_RED = { scale: 0.6186, shift: 0.0228, P: 1 };

/**
 * Red level of the visual token of each rank (1 = highest score), 0–255, every gap ≥ 4 levels:
 * ranks 1–4 are what SparseVLM's first stage keeps; 5–7, 8–10, 11–14 three clusters of distinct
 * spacing (the recycling candidates: DPC-kNN's peaks are 5 and 9); 19 levels to the rest;
 * 4–6-level steps; an isolated darkest patch (DivPrune's first pick). The steps were chosen
 * (by a search over the cosine geometry the projector gives) so that DivPrune's greedy picks
 * (ranks 36, 1, 14, 25) each win by ≥ 10 % (φ = atan(A·a / (C·√2)) per patch, 1 − cos Δφ).
 */
export const LEVELS: number[] = (() => {
  const gaps = [16, 8, 10, 13, 4, 7, 14, 8, 5, 12, 6, 10, 9, 19];
  const tail = [6, 5, 5, 4, 5, 4, 4, 4, 4, 4, 5, 4, 5, 4, 4, 4, 4, 4, 7, 5];
  const out = [255];
  for (const g of [...gaps, ...tail]) out.push(out[out.length - 1] - g);
  out.push(0); // rank 36, isolated
  return out;
})();

/**
 * Patch index (row-major) of rank r (0-based): a fixed scatter so ranks are not spatially sorted,
 * with the brightest patch first, so that every visual token's (causal, peaked) attention finds
 * the same top token and every visual token gets the same update: DPC-kNN's distances then stay
 * the levels' (with the top later, tokens before it attend to other tops and differ by more).
 */
export function patchOfRank(r: number): number {
  return (r * 7) % (GRID * GRID);
}

/** RGB pixels (84×84×3, row-major) of the fixture's image: each patch flat, red = its level. */
export function marginsImageRgb(): Uint8Array {
  const rgb = new Uint8Array(MARGINS_IMAGE_SIZE * MARGINS_IMAGE_SIZE * 3);
  LEVELS.forEach((level, r) => {
    const p = patchOfRank(r);
    const py = Math.floor(p / GRID);
    const px = p % GRID;
    for (let y = py * PATCH; y < (py + 1) * PATCH; y++)
      for (let x = px * PATCH; x < (px + 1) * PATCH; x++) {
        const o = (y * MARGINS_IMAGE_SIZE + x) * 3;
        rgb[o] = level;
        rgb[o + 1] = 128;
        rgb[o + 2] = 128;
      }
  });
  return rgb;
}

/** mulberry32 stream seeded by (seed, name): values depend only on the tensor's name. */
const stream = (name: string, seed: number): (() => number) => seededRandom(nameSeed(name, seed));

function uniform(n: number, std: number, rand: () => number): Float32Array {
  const a = std * Math.sqrt(3);
  return Float32Array.from({ length: n }, () => (2 * rand() - 1) * a);
}

/** Unit identity vector of token t on coordinates 5..D−1. */
function identity(t: number, seed: number): Float32Array {
  const rand = stream(`identity.${t}`, seed);
  const v = Float32Array.from({ length: D - 5 }, () => 2 * rand() - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A fixed derangement of the family's ordinary ids: next(t), −1 for the others. */
function nextToken(family: MarginsFamily, seed: number): Int32Array {
  const ids = [...family.ordinaryIds];
  const rand = stream('next', seed);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  // A single cycle through the shuffled order: no fixed points, no short loops.
  const next = new Int32Array(family.vocab).fill(-1);
  ids.forEach((id, i) => (next[id] = ids[(i + 1) % ids.length]));
  return next;
}

/** Attention layout of the family's text model. */
function heads(family: MarginsFamily) {
  const text = family.config.text_config as Json;
  const H = text.num_attention_heads as number;
  const headDim = (text.head_dim as number | undefined) ?? D / H;
  return {
    H,
    Hkv: text.num_key_value_heads as number,
    headDim,
    slot: headDim / 2 - 1, // lowest-frequency RoPE pair (slot, slot + headDim/2)
    // q·k is divided by √headDim: β and γ scaled so the logits are head_dim 64's.
    scale: Math.pow(headDim / 64, 1 / 4),
  };
}

/** The designed value of canonical tensor `name` (shape `shape`). */
function tensor(name: string, shape: number[], seed: number, family: MarginsFamily): Float32Array {
  const n = elementCount(shape);
  const rand = stream(name, seed);
  const { G1, B1, A, C, S, Z, F } = DESIGN;
  const siglip = family.vision === 'siglip';
  const P = siglip ? SIGLIP_RED.P : DESIGN.P;
  if (/(layernorm|layer_norm\d?|layrnorm|norm)\.weight$/.test(name)) return new Float32Array(n).fill(1);
  if (/(layernorm|layer_norm\d?|layrnorm)\.bias$/.test(name)) return new Float32Array(n);
  if (/out_proj\.(weight|bias)$|fc2\.(weight|bias)$/.test(name)) return new Float32Array(n); // tower adds nothing
  if (name === 'vision.embeddings.patch_embedding.weight') {
    const w = new Float32Array(n); // [32, 3, 14, 14]: out 0 = mean of the red channel (× SigLIP's scale)
    for (let i = 0; i < PATCH * PATCH; i++) w[i] = (siglip ? SIGLIP_RED.scale : 1) / (PATCH * PATCH);
    return w;
  }
  if (name === 'vision.embeddings.patch_embedding.bias') {
    const b = new Float32Array(n); // SigLIP's (CLIP's Conv has none)
    b[0] = SIGLIP_RED.shift;
    return b;
  }
  if (name === 'vision.embeddings.class_embedding' || name === 'vision.embeddings.position_embedding.weight') {
    const width = shape[shape.length - 1];
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d = i % width;
      w[i] = d < 2 ? 0 : d % 2 ? P : -P;
    }
    return w;
  }
  if (name === 'projector.linear_1.weight') {
    const w = uniform(n, DESIGN.projectorStd, rand); // [D, 32]
    for (const row of [0, 1]) w.fill(0, row * shape[1], (row + 1) * shape[1]);
    w[0] = G1;
    return w;
  }
  if (name === 'projector.linear_1.bias') {
    const b = new Float32Array(n);
    b[0] = B1;
    b[1] = 3;
    return b;
  }
  if (name === 'projector.linear_2.weight') {
    const w = uniform(n, DESIGN.projectorStd, rand); // [D, D]
    for (const row of [A_DIM, C_DIM, T_DIM, Q_DIM, V_DIM]) w.fill(0, row * D, (row + 1) * D);
    w[A_DIM * D + 0] = A;
    return w;
  }
  if (name === 'projector.linear_2.bias') {
    const b = new Float32Array(n);
    b[A_DIM] = -A * B1;
    b[C_DIM] = C;
    b[V_DIM] = C;
    return b;
  }
  if (name === 'text.embed_tokens.weight') {
    const w = new Float32Array(n);
    for (let t = 0; t < family.vocab; t++) {
      w.set(
        identity(t, seed).map((x) => S * x),
        t * D + 5,
      );
      w[t * D + C_DIM] = t in family.raterQuery ? Z : 0;
      w[t * D + Q_DIM] = family.raterQuery[t] ?? family.otherQuery[t] ?? 0;
      w[t * D + T_DIM] = F;
    }
    return w;
  }
  if (name === 'lm_head.weight') {
    const w = new Float32Array(n);
    const next = nextToken(family, seed);
    for (let t = 0; t < family.vocab; t++)
      if (next[t] >= 0)
        w.set(
          identity(t, seed).map((x) => DESIGN.lambda * x),
          next[t] * D + 5,
        );
    return w;
  }
  const { H, Hkv, headDim, slot, scale } = heads(family);
  const textSlot = slot - 1;
  const w = uniform(n, DESIGN.std, rand);
  // Qwen2's q/k biases: random like the rest, 0 on the designed rows (which carry only their design).
  if (/^text\.layers\.\d+\.self_attn\.q_proj\.bias$/.test(name)) {
    for (let h = 0; h < H; h++) w[h * headDim + slot] = w[h * headDim + textSlot] = 0;
    return w;
  }
  if (/^text\.layers\.\d+\.self_attn\.k_proj\.bias$/.test(name)) {
    for (let g = 0; g < Hkv; g++) w[g * headDim + slot] = w[g * headDim + textSlot] = 0;
    return w;
  }
  const row = (r: number, col: number, value: number) => {
    w.fill(0, r * D, (r + 1) * D);
    w[r * D + col] = value;
  };
  // Odd kv groups carry the design with both q and k negated: the same q·k, so the same model,
  // but a head that reads the wrong kv head (a GQA mapping bug in a kernel) ranks the visual
  // tokens backwards and the decisions change, not only the scores (LLaMA: one group, all +).
  const sign = (g: number) => (g % 2 ? -1 : 1);
  if (/^text\.layers\.\d+\.self_attn\.q_proj\.weight$/.test(name)) {
    // Rater words through Q_DIM; visual tokens (no Q) through V_DIM, so their own attention is
    // peaked too and every visual token gets the same update (DPC-kNN's distances stay the levels').
    // Odd heads also look at text (each kv group has a visual-only and a text-seeing head).
    for (let h = 0; h < H; h++) {
      const s = sign(Math.floor(h / (H / Hkv)));
      row(h * headDim + slot, Q_DIM, s * DESIGN.beta * scale);
      w[(h * headDim + slot) * D + V_DIM] = s * DESIGN.beta * scale;
      row(h * headDim + textSlot, C_DIM, h % 2 ? s * DESIGN.betaText * scale : 0);
    }
  } else if (/^text\.layers\.\d+\.self_attn\.k_proj\.weight$/.test(name)) {
    for (let g = 0; g < Hkv; g++) {
      row(g * headDim + slot, A_DIM, sign(g) * DESIGN.gamma * scale);
      row(g * headDim + textSlot, T_DIM, sign(g) * DESIGN.gammaText * scale);
    }
  }
  // The layers' updates leave the designed coordinates alone (they would blur the ~0.02-wide
  // steps of A·a between neighbouring levels): zero output rows A_DIM, C_DIM, T_DIM, Q_DIM, V_DIM.
  const width = shape[1];
  if (/^text\.layers\.\d+\.(self_attn\.o_proj|mlp\.down_proj)\.weight$/.test(name))
    for (const r of [A_DIM, C_DIM, T_DIM, Q_DIM, V_DIM]) w.fill(0, r * width, (r + 1) * width);
  return w;
}

/**
 * The fixture as the files of an HF checkpoint folder (transformers 5.17's save_pretrained
 * layout, one model.safetensors in F32), for openCheckpoint(blobFolder(...)). `tokenizer`: the
 * files of fixtures/<MARGINS_FAMILIES[family].tokenizerFixture>.
 */
export async function marginsCheckpointFiles(
  tokenizer: SyntheticTokenizer,
  seed = 0,
  familyName: MarginsFamilyName = 'llama-clip',
): Promise<Record<string, Uint8Array>> {
  const family = MARGINS_FAMILIES[familyName];
  const enc = new TextEncoder();
  const config = parseLlavaConfig(family.config, '<image>');
  const shapes = expectedTensors(config);
  const tensors = [...shapes.entries()]
    .map(([canonical, shape]) => ({ name: savedKey(canonical), canonical, dtype: 'F32' as const, shape: [...shape] }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const weights = await encodeSafetensors(tensors, (t: WriterTensor) => {
    const c = (t as (typeof tensors)[number]).canonical;
    return tensor(c, t.shape, seed, family);
  });
  const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + '\n');
  return {
    'config.json': json(family.config),
    'tokenizer.json': tokenizer.tokenizerJson,
    'tokenizer_config.json': tokenizer.tokenizerConfigJson,
    'chat_template.jinja': enc.encode(tokenizer.chatTemplate),
    'processor_config.json': json(family.processor),
    'model.safetensors': weights,
  };
}

/** PNG bytes (8-bit RGB, no filter) of `rgb` (w×h×3), deflated with the platform's CompressionStream. */
export async function pngBytes(rgb: Uint8Array, w: number, h: number): Promise<Uint8Array> {
  const raw = new Uint8Array(h * (w * 3 + 1));
  for (let y = 0; y < h; y++) raw.set(rgb.subarray(y * w * 3, (y + 1) * w * 3), y * (w * 3 + 1) + 1);
  const zipped = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer(),
  );
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(data, 8);
    let c = 0xffffffff;
    for (let i = 4; i < 8 + data.length; i++) c = crcTable[(c ^ out[i]) & 0xff] ^ (c >>> 8);
    view.setUint32(8 + data.length, (c ^ 0xffffffff) >>> 0);
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, w);
  new DataView(ihdr.buffer).setUint32(4, h);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zipped),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The fixture's image as a PNG (both families). */
export function marginsImagePng(): Promise<Uint8Array> {
  return pngBytes(marginsImageRgb(), MARGINS_IMAGE_SIZE, MARGINS_IMAGE_SIZE);
}
