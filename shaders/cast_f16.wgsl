// cast_f16: activations of fp16/q4f16 graphs (IEEE half, two per 32-bit word, element i in
// the low half of word i/2 when i is even) to f32 for our kernels, and merged f32 rows back to
// half for the graph. Core WGSL (unpack2x16float / pack2x16float): no `shader-f16` needed,
// so the same path runs on every adapter.
//   to_f32: dst[i] = f32(half i of src), i < n
//   to_f16: word w of dst = pack(src[2w], src[2w + 1]) (0 past n), w < ceil(n / 2)
// pack2x16float's rounding is the implementation's (WGSL: nearest above or below); the twin
// rounds to nearest even. Values beyond ±65504 are indeterminate (merged rows of an f16 graph
// are means of f16 values, so within range; a 'sum' merge could exceed it).
// Bindings: 0 params {n}; 1 src; 2 dst. Dispatch: groups1d(n, WG) for to_f32,
// groups1d(ceil(n / 2), WG) for to_f16.
struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
// Both as 32-bit words (f32 moved by bitcast), so one binding layout serves both entries.
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn to_f32(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= p.n) { return; }
  let pair = unpack2x16float(src[i / 2u]);
  dst[i] = bitcast<u32>(select(pair.x, pair.y, (i & 1u) == 1u));
}

@compute @workgroup_size(WG)
fn to_f16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let w = gid.x + gid.y * groups.x * WG;
  if (w >= (p.n + 1u) / 2u) { return; }
  var hi = 0.0;
  if (2u * w + 1u < p.n) { hi = bitcast<f32>(src[2u * w + 1u]); }
  dst[w] = pack2x16float(vec2f(bitcast<f32>(src[2u * w]), hi));
}
