// swiglu_vec: swiglu.wgsl for one token on a real GPU: gate and up products as in
// qmatvec_q4_1.wgsl (32 lanes per row, the block terms summed in order by one lane), then
// silu(gate) · up as swiglu.wgsl computes it.
//   p.n_in, p.n_out  input width (a multiple of 32, ≤ 2048), output width (d_ff)
//   xq  (n_in/4) u32 — int8 activations, four to a word
//   xs  (n_in/32) vec2<f32> — (d, s) per activation block
//   gq, uq  (n_out, n_in/8) u32 — gate and up nibbles as stored (see qmatmul_q4_1.wgsl)
//   gdm, udm  (n_out, n_in/32) vec2<f32> — (d, m) per weight block
//   y   (n_out) f32, written
// Dispatch: (ceil(n_out/2), 1, 1) workgroups of 64: two rows of 32 lanes.
const LANES: u32 = 32u;
struct Params { n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> gq: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> gdm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> uq: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> udm: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

var<workgroup> g_terms: array<f32, 128>; // (2 rows, 64 blocks)
var<workgroup> u_terms: array<f32, 128>;

@compute @workgroup_size(64)
fn swiglu_vec(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let r = li / LANES;
    let lane = li % LANES;
    let row = wg.x * 2u + r;
    let nb = p.n_in / 32u;
    if (row < p.n_out) {
        for (var b = lane; b < nb; b += LANES) {
            let lo = xq[b * 2u];
            let hi = xq[b * 2u + 1u];
            let a = xs[b];
            g_terms[r * 64u + b] = q4_1_term(gq[row * nb + b], gdm[row * nb + b], lo, hi, a);
            u_terms[r * 64u + b] = q4_1_term(uq[row * nb + b], udm[row * nb + b], lo, hi, a);
        }
    }
    workgroupBarrier();
    if (lane == 0u && row < p.n_out) {
        var gate = 0.0;
        var up = 0.0;
        for (var b = 0u; b < nb; b++) {
            gate = gate + g_terms[r * 64u + b];
            up = up + u_terms[r * 64u + b];
        }
        y[row] = gate / (1.0 + exp(-gate)) * up;
    }
}
