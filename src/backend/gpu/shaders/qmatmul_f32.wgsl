// qmatmul_f32: y = x · Wᵀ with W in f32 (a file's f32 or f16 matrices; the CPU backend runs
// these through candle's f32 product), x unquantized. Each output sums its row's products in
// order. One invocation per output row and four tokens.
//   p.t, p.n_in, p.n_out  tokens, input width, output width
//   x  (T, n_in) f32
//   w  (n_out, n_in) f32
//   y  (T, n_out) f32, written
// Dispatch: (ceil(n_out/64), ceil(T/4), 1) workgroups of 64.
const TOKS: u32 = 4u;
struct Params { t: u32, n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn qmatmul_f32(@builtin(global_invocation_id) g: vec3<u32>) {
    let row = g.x;
    let t0 = g.y * TOKS;
    if (row >= p.n_out) {
        return;
    }
    let toks = min(TOKS, p.t - t0);
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var i = 0u; i < p.n_in; i++) {
        let wi = w[row * p.n_in + i];
        for (var k = 0u; k < toks; k++) {
            acc[k] += wi * x[(t0 + k) * p.n_in + i];
        }
    }
    for (var k = 0u; k < toks; k++) {
        y[(t0 + k) * p.n_out + row] = acc[k];
    }
}
