// qmatmul_q8_0: y = x · Wᵀ with W stored as Q8_0 blocks (the tied embedding/output matrix),
// read directly, against x quantized by quantize.wgsl (Q8_0). Each 32-value block adds
// (d_w·d_x)·Σ q_w q_x with an exact integer sum, as the CPU backend does.
//   p.t, p.n_in, p.n_out  tokens, input width (a multiple of 32), output width
//   xq    (T, n_in/4) u32 — int8 activations, four to a word
//   xs    (T, n_in/32) vec2<f32> — (d, unused) per activation block
//   qs    (n_out, n_in/4) u32 — the stored int8 weights, four to a word
//   scale (n_out, n_in/32) f32
//   y     (T, n_out) f32, written
// Dispatch: (ceil(n_out/4), ceil(T/4), 1) workgroups of 64: 4 rows × 16 lanes, a lane per
// block, 4 tokens per workgroup.
const LANES: u32 = 16u;
const ROWS: u32 = 4u;
const TOKS: u32 = 4u;
struct Params { t: u32, n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> part: array<f32, 256>; // (TOKS, 64)

fn i8x4(w: u32) -> vec4<i32> {
    let v = bitcast<i32>(w);
    return vec4<i32>(extractBits(v, 0u, 8u), extractBits(v, 8u, 8u),
                     extractBits(v, 16u, 8u), extractBits(v, 24u, 8u));
}

fn dot16(a: vec4<u32>, b: vec4<u32>) -> i32 {
    return dot(i8x4(a.x), i8x4(b.x)) + dot(i8x4(a.y), i8x4(b.y))
         + dot(i8x4(a.z), i8x4(b.z)) + dot(i8x4(a.w), i8x4(b.w));
}

@compute @workgroup_size(64)
fn qmatmul_q8_0(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let lane = li % LANES;
    let row = wg.x * ROWS + li / LANES;
    let t0 = wg.y * TOKS;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    if (row < p.n_out) {
        let nb = p.n_in / 32u;
        for (var b = lane; b < nb; b += LANES) {
            let w0 = qs[(row * nb + b) * 2u];
            let w1 = qs[(row * nb + b) * 2u + 1u];
            let d = scale[row * nb + b];
            for (var k = 0u; k < TOKS; k++) {
                let t = t0 + k;
                if (t < p.t) {
                    let xb = t * nb + b;
                    let isum = dot16(w0, xq[xb * 2u]) + dot16(w1, xq[xb * 2u + 1u]);
                    acc[k] += d * xs[xb].x * f32(isum);
                }
            }
        }
    }
    for (var k = 0u; k < TOKS; k++) {
        part[k * 64u + li] = acc[k];
    }
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
            for (var k = 0u; k < TOKS; k++) {
                part[k * 64u + li] += part[k * 64u + li + s];
            }
        }
        workgroupBarrier();
    }
    if (lane == 0u && row < p.n_out) {
        for (var k = 0u; k < TOKS; k++) {
            let t = t0 + k;
            if (t < p.t) {
                y[t * p.n_out + row] = part[k * 64u + li];
            }
        }
    }
}
