// Shared by the fused single-token kernels (attn, ffn_in, qmatvec_add, head), after
// quant.wgsl: each workgroup first takes its own copy of the input row `a` (declared by the
// kernel, with `fn input(k, m)`: its k-th value, normed by m or not) at 8 bits — normed first where the kernel norms — then its rows' products. A row is
// one invocation's (LANES = 1: CPU emulations of a GPU, no barrier between a row's blocks) or
// 32 lanes' (LANES = 32, a real GPU: a row's blocks read at once, their terms summed in order by
// lane 0). Either way every sum runs in the CPU backend's order, so results equal the unfused
// kernels'. LANES is a pipeline constant (each kernel is built both ways): as a uniform, its
// branches made llvmpipe's code 20–30× slower. (attn keeps a row per invocation everywhere, 256
// invocations a workgroup on a real GPU.)

override LANES: u32 = 1u;
// Invocations a workgroup: 64 rows of one lane, or 8 rows of 32 lanes (so that a workgroup's
// copy of the input serves 8 rows, not 2).
override WG: u32 = 64u;

var<workgroup> part: array<f32, 32>;
var<workgroup> aq: array<vec4<u32>, 128>; // the input at 8 bits: (64 blocks, lo and hi)
var<workgroup> as8: array<vec2<f32>, 64>; // (d, s) per block
var<workgroup> terms: array<f32, 1024>;   // (2 products, 8 rows, 64 blocks) of block terms

// The root mean square of `a` (n values) as the CPU's norm takes it: the squares in 32 strided
// partial sums at once, then the partials in order (numerics::sum_sq).
fn rms(n: u32, eps: f32, li: u32) -> f32 {
    if (li < 32u) {
        var s = 0.0;
        for (var i = li; i < n; i += 32u) {
            s += a[i] * a[i];
        }
        part[li] = s;
    }
    workgroupBarrier();
    var s = 0.0;
    for (var j = 0u; j < 32u; j++) {
        s += part[j];
    }
    return sqrt(s / f32(n) + eps);
}

// Keeps the input (n values, at most 64 blocks) at 8 bits, each value as the kernel's
// `input(k, m)` gives it (`a[k]`, or normed: a[k] / m · nw[k]), block li by invocation li; then
// a barrier, so every row can read it.
fn keep_input(n: u32, m: f32, f16_scale: bool, li: u32) {
    if (li < n / 32u) {
        var v: array<f32, 32>;
        for (var i = 0u; i < 32u; i++) {
            v[i] = input(li * 32u + i, m);
        }
        let q = q8_block(v, f16_scale);
        aq[li * 2u] = q.lo;
        aq[li * 2u + 1u] = q.hi;
        as8[li] = q.ds;
    }
    workgroupBarrier();
}

// Where an invocation works: its row, that row's place in the workgroup, its lane.
struct At { row: u32, r: u32, lane: u32 }

fn at_of(wg: u32, li: u32) -> At {
    return At(wg * (WG / LANES) + li / LANES, li / LANES, li % LANES);
}

// Block b's term of a Q4_1 row (w its nibbles, dm its (d, m)) against the kept input.
fn term(w: vec4<u32>, dm: vec2<f32>, b: u32) -> f32 {
    return q4_1_term(w, dm, aq[b * 2u], aq[b * 2u + 1u], as8[b]);
}

// Adds block b's term t of product k (0 or 1) to a row: to acc in order with one lane a row,
// else to `terms` for row_sum.
fn add_term(acc: f32, t: f32, at: At, b: u32, k: u32) -> f32 {
    if (LANES == 1u) {
        return acc + t;
    }
    terms[k * 512u + at.r * 64u + b] = t;
    return acc;
}

// A row's sum of product k (right at lane 0), after a barrier that follows every add_term
// (needed only with lanes > 1).
fn row_sum(acc: f32, at: At, nb: u32, k: u32) -> f32 {
    if (LANES == 1u) {
        return acc;
    }
    var s = 0.0;
    for (var b = 0u; b < nb; b++) {
        s = s + terms[k * 512u + at.r * 64u + b];
    }
    return s;
}
