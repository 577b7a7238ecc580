// gather_tokens: token compaction between decoder layers.
//   out[i, :] = rows[i] < L ? src[rows[i], :] : extra[rows[i] - L, :]
// Copies 32-bit words, so one kernel serves f32 hidden rows (W = D) and i32 positions (W = 1).
// Bindings: 0 params {L, C, W, rowCount}; 1 src (L, W); 2 extra (C, W) (a dummy word when
// C = 0); 3 rows (rowCount) u32; 4 out (rowCount, W).
// Dispatch: one invocation per output word, workgroups (x, y) = groups1d(rowCount·W, WG).
// A row index ≥ L + C writes zeros (the wrapper validates rows on the host when it can).
struct Params { L: u32, C: u32, W: u32, rowCount: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> extra: array<u32>;
@group(0) @binding(3) var<storage, read> rows: array<u32>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= p.rowCount * p.W) { return; }
  let row = i / p.W;
  let col = i % p.W;
  let s = rows[row];
  if (s < p.L) {
    dst[i] = src[s * p.W + col];
  } else if (s - p.L < p.C) {
    dst[i] = extra[(s - p.L) * p.W + col];
  } else {
    dst[i] = 0u;
  }
}
