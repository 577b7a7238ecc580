// rater_attention_reduce: head selection and means after rater_attention.wgsl.
//   headSum[h] = Σ_{r,j} perHead[h, r, j]                      (entry head_sums, only for top-h)
//   kept[h] = rank_h < topH, rank by headSum descending, ties → lower head (entry select_heads)
//   block[r, j] = mean over kept heads of perHead[h, r, j]     (entry head_mean)
//   scores[j] = mean_r block[r, j]                             (entry row_mean; 0 when R = 0)
// Bindings: 0 params {H, R, V, topH}; 1 perHead (H, R, V); 2 headStats (2H) words
// [headSum f32 | kept u32]; 3 block (R, V); 4 scores (V).
// Dispatch: head_sums H workgroups; select_heads 1; head_mean ceil(R·V / 256) (2-D when
// large); row_mean ceil(V / 256). H ≤ 256.
struct Params { H: u32, R: u32, V: u32, topH: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> perHead: array<f32>;
@group(0) @binding(2) var<storage, read_write> headStats: array<u32>;
@group(0) @binding(3) var<storage, read_write> block: array<f32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn head_sums(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let n = p.R * p.V;
  var acc = 0.0;
  for (var i = lid; i < n; i += WG) { acc += perHead[h * n + i]; }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { headStats[h] = bitcast<u32>(partial[0]); }
}

@compute @workgroup_size(WG)
fn select_heads(@builtin(local_invocation_index) lid: u32) {
  let h = lid;
  if (h >= p.H) { return; }
  let mine = bitcast<f32>(headStats[h]);
  var rank = 0u;
  for (var g = 0u; g < p.H; g++) {
    let other = bitcast<f32>(headStats[g]);
    rank += select(0u, 1u, other > mine || (other == mine && g < h));
  }
  headStats[p.H + h] = select(0u, 1u, rank < p.topH);
}

@compute @workgroup_size(WG)
fn head_mean(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let n = p.R * p.V;
  if (i >= n) { return; }
  var acc = 0.0;
  var count = 0u;
  for (var h = 0u; h < p.H; h++) {
    if (headStats[p.H + h] != 0u) {
      acc += perHead[h * n + i];
      count++;
    }
  }
  block[i] = acc / f32(count);
}

@compute @workgroup_size(WG)
fn row_mean(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= p.V) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.R; r++) { acc += block[r * p.V + j]; }
  scores[j] = select(0.0, acc / f32(p.R), p.R > 0u);
}
