// divprune_select: DivPrune greedy max–min cosine diversity over visual rows (V, D)
// (see divprune_select.reference.ts for the definition and its sources).
//   norms:    n_i = ‖x_i‖
//   distance: dist_ij = 1 − x_i·x_j / (n_i n_j)   (cosine 0 when a norm is 0), 16×16 tiles
//   greedy:   one workgroup. score_j = min_{i≠j} dist_ij; k times: pick the unpicked j with
//             the largest score (ties → lower j), then score_j = dist_pick,j (first pick) or
//             min(score_j, dist_pick,j)
//   sort:     keep = picks sorted ascending
// Bindings: 0 params {V, D, k}; 1 visual (V, D); 2 norms (V); 3 dist (V, V);
// 4 state (V) f32 scores; 5 picks (2k) u32 [order of picking | ascending].
// Dispatch: norms ceil(V/256); distance (ceil(V/16), ceil(V/16)); greedy 1; sort ceil(k/256).
struct Params { V: u32, D: u32, k: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> visual: array<f32>;
@group(0) @binding(2) var<storage, read_write> norms: array<f32>;
@group(0) @binding(3) var<storage, read_write> dist: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> picks: array<u32>;

const WG: u32 = 256u;
const TS: u32 = 16u;
const PICKED: f32 = -3.0e38;

@compute @workgroup_size(WG)
fn norms_of_rows(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.V) { return; }
  var acc = 0.0;
  for (var d = 0u; d < p.D; d++) {
    let x = visual[i * p.D + d];
    acc = fma(x, x, acc);
  }
  norms[i] = sqrt(acc);
}

var<workgroup> tileA: array<array<f32, TS>, TS>;
var<workgroup> tileB: array<array<f32, TS>, TS>;

@compute @workgroup_size(TS, TS)
fn distance(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = wid.x * TS + lid.y; // row of this invocation's output
  let j = wid.y * TS + lid.x;
  let ia = wid.x * TS + lid.y; // row loaded into tileA[lid.y]
  let jb = wid.y * TS + lid.y; // row loaded into tileB[lid.y]
  var acc = 0.0;
  for (var d0 = 0u; d0 < p.D; d0 += TS) {
    let d = d0 + lid.x;
    tileA[lid.y][lid.x] = select(0.0, visual[min(ia, p.V - 1u) * p.D + min(d, p.D - 1u)], ia < p.V && d < p.D);
    tileB[lid.y][lid.x] = select(0.0, visual[min(jb, p.V - 1u) * p.D + min(d, p.D - 1u)], jb < p.V && d < p.D);
    workgroupBarrier();
    for (var t = 0u; t < TS; t++) { acc = fma(tileA[lid.y][t], tileB[lid.x][t], acc); }
    workgroupBarrier();
  }
  if (i < p.V && j < p.V) {
    let n = norms[i] * norms[j];
    dist[i * p.V + j] = 1.0 - select(0.0, acc / n, n > 0.0);
  }
}

var<workgroup> bestValue: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;
var<workgroup> chosen: u32;

@compute @workgroup_size(WG)
fn greedy(@builtin(local_invocation_index) lid: u32) {
  for (var j = lid; j < p.V; j += WG) {
    var m = 3.0e38;
    for (var i = 0u; i < p.V; i++) {
      if (i != j) { m = min(m, dist[i * p.V + j]); }
    }
    state[j] = select(m, 0.0, p.V == 1u);
  }
  storageBarrier();
  for (var t = 0u; t < p.k; t++) {
    var bv = PICKED;
    var bi = 0xffffffffu;
    for (var j = lid; j < p.V; j += WG) {
      let s = state[j];
      if (s > bv || (s == bv && j < bi && s != PICKED)) { bv = s; bi = j; }
    }
    bestValue[lid] = bv;
    bestIndex[lid] = bi;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
      if (lid < stride) {
        let ov = bestValue[lid + stride];
        let oi = bestIndex[lid + stride];
        if (ov > bestValue[lid] || (ov == bestValue[lid] && oi < bestIndex[lid])) {
          bestValue[lid] = ov;
          bestIndex[lid] = oi;
        }
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      chosen = bestIndex[0];
      picks[t] = bestIndex[0];
    }
    let pick = workgroupUniformLoad(&chosen);
    for (var j = lid; j < p.V; j += WG) {
      let dj = dist[pick * p.V + j];
      if (j == pick) {
        state[j] = PICKED;
      } else if (state[j] != PICKED) {
        state[j] = select(min(state[j], dj), dj, t == 0u);
      }
    }
    storageBarrier();
  }
}

@compute @workgroup_size(WG)
fn sort_picks(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.k) { return; }
  let mine = picks[t];
  var pos = 0u;
  for (var u = 0u; u < p.k; u++) { pos += select(0u, 1u, picks[u] < mine); }
  picks[p.k + pos] = mine;
}
