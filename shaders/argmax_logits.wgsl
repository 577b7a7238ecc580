// argmax_logits: the greedy next token from last-position logits (Vocab) f32.
//   out[0] = argmax_i logits[i], ties → lowest i (as torch.argmax and sampling.ts' argmax).
// One workgroup: each invocation scans a stride of the vocabulary, then a tree reduction
// keeps (value, index) with the same tie rule. Only compares: exact, no float arithmetic.
// Bindings: 0 params {n}; 1 logits (n) f32 (may be a larger buffer, e.g. ORT's); 2 out (1) u32.
// Dispatch: 1 workgroup of WG. Logits must be finite or −∞ (NaN compares false; the CPU
// argmax differs from this kernel only then). n ≥ 1.
struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;
var<workgroup> bestValue: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;

// Whether (v, i) beats (bv, bi): larger value, or equal value and lower index. NONE loses.
fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  if (i == NONE) { return false; }
  if (bi == NONE) { return true; }
  return v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var bv = 0.0;
  var bi = NONE;
  for (var i = lid; i < p.n; i += WG) {
    let v = logits[i];
    if (better(v, i, bv, bi)) { bv = v; bi = i; }
  }
  bestValue[lid] = bv;
  bestIndex[lid] = bi;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let ov = bestValue[lid + stride];
      let oi = bestIndex[lid + stride];
      if (better(ov, oi, bestValue[lid], bestIndex[lid])) {
        bestValue[lid] = ov;
        bestIndex[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = bestIndex[0]; }
}
