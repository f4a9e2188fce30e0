// qmatmul_q4_1: y = x · Wᵀ with W stored as Q4_1 blocks, read directly (never dequantized
// into memory), against x quantized by quantize.wgsl (Q8_1). Each 32-value block adds
// d_w·d_x·Σ q_w q_x + m_w·s_x with an exact integer sum, and the blocks are summed in order
// — the CPU kernel's arithmetic, so both give the same bits for the same input. One
// invocation per output row and four tokens, no workgroup memory and no barriers (CPU
// emulations of WebGPU run these far faster; each weight block read serves four tokens).
// (A single token's block takes the fused kernels: attn.wgsl, qmatvec_add.wgsl; many tokens on
// a real GPU take qmatmul_tiled.wgsl.)
//   p.t, p.n_in, p.n_out  tokens, input width (a multiple of 32), output width
//   xq  (T, n_in/4) u32 — int8 activations, four to a word
//   xs  (T, n_in/32) vec2<f32> — (d, s) per activation block
//   qs  (n_out, n_in/8) u32 — block b's 16 nibble bytes in words 4b..4b+3; byte j holds
//       value j (low nibble) and value j+16 (high nibble), as stored in the GGUF file
//   dm  (n_out, n_in/32) vec2<f32> — (d, m) per weight block
//   y   (T, n_out) f32, written
// Dispatch: (ceil(n_out/64), ceil(T/4), 1) workgroups of 64.
const TOKS: u32 = 4u;
struct Params { t: u32, n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn qmatmul_q4_1(@builtin(global_invocation_id) g: vec3<u32>) {
    let row = g.x;
    let t0 = g.y * TOKS;
    if (row >= p.n_out) {
        return;
    }
    let toks = min(TOKS, p.t - t0);
    let nb = p.n_in / 32u;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var b = 0u; b < nb; b++) {
        let w = qs[row * nb + b];
        let s = dm[row * nb + b];
        for (var k = 0u; k < toks; k++) {
            let xb = (t0 + k) * nb + b;
            let lo = xq[xb * 2u];      // values 0..15
            let hi = xq[xb * 2u + 1u]; // values 16..31
            let a = xs[xb];
            acc[k] += q4_1_term(w, s, lo, hi, a);
        }
    }
    for (var k = 0u; k < toks; k++) {
        y[(t0 + k) * p.n_out + row] = acc[k];
    }
}
