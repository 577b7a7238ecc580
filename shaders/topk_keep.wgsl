// topk_keep: full descending order of V scores and the top k in sequence order.
//   rank_i = #{ j : s_j > s_i or (s_j == s_i and j < i) }   (ties → lower index first)
//   order[rank_i] = i;  keep = { i : rank_i < k } written ascending.
// Exact (no float arithmetic, only compares), O(V²): V ≤ a few thousand.
// Bindings: 0 params {V, k}; 1 scores (V) f32; 2 ranks (V) u32 scratch; 3 order (V) u32;
// 4 keep (k) u32.
// Dispatch: entry `rank` then entry `keep`, each ceil(V / WG) workgroups of WG.
// Scores must be finite (NaN compares false and would share ranks).
struct Params { V: u32, k: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read_write> ranks: array<u32>;
@group(0) @binding(3) var<storage, read_write> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> keep: array<u32>;

const WG: u32 = 256u;
var<workgroup> tile: array<f32, WG>;
var<workgroup> tileRank: array<u32, WG>;

@compute @workgroup_size(WG)
fn rank(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = gid.x;
  let inRange = i < p.V;
  var s = 0.0;
  if (inRange) { s = scores[i]; }
  var r = 0u;
  for (var base = 0u; base < p.V; base += WG) {
    let j0 = base + lid;
    tile[lid] = select(0.0, scores[min(j0, p.V - 1u)], j0 < p.V);
    workgroupBarrier();
    let n = min(WG, p.V - base);
    for (var t = 0u; t < n; t++) {
      let sj = tile[t];
      let j = base + t;
      r += select(0u, 1u, sj > s || (sj == s && j < i));
    }
    workgroupBarrier();
  }
  if (inRange) {
    ranks[i] = r;
    order[r] = i;
  }
}

@compute @workgroup_size(WG)
fn keep_sorted(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = gid.x;
  let kept = i < p.V && ranks[min(i, p.V - 1u)] < p.k;
  var pos = 0u;
  // pos = #{ j < i : rank_j < k }, counted over tiles of ranks.
  for (var base = 0u; base < p.V; base += WG) {
    let j0 = base + lid;
    tileRank[lid] = select(0xffffffffu, ranks[min(j0, p.V - 1u)], j0 < p.V);
    workgroupBarrier();
    let n = min(WG, p.V - base);
    for (var t = 0u; t < n; t++) {
      pos += select(0u, 1u, base + t < i && tileRank[t] < p.k);
    }
    workgroupBarrier();
  }
  if (kept) { keep[pos] = i; }
}
