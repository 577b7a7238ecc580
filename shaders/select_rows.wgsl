// select_rows: a slice of a u32 index list, shifted: out[i] = src[start + i] + add, i < count.
// SparseVLM's recycling candidates stay on the GPU with it: the pruned tokens by descending
// score are order[k..V) (topk_keep), the candidates their first n, as sequence rows
// (+ preLength) for dpc_knn_merge — no read-back between top-k and recycling.
// Bindings: 0 params {start, count, add}; 1 src u32; 2 out (count) u32.
// Dispatch: ceil(count / WG) workgroups.
struct Params { start: u32, count: u32, add: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.count) { return; }
  dst[i] = src[p.start + i] + p.add;
}
