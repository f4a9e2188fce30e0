// qmatmul_q8_16: y = x · Wᵀ with W stored as 32 signed bytes a block with a scale per 16
// values (Q6_K as QWeight::byte_blocks gives it), against x quantized by quantize.wgsl
// (Q8_1). Each half block adds d_h·d_x·Σ q_w q_x, the first half then the second, with exact integer sums, blocks summed in order — the CPU kernel's
// arithmetic (Format::Q8_16). One invocation per output row and four tokens.
//   p.t, p.n_in, p.n_out  tokens, input width (a multiple of 32), output width
//   xq  (T, n_in/4) u32 — int8 activations, four to a word
//   xs  (T, n_in/32) vec2<f32> — (d, s) per activation block (s unused)
//   qs  (n_out, n_in/4) u32 — the int8 weights, four to a word
//   sc  (n_out, n_in/32) vec2<f32> — (d₀, d₁) per weight block
//   y   (T, n_out) f32, written
// Dispatch: (ceil(n_out/64), ceil(T/4), 1) workgroups of 64.
const TOKS: u32 = 4u;
struct Params { t: u32, n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> sc: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn qmatmul_q8_16(@builtin(global_invocation_id) g: vec3<u32>) {
    let row = g.x;
    let t0 = g.y * TOKS;
    if (row >= p.n_out) {
        return;
    }
    let toks = min(TOKS, p.t - t0);
    let nb = p.n_in / 32u;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var b = 0u; b < nb; b++) {
        let w0 = qs[(row * nb + b) * 2u];
        let w1 = qs[(row * nb + b) * 2u + 1u];
        let s = sc[row * nb + b];
        for (var k = 0u; k < toks; k++) {
            let xb = (t0 + k) * nb + b;
            let lo = xq[xb * 2u];      // values 0..15
            let hi = xq[xb * 2u + 1u]; // values 16..31
            let dx = xs[xb].x;
            acc[k] += s.x * dx * f32(dot16(w0, lo));
            acc[k] += s.y * dx * f32(dot16(w1, hi));
        }
    }
    for (var k = 0u; k < toks; k++) {
        y[(t0 + k) * p.n_out + row] = acc[k];
    }
}
