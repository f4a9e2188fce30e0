// swiglu: y = silu(x · Gᵀ) · (x · Uᵀ), the FFN's gate and up products and their SiLU·mul in
// one dispatch, with G and U stored as Q4_1 blocks against x quantized by quantize.wgsl
// (Q8_1). Each product is the arithmetic of qmatmul_q4_1.wgsl (block terms summed in order)
// and the product of the two that of gated.wgsl (the shared `silu`), so the result is the same as the three
// kernels' with two dispatches fewer.
//   p.t, p.n_in, p.n_out  tokens, input width (a multiple of 32), output width (d_ff)
//   xq  (T, n_in/4) u32 — int8 activations, four to a word
//   xs  (T, n_in/32) vec2<f32> — (d, s) per activation block
//   gq, uq  (n_out, n_in/8) u32 — gate and up nibbles as stored (see qmatmul_q4_1.wgsl)
//   gdm, udm  (n_out, n_in/32) vec2<f32> — (d, m) per weight block
//   y   (T, n_out) f32, written
// Dispatch: (ceil(n_out/64), ceil(T/4), 1) workgroups of 64; one invocation per output row
// and four tokens. (A single token's block takes ffn_in.wgsl.)
const TOKS: u32 = 4u;
struct Params { t: u32, n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> gq: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> gdm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> uq: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> udm: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn swiglu(@builtin(global_invocation_id) g: vec3<u32>) {
    let row = g.x;
    let t0 = g.y * TOKS;
    if (row >= p.n_out) {
        return;
    }
    let toks = min(TOKS, p.t - t0);
    let nb = p.n_in / 32u;
    var gate = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    var up = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var b = 0u; b < nb; b++) {
        let gw = gq[row * nb + b];
        let gs = gdm[row * nb + b];
        let uw = uq[row * nb + b];
        let us = udm[row * nb + b];
        for (var k = 0u; k < toks; k++) {
            let xb = (t0 + k) * nb + b;
            let lo = xq[xb * 2u];
            let hi = xq[xb * 2u + 1u];
            let a = xs[xb];
            gate[k] += q4_1_term(gw, gs, lo, hi, a);
            up[k] += q4_1_term(uw, us, lo, hi, a);
        }
    }
    for (var k = 0u; k < toks; k++) {
        y[(t0 + k) * p.n_out + row] = silu(gate[k]) * up[k];
    }
}
