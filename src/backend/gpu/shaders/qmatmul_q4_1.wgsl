// qmatmul_q4_1: y = x · Wᵀ with W stored as Q4_1 blocks, read directly (never dequantized
// into memory), against x quantized by quantize.wgsl (Q8_1). Each 32-value block adds
// d_w·d_x·Σ q_w q_x + m_w·s_x with an exact integer sum, and the block terms are summed in
// block order — the CPU kernel's arithmetic, so both give the same bits for the same input.
//   p.t, p.n_in, p.n_out  tokens, input width (a multiple of 32), output width
//   xq  (T, n_in/4) u32 — int8 activations, four to a word
//   xs  (T, n_in/32) vec2<f32> — (d, s) per activation block
//   qs  (n_out, n_in/8) u32 — block b's 16 nibble bytes in words 4b..4b+3; byte j holds
//       value j (low nibble) and value j+16 (high nibble), as stored in the GGUF file
//   dm  (n_out, n_in/32) vec2<f32> — (d, m) per weight block
//   y   (T, n_out) f32, written
// Dispatch: (ceil(n_out/4), ceil(T/4), 1) workgroups of 64: 4 rows × 16 lanes, a lane per
// block; 4 tokens per workgroup so each weight block read serves four tokens. n_in ≤ 2048.
const LANES: u32 = 16u;
const ROWS: u32 = 4u;
const TOKS: u32 = 4u;
const MAX_BLOCKS: u32 = 64u;
struct Params { t: u32, n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> terms: array<f32, 1024>; // (TOKS, ROWS, MAX_BLOCKS)

fn i8x4(w: u32) -> vec4<i32> {
    let v = bitcast<i32>(w);
    return vec4<i32>(extractBits(v, 0u, 8u), extractBits(v, 8u, 8u),
                     extractBits(v, 16u, 8u), extractBits(v, 24u, 8u));
}

fn nibbles(w: u32, shift: u32) -> vec4<i32> {
    return vec4<i32>((vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) >> vec4<u32>(shift)) & vec4<u32>(15u));
}

@compute @workgroup_size(64)
fn qmatmul_q4_1(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let lane = li % LANES;
    let row = wg.x * ROWS + li / LANES;
    let t0 = wg.y * TOKS;
    let nb = p.n_in / 32u;
    let r = li / LANES;
    if (row < p.n_out) {
        for (var b = lane; b < nb; b += LANES) {
            let w = qs[row * nb + b];
            let s = dm[row * nb + b];
            for (var k = 0u; k < TOKS; k++) {
                let t = t0 + k;
                if (t < p.t) {
                    let xb = t * nb + b;
                    let lo = xq[xb * 2u];      // values 0..15
                    let hi = xq[xb * 2u + 1u]; // values 16..31
                    let isum = dot(nibbles(w.x, 0u), i8x4(lo.x)) + dot(nibbles(w.y, 0u), i8x4(lo.y))
                             + dot(nibbles(w.z, 0u), i8x4(lo.z)) + dot(nibbles(w.w, 0u), i8x4(lo.w))
                             + dot(nibbles(w.x, 4u), i8x4(hi.x)) + dot(nibbles(w.y, 4u), i8x4(hi.y))
                             + dot(nibbles(w.z, 4u), i8x4(hi.z)) + dot(nibbles(w.w, 4u), i8x4(hi.w));
                    let a = xs[xb];
                    terms[(k * ROWS + r) * MAX_BLOCKS + b] = s.x * a.x * f32(isum) + s.y * a.y;
                }
            }
        }
    }
    workgroupBarrier();
    // Invocation (k, r) for li < 16 sums row r of token k in block order.
    let k = li / ROWS;
    let out_row = wg.x * ROWS + li % ROWS;
    let t = t0 + k;
    if (li < TOKS * ROWS && out_row < p.n_out && t < p.t) {
        var acc = 0.0;
        for (var b = 0u; b < nb; b++) {
            acc += terms[(k * ROWS + li % ROWS) * MAX_BLOCKS + b];
        }
        y[t * p.n_out + out_row] = acc;
    }
}
