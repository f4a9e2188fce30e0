// argmax: the index of the largest value of one row, as the CPU's greedy choice takes it (the
// first of equal values; NaN never wins; a row of NaN gives 0). The chosen id, not the row,
// goes back to the host.
//   p.n   values in the row
//   x     (n) f32
//   y     (1) f32, written: the index (exact: n < 2^24)
// Dispatch: (1, 1, 1), one workgroup of 256; each thread scans a stride, then a tree reduction.
struct Params { n: u32 }
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

@compute @workgroup_size(256)
fn argmax(@builtin(local_invocation_index) li: u32) {
    var v = 0.0;
    var i = NONE;
    for (var k = li; k < p.n; k += 256u) {
        let a = x[k];
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
