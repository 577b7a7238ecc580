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
 */
import { nameSeed, seededRandom } from '../../common/random';
import { parseLlavaConfig } from '../checkpoint/config';
import { expectedTensors } from '../checkpoint/keys';
import { elementCount } from '../checkpoint/safetensors';
import { encodeSafetensors, type WriterTensor } from './safetensorsWriter';
import { savedKey, type SyntheticTokenizer } from './synthetic';
import { CLIP } from '../architectures/clip';

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
const HEAD_DIM = 64;
const VOCAB = 270;
const A_DIM = 0;
const C_DIM = 1;
const T_DIM = 2;
const Q_DIM = 3;
const V_DIM = 4;
const SLOT = HEAD_DIM / 2 - 1; // lowest-frequency RoPE pair (SLOT, SLOT + 32)
const TEXT_SLOT = SLOT - 1;
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
/** Rater words: ▁describe ▁scene ▁detail ▁ASSISTANT: in the fixture tokenizer. */
export const RATER_IDS = [203, 225, 232, 269];
/**
 * Each rater word's query strength (Q_DIM): different per word, so the raters' attention rows
 * differ clearly (SparseVLM v1's rank of the rater × visual block is then clear: its smallest
 * counted singular value far above the tolerance).
 */
const RATER_QUERY: Record<number, number> = { 203: 0.9, 225: 0.8, 232: 1.0, 269: 1.2 };

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

export const MARGINS_CONFIG: Json = {
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
    head_dim: HEAD_DIM,
    intermediate_size: 256,
    vocab_size: VOCAB,
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
};

const PROCESSOR: Json = CLIP.imageProcessor(MARGINS_IMAGE_SIZE);

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

/** A fixed derangement of the ordinary ids 5..VOCAB−1: next(t). */
function nextToken(seed: number): Int32Array {
  const ids = Array.from({ length: VOCAB - 5 }, (_, i) => i + 5);
  const rand = stream('next', seed);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  // A single cycle through the shuffled order: no fixed points, no short loops.
  const next = new Int32Array(VOCAB).fill(-1);
  ids.forEach((id, i) => (next[id] = ids[(i + 1) % ids.length]));
  return next;
}

/** The designed value of canonical tensor `name` (shape `shape`). */
function tensor(name: string, shape: number[], seed: number): Float32Array {
  const n = elementCount(shape);
  const rand = stream(name, seed);
  const { P, G1, B1, A, C, S, Z, F } = DESIGN;
  if (/(layernorm|layer_norm\d?|layrnorm|norm)\.weight$/.test(name)) return new Float32Array(n).fill(1);
  if (/(layernorm|layer_norm\d?|layrnorm)\.bias$/.test(name)) return new Float32Array(n);
  if (/out_proj\.(weight|bias)$|fc2\.(weight|bias)$/.test(name)) return new Float32Array(n); // tower adds nothing
  if (name === 'vision.embeddings.patch_embedding.weight') {
    const w = new Float32Array(n); // [32, 3, 14, 14]: out 0 = mean of the red channel
    for (let i = 0; i < PATCH * PATCH; i++) w[i] = 1 / (PATCH * PATCH);
    return w;
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
    for (let t = 0; t < VOCAB; t++) {
      w.set(
        identity(t, seed).map((x) => S * x),
        t * D + 5,
      );
      w[t * D + C_DIM] = RATER_IDS.includes(t) ? Z : 0;
      w[t * D + Q_DIM] = RATER_QUERY[t] ?? 0;
      w[t * D + T_DIM] = F;
    }
    return w;
  }
  if (name === 'lm_head.weight') {
    const w = new Float32Array(n);
    const next = nextToken(seed);
    for (let t = 0; t < VOCAB; t++)
      if (next[t] >= 0)
        w.set(
          identity(t, seed).map((x) => DESIGN.lambda * x),
          next[t] * D + 5,
        );
    return w;
  }
  const w = uniform(n, DESIGN.std, rand);
  const row = (r: number, col: number, value: number) => {
    w.fill(0, r * D, (r + 1) * D);
    w[r * D + col] = value;
  };
  if (/^text\.layers\.\d+\.self_attn\.q_proj\.weight$/.test(name)) {
    // Rater words through Q_DIM; visual tokens (no Q) through V_DIM, so their own attention is
    // peaked too and every visual token gets the same update (DPC-kNN's distances stay the levels').
    for (const r of [SLOT, HEAD_DIM + SLOT]) {
      row(r, Q_DIM, DESIGN.beta);
      w[r * D + V_DIM] = DESIGN.beta;
    }
    row(HEAD_DIM + TEXT_SLOT, C_DIM, DESIGN.betaText); // head 1 also looks at text
    row(TEXT_SLOT, C_DIM, 0);
  } else if (/^text\.layers\.\d+\.self_attn\.k_proj\.weight$/.test(name)) {
    row(SLOT, A_DIM, DESIGN.gamma);
    row(TEXT_SLOT, T_DIM, DESIGN.gammaText);
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
 * layout, one model.safetensors in F32), for openCheckpoint(blobFolder(...)).
 */
export async function marginsCheckpointFiles(
  tokenizer: SyntheticTokenizer,
  seed = 0,
): Promise<Record<string, Uint8Array>> {
  const enc = new TextEncoder();
  const config = parseLlavaConfig(MARGINS_CONFIG, '<image>');
  const shapes = expectedTensors(config);
  const tensors = [...shapes.entries()]
    .map(([canonical, shape]) => ({ name: savedKey(canonical), canonical, dtype: 'F32' as const, shape: [...shape] }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const weights = await encodeSafetensors(tensors, (t: WriterTensor) => {
    const c = (t as (typeof tensors)[number]).canonical;
    return tensor(c, t.shape, seed);
  });
  const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + '\n');
  return {
    'config.json': json(MARGINS_CONFIG),
    'tokenizer.json': tokenizer.tokenizerJson,
    'tokenizer_config.json': tokenizer.tokenizerConfigJson,
    'chat_template.jinja': enc.encode(tokenizer.chatTemplate),
    'processor_config.json': json({
      image_processor: PROCESSOR,
      image_token: '<image>',
      num_additional_image_tokens: 1,
      patch_size: PATCH,
      processor_class: 'LlavaProcessor',
      vision_feature_select_strategy: 'default',
    }),
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

/** The fixture's image as a PNG. */
export function marginsImagePng(): Promise<Uint8Array> {
  return pngBytes(marginsImageRgb(), MARGINS_IMAGE_SIZE, MARGINS_IMAGE_SIZE);
}
