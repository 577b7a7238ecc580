// rater_select: text raters (SPARSEVLM.md step 1).
//   probs[v, t] = softmax_t(Hv[v] · Ht[t])      (no 1/√D scale; max-subtracted, f32)
//   m[t] = mean_v probs[v, t]
//   rater[t] = m[t] > (1/T)(1 + BAND)  (strict, code)  or  m[t] ≥ (1/T)(1 − BAND) (inclusive, paper)
// mean(m) = 1/T exactly since rows sum to 1; BAND = 1e-6 makes all-equal relevance give no
// raters (strict) / all raters (inclusive) on GPU and CPU alike.
// Bindings: 0 params {V, T, D, inclusive}; 1 visual (V, D) f32; 2 text (T, D) f32;
// 3 probs (V, T) f32 scratch; 4 out (2T) words: [m (T) f32 bits | rater flag (T) u32].
// Dispatch: `row_softmax` with V workgroups (one visual row each), then `relevance` with
// ceil(T / WG) workgroups.
struct Params { V: u32, T: u32, D: u32, inclusive: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> visual: array<f32>;
@group(0) @binding(2) var<storage, read> text: array<f32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

const WG: u32 = 64u;
const BAND: f32 = 1e-6;
var<workgroup> partial: array<f32, WG>;

fn reduce_sum(lid: u32) -> f32 {
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

fn reduce_max(lid: u32) -> f32 {
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] = max(partial[lid], partial[lid + stride]); }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn row_softmax(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let v = wid.x;
  let vo = v * p.D;
  // Logits: the workgroup splits D for each text token.
  for (var t = 0u; t < p.T; t++) {
    var acc = 0.0;
    let to = t * p.D;
    for (var d = lid; d < p.D; d += WG) { acc = fma(visual[vo + d], text[to + d], acc); }
    partial[lid] = acc;
    let dot = reduce_sum(lid);
    if (lid == 0u) { probs[v * p.T + t] = dot; }
  }
  storageBarrier();
  workgroupBarrier();
  var m = -3.0e38;
  for (var t = lid; t < p.T; t += WG) { m = max(m, probs[v * p.T + t]); }
  partial[lid] = m;
  let rowMax = reduce_max(lid);
  var s = 0.0;
  for (var t = lid; t < p.T; t += WG) { s += exp(probs[v * p.T + t] - rowMax); }
  partial[lid] = s;
  let total = reduce_sum(lid);
  for (var t = lid; t < p.T; t += WG) {
    probs[v * p.T + t] = exp(probs[v * p.T + t] - rowMax) / total;
  }
}

@compute @workgroup_size(WG)
fn relevance(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  var acc = 0.0;
  for (var v = 0u; v < p.V; v++) { acc += probs[v * p.T + t]; }
  let m = select(0.0, acc / f32(p.V), p.V > 0u);
  let mean = 1.0 / f32(p.T);
  var isRater = m > mean * (1.0 + BAND);
  if (p.inclusive != 0u) { isRater = m >= mean * (1.0 - BAND); }
  out[t] = bitcast<u32>(m);
  out[p.T + t] = select(0u, 1u, isRater && p.V > 0u);
}
