// rater_attention: rater-row attention scores at a pruning layer (SPARSEVLM.md step 2),
// without the L×L matrix.
//   For head h, query row r (cache index c = rows[r], query row c − (Tk − Lq)):
//   logits_k = q·k_k / √hd over k = 0..c (f32, max-subtracted, full causal denominator);
//   perHead[h, r, j] = exp(logit_{vs+j} − max) / Σ  (0 when vs + j > c), divided by the
//   gravity weight w[r, j] when useGravity. GQA: head h reads kv head h / (H / Hkv).
//   w(Δ) = (2/√hd)·Σ_{i<hd/2} cos(2π·turns_i·Δ), Δ = pos[c] − pos[vs+j], turns_i =
//   θ_i/2π split on the host into hi (11 significant bits, so Δ·hi is exact for |Δ| < 2^13)
//   + lo: the angle is reduced mod 2π before cos, keeping f32 error ~1e-7. cos itself is our
//   own polynomial (cos_turns): WGSL's builtin may be as coarse as 2^-11 absolute (SwiftShader
//   measured ~1e-4 relative on w), too coarse for 1e-5 parity.
// Bindings: 0 params; 1 query (H, Lq, hd); 2 key (Hkv, Tk, hd); 3 rows (R) u32;
// 4 positions (Tk) i32 (dummy when no gravity); 5 turns (hd/2) vec2f (dummy likewise);
// 6 gravity (R, V) f32 scratch; 7 perHead (H, R, V) f32.
// Dispatch: `gravity_weights` ceil(R·V / 256) (only with gravity), then `attend` (R, H)
// workgroups of 128. hd ≤ 256. Reduction kernels are in rater_attention_reduce.wgsl.
struct Params {
  H: u32, Hkv: u32, hd: u32, Lq: u32,
  Tk: u32, R: u32, V: u32, vs: u32,
  useGravity: u32, scale: f32, gravityNorm: f32, pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> query: array<f32>;
@group(0) @binding(2) var<storage, read> key: array<f32>;
@group(0) @binding(3) var<storage, read> rows: array<u32>;
@group(0) @binding(4) var<storage, read> positions: array<i32>;
@group(0) @binding(5) var<storage, read> turns: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> gravity: array<f32>;
@group(0) @binding(7) var<storage, read_write> perHead: array<f32>;

const TWO_PI: f32 = 6.283185307179586;
const LOWEST: f32 = -3.0e38;

// cos(2π·f) for f in [−0.5, 0.5] turns: fold to x in [0, π/4], then Taylor polynomials of
// cos / sin (truncation error < 3e-8 there).
fn cos_turns(f: f32) -> f32 {
  var a = abs(f);
  var sign = 1.0;
  if (a > 0.25) { a = 0.5 - a; sign = -1.0; }
  var x = TWO_PI * a; // [0, π/2]
  var useSin = false;
  if (x > 0.7853981633974483) { x = 1.5707963267948966 - x; useSin = true; }
  let x2 = x * x;
  let c = 1.0 - x2 * (0.5 - x2 * (1.0 / 24.0 - x2 * (1.0 / 720.0 - x2 / 40320.0)));
  let s = x * (1.0 - x2 * (1.0 / 6.0 - x2 * (1.0 / 120.0 - x2 * (1.0 / 5040.0 - x2 / 362880.0))));
  return sign * select(c, s, useSin);
}

@compute @workgroup_size(256)
fn gravity_weights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let idx = gid.x + gid.y * groups.x * 256u;
  if (idx >= p.R * p.V) { return; }
  let r = idx / p.V;
  let j = idx % p.V;
  let delta = f32(positions[rows[r]] - positions[p.vs + j]);
  var acc = 0.0;
  for (var i = 0u; i < p.hd / 2u; i++) {
    let t = turns[i];
    var f = fract(delta * t.x) + delta * t.y; // turns, exact hi part reduced first
    f = f - round(f);
    acc += cos_turns(f);
  }
  gravity[idx] = p.gravityNorm * acc;
}

const WG: u32 = 128u;
var<workgroup> q: array<f32, 256>;
var<workgroup> redMax: array<f32, WG>;
var<workgroup> redSum: array<f32, WG>;

fn logit(kvh: u32, k: u32) -> f32 {
  let ko = (kvh * p.Tk + k) * p.hd;
  var dot = 0.0;
  for (var d = 0u; d < p.hd; d++) { dot = fma(q[d], key[ko + d], dot); }
  return dot * p.scale;
}

@compute @workgroup_size(WG)
fn attend(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let h = wid.y;
  let c = rows[r];
  let qrow = c - (p.Tk - p.Lq);
  let kvh = h / (p.H / p.Hkv);
  let qo = (h * p.Lq + qrow) * p.hd;
  for (var d = lid; d < p.hd; d += WG) { q[d] = query[qo + d]; }
  workgroupBarrier();
  // Online max/sum per invocation over its keys, then a tree merge of (max, sum) pairs.
  var m = LOWEST;
  var s = 0.0;
  for (var k = lid; k <= c; k += WG) {
    let l = logit(kvh, k);
    let mNew = max(m, l);
    s = s * exp(m - mNew) + exp(l - mNew);
    m = mNew;
  }
  redMax[lid] = m;
  redSum[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let m1 = redMax[lid];
      let m2 = redMax[lid + stride];
      let mm = max(m1, m2);
      redSum[lid] = redSum[lid] * exp(m1 - mm) + redSum[lid + stride] * exp(m2 - mm);
      redMax[lid] = mm;
    }
    workgroupBarrier();
  }
  let rowMax = redMax[0];
  let rowSum = redSum[0];
  let base = (h * p.R + r) * p.V;
  for (var j = lid; j < p.V; j += WG) {
    let k = p.vs + j;
    var prob = 0.0;
    if (k <= c) { prob = exp(logit(kvh, k) - rowMax) / rowSum; }
    if (p.useGravity != 0u) { prob = prob / gravity[r * p.V + j]; }
    perHead[base + j] = prob;
  }
}
