// qmatvec_q4_1: y = x · Wᵀ for one token on a real GPU, W stored as Q4_1 blocks, with the
// arithmetic of qmatmul_q4_1.wgsl (each block's term d_w·d_x·Σ q_w q_x + m_w·s_x, the terms
// summed in order from the first block): 32 lanes per row take its blocks in turn (neighbouring
// lanes read neighbouring blocks), each block's term goes to workgroup memory, and one lane
// sums them in order — a row's blocks are read at once, not one after another. (CPU emulations
// of a GPU run qmatmul_q4_1.wgsl's barrier-free row per invocation far faster.)
//   p.n_in, p.n_out  input width (a multiple of 32, ≤ 2048: at most 64 blocks), output width
//   xq  (n_in/4) u32 — int8 activations, four to a word
//   xs  (n_in/32) vec2<f32> — (d, s) per activation block
//   qs  (n_out, n_in/8) u32 — nibbles as stored (see qmatmul_q4_1.wgsl)
//   dm  (n_out, n_in/32) vec2<f32> — (d, m) per weight block
//   y   (n_out) f32, written
// Dispatch: (ceil(n_out/2), 1, 1) workgroups of 64: two rows of 32 lanes.
const LANES: u32 = 32u;
struct Params { n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> terms: array<f32, 128>; // (2 rows, 64 blocks)

@compute @workgroup_size(64)
fn qmatvec_q4_1(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let r = li / LANES;
    let lane = li % LANES;
    let row = wg.x * 2u + r;
    let nb = p.n_in / 32u;
    if (row < p.n_out) {
        for (var b = lane; b < nb; b += LANES) {
            let w = qs[row * nb + b];
            terms[r * 64u + b] = q4_1_term(w, dm[row * nb + b], xq[b * 2u], xq[b * 2u + 1u], xs[b]);
        }
    }
    workgroupBarrier();
    if (lane == 0u && row < p.n_out) {
        var acc = 0.0;
        for (var b = 0u; b < nb; b++) {
            acc = acc + terms[r * 64u + b];
        }
        y[row] = acc;
    }
}
