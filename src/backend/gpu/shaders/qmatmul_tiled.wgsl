// qmatmul_tiled: y = x · Wᵀ with W stored as Q4_1 blocks, for many tokens on a real GPU, as
// matrix–matrix work: a workgroup takes a tile of 64 rows × 32 tokens and walks the blocks in
// chunks of 4, each chunk's weights and activations loaded once into workgroup memory and read
// there by every row and token of the tile (a weight block serves 32 tokens, an activation
// block 64 rows). Each output sums its block terms in order, so the result equals
// qmatmul_q4_1.wgsl's bit for bit (which CPU emulations of a GPU keep: their barriers and
// workgroup memory cost more than the reads saved).
//   p.t, p.n_in, p.n_out  tokens, input width (a multiple of 32), output width
//   xq  (T, n_in/4) u32 — int8 activations, four to a word (quantize.wgsl, Q8_1)
//   xs  (T, n_in/32) vec2<f32> — (d, s) per activation block
//   qs  (n_out, n_in/8) u32 — nibbles as stored (see qmatmul_q4_1.wgsl)
//   dm  (n_out, n_in/32) vec2<f32> — (d, m) per weight block
//   y   (T, n_out) f32, written
// Dispatch: (ceil(n_out/64), ceil(T/32), 1) workgroups of 256: invocation li takes row li % 64
// of the tile and its tokens 8·(li / 64) .. +8.
const ROWS: u32 = 64u;
const TOKS: u32 = 32u;
const PER: u32 = 8u; // tokens an invocation sums
const CH: u32 = 4u;  // blocks a chunk
struct Params { t: u32, n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> xs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> tw: array<vec4<u32>, 256>;  // (ROWS, CH) weight nibbles
var<workgroup> tdm: array<vec2<f32>, 256>; // (ROWS, CH) their (d, m)
var<workgroup> tlo: array<vec4<u32>, 128>; // (TOKS, CH) activation values 0..15
var<workgroup> thi: array<vec4<u32>, 128>; // values 16..31
var<workgroup> tas: array<vec2<f32>, 128>; // (d, s)

@compute @workgroup_size(256)
fn qmatmul_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row0 = wg.x * ROWS;
    let tok0 = wg.y * TOKS;
    let nb = p.n_in / 32u;
    let r = li % ROWS;
    let t_first = (li / ROWS) * PER;
    var acc: array<f32, 8>;
    for (var b0 = 0u; b0 < nb; b0 += CH) {
        // Loads: weight (row li / CH, block li % CH); activation (token li / CH, block li % CH).
        let wr = row0 + li / CH;
        let wb = b0 + li % CH;
        if (wr < p.n_out && wb < nb) {
            tw[li] = qs[wr * nb + wb];
            tdm[li] = dm[wr * nb + wb];
        }
        if (li < TOKS * CH) {
            let xt = tok0 + li / CH;
            if (xt < p.t && wb < nb) {
                let xb = xt * nb + wb;
                tlo[li] = xq[xb * 2u];
                thi[li] = xq[xb * 2u + 1u];
                tas[li] = xs[xb];
            }
        }
        workgroupBarrier();
        for (var c = 0u; c < min(CH, nb - b0); c++) {
            let w = tw[r * CH + c];
            let s = tdm[r * CH + c];
            for (var k = 0u; k < PER; k++) {
                let x = (t_first + k) * CH + c;
                acc[k] += q4_1_term(w, s, tlo[x], thi[x], tas[x]);
            }
        }
        workgroupBarrier();
    }
    let row = row0 + r;
    if (row >= p.n_out) {
        return;
    }
    for (var k = 0u; k < PER; k++) {
        let t = tok0 + t_first + k;
        if (t < p.t) {
            y[t * p.n_out + row] = acc[k];
        }
    }
}
