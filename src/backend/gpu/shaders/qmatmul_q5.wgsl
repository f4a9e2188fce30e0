// qmatmul_q5: y = x · Wᵀ with W stored as 5-bit blocks (Q5_0, Q5_1 and Q5_K's sub-blocks, as
// QWeight::five_bit_blocks gives them), against x quantized by quantize.wgsl (Q8_1). Each
// 32-value block adds d_w·d_x·Σ q_w q_x + m_w·s_x with an exact integer sum, blocks summed in
// order — the CPU kernel's arithmetic (Format::Q5), so both give the same bits for the same
// input. One invocation per output row and four tokens, as qmatmul_q4_1.wgsl.
//   p.t, p.n_in, p.n_out  tokens, input width (a multiple of 32), output width
//   xq  (T, n_in/4) u32 — int8 activations, four to a word
//   xs  (T, n_in/32) vec2<f32> — (d, s) per activation block
//   qs  (n_out, n_in/32 · 5) u32 — per block its 16 nibble bytes (as Q4_1's: byte j holds
//       value j low and value j+16 high), then a word whose bit j is value j's fifth bit
//   dm  (n_out, n_in/32) vec2<f32> — (d, m) per weight block
//   y   (T, n_out) f32, written
// Dispatch: (ceil(n_out/64), ceil(T/4), 1) workgroups of 64.
const TOKS: u32 = 4u;
struct Params { t: u32, n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> qs: array<u32>;
@group(0) @binding(4) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// Word `w`'s four nibbles at `shift` with their fifth bits, the low four bits of `h`, as 16s.
fn fives(w: u32, shift: u32, h: u32) -> vec4<i32> {
    let high = (vec4<u32>(h) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u);
    return nibbles(w, shift) | vec4<i32>(high << vec4<u32>(4u));
}

@compute @workgroup_size(64)
fn qmatmul_q5(@builtin(global_invocation_id) g: vec3<u32>) {
    let row = g.x;
    let t0 = g.y * TOKS;
    if (row >= p.n_out) {
        return;
    }
    let toks = min(TOKS, p.t - t0);
    let nb = p.n_in / 32u;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var b = 0u; b < nb; b++) {
        let at = (row * nb + b) * 5u;
        let w = vec4<u32>(qs[at], qs[at + 1u], qs[at + 2u], qs[at + 3u]);
        let h = qs[at + 4u];
        let s = dm[row * nb + b];
        for (var k = 0u; k < toks; k++) {
            let xb = (t0 + k) * nb + b;
            let lo = xq[xb * 2u];      // values 0..15
            let hi = xq[xb * 2u + 1u]; // values 16..31
            var isum = 0;
            for (var i = 0u; i < 4u; i++) {
                isum += dot(fives(w[i], 0u, h >> (4u * i)), i8x4(lo[i]))
                      + dot(fives(w[i], 4u, h >> (16u + 4u * i)), i8x4(hi[i]));
            }
            let a = xs[xb];
            acc[k] += s.x * a.x * f32(isum) + s.y * a.y;
        }
    }
    for (var k = 0u; k < toks; k++) {
        y[(t0 + k) * p.n_out + row] = acc[k];
    }
}
