// qmatmul_q4_1: y = x · Wᵀ with W stored as Q4_1 blocks, read directly (never dequantized
// into memory), against x quantized by quantize.wgsl (Q8_1). Each 32-value block adds
// d_w·d_x·Σ q_w q_x + m_w·s_x with an exact integer sum, and the blocks are summed in order
// — the CPU kernel's arithmetic, so both give the same bits for the same input. Prompts (and
// every product on a CPU emulating a GPU): one invocation per output row and four tokens, no workgroup memory and no barriers (CPU
// emulations of WebGPU run these far faster; each weight block read serves four tokens).
// One token on a real GPU (p.lanes): 32 lanes per row take its blocks in turn (neighbouring
// lanes read neighbouring blocks), each block's term goes to workgroup memory, and one lane
// sums the terms in order — a row's blocks are then read at once, not one after another.
//   p.t, p.n_in, p.n_out  tokens, input width (a multiple of 32), output width
//   p.lanes  1: one token, a row's blocks over 32 lanes (see below)
//   xq  (T, n_in/4) u32 — int8 activations, four to a word
//   xs  (T, n_in/32) vec2<f32> — (d, s) per activation block
//   qs  (n_out, n_in/8) u32 — block b's 16 nibble bytes in words 4b..4b+3; byte j holds
//       value j (low nibble) and value j+16 (high nibble), as stored in the GGUF file
//   dm  (n_out, n_in/32) vec2<f32> — (d, m) per weight block
//   y   (T, n_out) f32, written
// Dispatch: (ceil(n_out/64), ceil(T/4), 1) workgroups of 64; with p.lanes, (ceil(n_out/2), 1, 1):
// two rows of 32 lanes (n_in ≤ 2048: at most 64 blocks a row).
const TOKS: u32 = 4u;
const LANES: u32 = 32u;
struct Params { t: u32, n_in: u32, n_out: u32, lanes: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> terms: array<f32, 128>; // (2 rows, 64 blocks)

@compute @workgroup_size(64)
fn qmatmul_q4_1(@builtin(global_invocation_id) g: vec3<u32>,
                @builtin(workgroup_id) wg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    if (p.lanes == 1u) {
        let r = li / LANES;
        let lane = li % LANES;
        let row = wg.x * 2u + r;
        let nb = p.n_in / 32u;
        if (row < p.n_out) {
            for (var b = lane; b < nb; b += LANES) {
                let s = dm[row * nb + b];
                let a = xs[b];
                terms[r * 64u + b] = s.x * a.x * f32(block_dot(qs[row * nb + b], xq[b * 2u], xq[b * 2u + 1u]))
                                   + s.y * a.y;
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
        return;
    }
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
            acc[k] += s.x * a.x * f32(block_dot(w, lo, hi)) + s.y * a.y;
        }
    }
    for (var k = 0u; k < toks; k++) {
        y[(t0 + k) * p.n_out + row] = acc[k];
    }
}
