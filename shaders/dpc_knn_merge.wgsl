// dpc_knn_merge: DPC-kNN recycling (SPARSEVLM.md step 3) over N candidate rows x_i =
// hidden[cand[i]] of hidden (L, D); C clusters, kNN size k = C (self included).
//   pairwise:  d_ij = ‖x_i − x_j‖ / √D from differences; dot_ij = x_i·x_j   (N, N) each
//   density:   log ρ_i = −(mean of d² over the k smallest of row i), in log space so that
//              no ρ underflows (exp(−87) is 0 in f32; see dpc_knn_merge.reference.ts)
//   delta:     δ_i = min d_ij over j denser than i: log ρ_j > log ρ_i, or equal and j < i
//              (one total order, the twin's `denser`); the densest → global max d
//              (variant 0) or row max (variant 1); score_i = log ρ_i + ln δ_i, NO_SPREAD
//              where δ_i = 0
//   centres:   top C by score, ties → lower index; centre c joins cluster c
//   assign:    others → argmin_c d(i, centre c) (euclidean) or argmax cosine; ties → lower c
//   merge:     merged[c] = mean (or sum) of members
// No 1e-6 density noise (see dpc_knn_merge.reference.ts).
// Bindings: 0 params {N, D, C, flags: bit0 cosine, bit1 sum, bit2 row-max}; 1 hidden (L, D);
// 2 cand (N) u32; 3 pair (2N²) f32 [d | dot]; 4 stats (3N + 1) f32 [log ρ | δ | score | max d];
// 5 ids (2N + C) u32 [clusterOf (N, 0xffffffff = none) | centres (C) | assignment (N)];
// 6 merged (C, D).
// Dispatch, in order: pairwise (N, N) workgroups of 64; density N; pair_max 1; delta,
// centres, assign ceil(N / 64); merge ceil(C·D / 64) (2-D when large).
struct Params { N: u32, D: u32, C: u32, flags: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;
@group(0) @binding(2) var<storage, read> cand: array<u32>;
@group(0) @binding(3) var<storage, read_write> pair: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> ids: array<u32>;
@group(0) @binding(6) var<storage, read_write> merged: array<f32>;

const WG: u32 = 64u;
const NONE: u32 = 0xffffffffu;
// The score of a token with no spread (δ = 0, a duplicate row); NO_SPREAD in the twin.
const NO_SPREAD: f32 = -3.0e38;
var<workgroup> rsq: array<f32, WG>;
var<workgroup> rdot: array<f32, WG>;

@compute @workgroup_size(WG)
fn pairwise(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x;
  let j = wid.y;
  if (j < i) { return; } // one workgroup per unordered pair; uniform per workgroup
  let io = cand[i] * p.D;
  let jo = cand[j] * p.D;
  var sq = 0.0;
  var dot = 0.0;
  for (var d = lid; d < p.D; d += WG) {
    let a = hidden[io + d];
    let b = hidden[jo + d];
    sq = fma(a - b, a - b, sq);
    dot = fma(a, b, dot);
  }
  rsq[lid] = sq;
  rdot[lid] = dot;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      rsq[lid] += rsq[lid + stride];
      rdot[lid] += rdot[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let nn = p.N * p.N;
    let dist = select(sqrt(rsq[0]) / sqrt(f32(p.D)), 0.0, i == j);
    pair[i * p.N + j] = dist;
    pair[j * p.N + i] = dist;
    pair[nn + i * p.N + j] = rdot[0];
    pair[nn + j * p.N + i] = rdot[0];
  }
}

var<workgroup> picked: array<u32, WG>;

// One workgroup per row i: the N² rank comparisons of the row run in parallel, 64 columns at
// a time; invocation 0 then adds the chunk's picked d² in ascending j, the same order (and so
// the same f32 sum) as a serial loop over j.
@compute @workgroup_size(WG)
fn density(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x;
  if (i >= p.N) { return; } // uniform per workgroup
  // The k smallest d² of row i: element j is among them when fewer than k elements precede
  // it (by value, ties by index).
  var s = 0.0;
  for (var base = 0u; base < p.N; base += WG) {
    let j = base + lid;
    var take = 0u;
    if (j < p.N) {
      let dj = pair[i * p.N + j];
      var before = 0u;
      for (var l = 0u; l < p.N; l++) {
        let dl = pair[i * p.N + l];
        before += select(0u, 1u, dl < dj || (dl == dj && l < j));
      }
      take = select(0u, 1u, before < p.C);
    }
    picked[lid] = take;
    workgroupBarrier();
    if (lid == 0u) {
      for (var t = 0u; t < min(WG, p.N - base); t++) {
        if (picked[t] != 0u) {
          let dj = pair[i * p.N + base + t];
          s += dj * dj;
        }
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { stats[i] = -s / f32(p.C); }
}

// Largest pairwise distance (δ of the densest token, code variant): one workgroup, a tree of
// maxima (exact in any order) into stats[3N].
var<workgroup> rmax: array<f32, WG>;

@compute @workgroup_size(WG)
fn pair_max(@builtin(local_invocation_index) lid: u32) {
  var m = 0.0;
  for (var k = lid; k < p.N * p.N; k += WG) { m = max(m, pair[k]); }
  rmax[lid] = m;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { rmax[lid] = max(rmax[lid], rmax[lid + stride]); }
    workgroupBarrier();
  }
  if (lid == 0u) { stats[3u * p.N] = rmax[0]; }
}

@compute @workgroup_size(WG)
fn delta(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.N) { return; }
  let rho = stats[i];
  var best = 3.0e38;
  var found = false;
  var rowMax = 0.0;
  for (var j = 0u; j < p.N; j++) {
    let dij = pair[i * p.N + j];
    rowMax = max(rowMax, dij);
    let rj = stats[j];
    if (rj > rho || (rj == rho && j < i)) {
      best = min(best, dij);
      found = true;
    }
  }
  var dlt = best;
  if (!found) { dlt = select(stats[3u * p.N], rowMax, (p.flags & 4u) != 0u); }
  stats[p.N + i] = dlt;
  stats[2u * p.N + i] = select(NO_SPREAD, rho + log(dlt), dlt > 0.0);
}

@compute @workgroup_size(WG)
fn centres(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.N) { return; }
  let s = stats[2u * p.N + i];
  var rank = 0u;
  for (var j = 0u; j < p.N; j++) {
    let sj = stats[2u * p.N + j];
    rank += select(0u, 1u, sj > s || (sj == s && j < i));
  }
  if (rank < p.C) {
    ids[i] = rank;
    ids[p.N + rank] = i;
  } else {
    ids[i] = NONE;
  }
}

@compute @workgroup_size(WG)
fn assign(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.N) { return; }
  let own = ids[i];
  var best = 0u;
  if (own != NONE) {
    best = own;
  } else {
    let nn = p.N * p.N;
    let cosine = (p.flags & 1u) != 0u;
    var bestValue = select(3.0e38, -3.0e38, cosine);
    for (var c = 0u; c < p.C; c++) {
      let j = ids[p.N + c];
      if (cosine) {
        let norm = sqrt(pair[nn + i * p.N + i] * pair[nn + j * p.N + j]);
        let cs = select(0.0, pair[nn + i * p.N + j] / norm, norm > 0.0);
        if (cs > bestValue) { best = c; bestValue = cs; }
      } else {
        let d = pair[i * p.N + j];
        if (d < bestValue) { best = c; bestValue = d; }
      }
    }
  }
  ids[p.N + p.C + i] = best;
}

@compute @workgroup_size(WG)
fn merge(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let idx = gid.x + gid.y * groups.x * WG;
  if (idx >= p.C * p.D) { return; }
  let c = idx / p.D;
  let d = idx % p.D;
  var acc = 0.0;
  var count = 0u;
  for (var i = 0u; i < p.N; i++) {
    if (ids[p.N + p.C + i] == c) {
      acc += hidden[cand[i] * p.D + d];
      count++;
    }
  }
  merged[idx] = select(acc / f32(count), acc, (p.flags & 2u) != 0u);
}
