// argmax: the index of the largest value of one row, as the CPU's greedy choice takes it (the
// first of equal values; NaN never wins; a row of NaN gives 0). The chosen id, not the row,
// goes back to the host. At a temperature > 0, the largest of x / temperature + g: a draw from
// softmax(x / temperature) by the Gumbel-max trick, g = -ln(-ln u), u uniform in (0, 1) from a
// hash of (seed, counter, index), so a seed draws the same tokens on every run.
//   p.n             values in the row
//   p.temperature   0: greedy
//   p.seed_lo/hi    the reply's seed
//   p.counter       which draw (the position of the token drawn)
//   x     (n) f32
//   y     (1) f32, written: the index (exact: n < 2^24)
// Dispatch: (1, 1, 1), one workgroup of 256; each thread scans a stride, then a tree reduction.
struct Params { n: u32, temperature: f32, seed_lo: u32, seed_hi: u32, counter: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const NONE: u32 = 0xffffffffu;
var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_i: array<u32, 256>;

// Whether (v, i) beats (w, j): larger, or equal and earlier; nothing beats a real value with NONE.
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
    if (i == NONE) { return false; }
    if (j == NONE) { return true; }
    return v > w || (v == w && i < j);
}

// PCG's output hash (O'Neill), one 32-bit word to another.
fn pcg(v: u32) -> u32 {
    let s = v * 747796405u + 2891336453u;
    let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

// Gumbel noise for index k of this draw.
fn gumbel(k: u32) -> f32 {
    let h = pcg(pcg(pcg(pcg(k) ^ p.counter) ^ p.seed_lo) ^ p.seed_hi);
    let u = (f32(h >> 8u) + 0.5) / 16777216.0;
    return -log(-log(u));
}

@compute @workgroup_size(256)
fn argmax(@builtin(local_invocation_index) li: u32) {
    var v = 0.0;
    var i = NONE;
    for (var k = li; k < p.n; k += 256u) {
        var a = x[k];
        if (p.temperature > 0.0) {
            a = a / p.temperature + gumbel(k);
        }
        // a == a is false for NaN: it never wins.
        if (a == a && (i == NONE || a > v)) {
            v = a;
            i = k;
        }
    }
    best_v[li] = v;
    best_i[li] = i;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s && beats(best_v[li + s], best_i[li + s], best_v[li], best_i[li])) {
            best_v[li] = best_v[li + s];
            best_i[li] = best_i[li + s];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        y[0] = select(f32(best_i[0]), 0.0, best_i[0] == NONE);
    }
}
