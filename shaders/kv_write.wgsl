// kv_write: rows of new keys and values into a fixed-capacity KV cache, and those slots unmasked.
//   dstK[h, at + r, :] = srcK[h, r, :], dstV likewise, for h < heads, r < n;
//   bias[at + r] = 0 (the additive attention mask over the cache's slots).
// Copies 32-bit words (W per row), so one kernel serves f32 and f16 caches (hd·bytes/4 words).
// `at` comes from a storage buffer (slots[p.slotIndex]), not the uniform: the decode step's
// dispatches are recorded once with fixed bind groups, and only that buffer changes per token.
// Bindings: 0 params {W, heads, srcRows, dstRows, n, slotIndex}; 1 slots (u32); 2 srcK (heads,
// srcRows, W); 3 srcV; 4 dstK (heads, dstRows, W); 5 dstV; 6 bias (≥ dstRows) f32.
// Dispatch: one invocation per copied word, workgroups (x, y) = groups1d(heads·n·W, WG).
// Rows past dstRows are not written (the wrapper refuses them on the host).
struct Params { W: u32, heads: u32, srcRows: u32, dstRows: u32, n: u32, slotIndex: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> slots: array<u32>;
@group(0) @binding(2) var<storage, read> srcK: array<u32>;
@group(0) @binding(3) var<storage, read> srcV: array<u32>;
@group(0) @binding(4) var<storage, read_write> dstK: array<u32>;
@group(0) @binding(5) var<storage, read_write> dstV: array<u32>;
@group(0) @binding(6) var<storage, read_write> bias: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= p.heads * p.n * p.W) { return; }
  let w = i % p.W;
  let r = (i / p.W) % p.n;
  let h = i / (p.W * p.n);
  let at = slots[p.slotIndex];
  if (at + r >= p.dstRows) { return; }
  let s = (h * p.srcRows + r) * p.W + w;
  let d = (h * p.dstRows + at + r) * p.W + w;
  dstK[d] = srcK[s];
  dstV[d] = srcV[s];
  if (h == 0u && w == 0u) { bias[at + r] = 0.0; }
}
