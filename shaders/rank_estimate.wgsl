// rank_estimate: numerical rank of a block (R, V), tolerance σ_max · max(R, V) · 2^-23
// (numpy/torch matrix_rank on f32).
// One workgroup. `prepare` copies the block into work (n, m), n = min(R, V) vectors of
// length m = max(R, V) (transposed when R > V), scaled by 1 / max|a| (rank is scale
// invariant; keeps the squares of attention probabilities far from f32 underflow).
// `jacobi` runs cyclic one-sided (Hestenes) Jacobi sweeps over the n vectors until no pair
// has |a_p·a_q| > TOL·‖a_p‖‖a_q‖ (TOL = √m·2^-23, as LAPACK sgesvj), at most MAX_SWEEPS.
// Working on the vectors, not on the Gram matrix, keeps small σ accurate to ~ε·σ_max
// instead of √ε·σ_max, which matters next to a tolerance of max(R,V)·ε·σ_max.
// `finish` writes out[0] = rank, out[1 + i] = σ_i (unsorted, original scale, f32 bits).
// Bindings: 0 params {R, V}; 1 block (R, V) f32; 2 work (n·m) f32; 3 out (1 + n) words.
struct Params { R: u32, V: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> block: array<f32>;
@group(0) @binding(2) var<storage, read_write> work: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

const WG: u32 = 256u;
const MAX_SWEEPS: u32 = 30u;
const EPS: f32 = 1.1920928955078125e-7;
var<workgroup> ra: array<f32, WG>;
var<workgroup> rb: array<f32, WG>;
var<workgroup> rc: array<f32, WG>;
var<workgroup> rot: vec2f;
var<workgroup> rotatedAny: u32;
var<workgroup> scaleShared: f32;

fn dims() -> vec2u {
  // (n vectors, m length)
  return vec2u(min(p.R, p.V), max(p.R, p.V));
}

fn reduce3(lid: u32) {
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      ra[lid] += ra[lid + stride];
      rb[lid] += rb[lid + stride];
      rc[lid] += rc[lid + stride];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn prepare(@builtin(local_invocation_index) lid: u32) {
  let total = p.R * p.V;
  var mx = 0.0;
  for (var i = lid; i < total; i += WG) { mx = max(mx, abs(block[i])); }
  ra[lid] = mx;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { ra[lid] = max(ra[lid], ra[lid + stride]); }
    workgroupBarrier();
  }
  if (lid == 0u) { scaleShared = select(1.0, 1.0 / ra[0], ra[0] > 0.0); }
  let s = workgroupUniformLoad(&scaleShared);
  let transpose = p.R > p.V;
  let m = dims().y;
  for (var i = lid; i < total; i += WG) {
    let row = i / p.V;
    let col = i % p.V;
    var dst = row * m + col;
    if (transpose) { dst = col * m + row; }
    work[dst] = block[i] * s;
  }
  if (lid == 0u) { out[0] = bitcast<u32>(s); }
}

@compute @workgroup_size(WG)
fn jacobi(@builtin(local_invocation_index) lid: u32) {
  let n = dims().x;
  let m = dims().y;
  let tol = sqrt(f32(m)) * EPS;
  for (var sweep = 0u; sweep < MAX_SWEEPS; sweep++) {
    if (lid == 0u) { rotatedAny = 0u; }
    for (var pi = 0u; pi + 1u < n; pi++) {
      for (var qi = pi + 1u; qi < n; qi++) {
        var a = 0.0;
        var b = 0.0;
        var g = 0.0;
        for (var k = lid; k < m; k += WG) {
          let x = work[pi * m + k];
          let y = work[qi * m + k];
          a = fma(x, x, a);
          b = fma(y, y, b);
          g = fma(x, y, g);
        }
        ra[lid] = a;
        rb[lid] = b;
        rc[lid] = g;
        reduce3(lid);
        if (lid == 0u) {
          let alpha = ra[0];
          let beta = rb[0];
          let gamma = rc[0];
          var cs = vec2f(1.0, 0.0);
          if (gamma != 0.0 && abs(gamma) > tol * sqrt(alpha * beta)) {
            let zeta = (beta - alpha) / (2.0 * gamma);
            let t = select(-1.0, 1.0, zeta >= 0.0) / (abs(zeta) + sqrt(1.0 + zeta * zeta));
            let c = inverseSqrt(1.0 + t * t);
            cs = vec2f(c, c * t);
            rotatedAny = 1u;
          }
          rot = cs;
        }
        let cs = workgroupUniformLoad(&rot);
        if (cs.y != 0.0) {
          for (var k = lid; k < m; k += WG) {
            let x = work[pi * m + k];
            let y = work[qi * m + k];
            work[pi * m + k] = cs.x * x - cs.y * y;
            work[qi * m + k] = cs.y * x + cs.x * y;
          }
        }
        storageBarrier();
      }
    }
    if (workgroupUniformLoad(&rotatedAny) == 0u) { break; }
  }
}

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
  let n = dims().x;
  let m = dims().y;
  let unscale = 1.0 / bitcast<f32>(out[0]);
  workgroupBarrier();
  // One vector per invocation (n ≤ WG·k handled by striding).
  for (var i = lid; i < n; i += WG) {
    var acc = 0.0;
    for (var k = 0u; k < m; k++) { acc = fma(work[i * m + k], work[i * m + k], acc); }
    work[i * m] = sqrt(acc); // σ_i (scaled) parked in the vector's first slot
  }
  storageBarrier();
  if (lid == 0u) {
    var smax = 0.0;
    for (var i = 0u; i < n; i++) { smax = max(smax, work[i * m]); }
    let tol = smax * f32(m) * EPS;
    var rank = 0u;
    for (var i = 0u; i < n; i++) {
      if (work[i * m] > tol) { rank++; }
      out[1u + i] = bitcast<u32>(work[i * m] * unscale);
    }
    out[0] = rank;
  }
}
