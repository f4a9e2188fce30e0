// rms_norm: each row of x divided by its root-mean-square, times w, as the CPU backend computes
// it: the squares (each rounded to f32) summed in order from the first, then y = x / rms · w.
// The next product quantizes y to 8 bits, and a last-bit difference here could round a value
// the other way there. The squares are made in parallel into workgroup memory and summed there
// by one invocation, eight at a time with the order kept (no fused multiply-add can creep in).
//   p.d, p.eps  row width (squares past 2048 are summed from x itself), epsilon inside the root
//   x  (T, d) f32
//   w  (d) f32
//   y  (T, d) f32, written
// Dispatch: (T, 1, 1) workgroups of 64; one workgroup per row.
struct Params { d: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> sq: array<f32, 2048>;
var<workgroup> rms: f32;

@compute @workgroup_size(64)
fn rms_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = wg.x * p.d;
    let n = min(p.d, 2048u);
    for (var i = li; i < n; i += 64u) {
        let v = x[row + i];
        sq[i] = v * v;
    }
    workgroupBarrier();
    if (li == 0u) {
        var s = 0.0;
        var i = 0u;
        for (; i + 8u <= n; i += 8u) {
            s = s + sq[i]; s = s + sq[i + 1u]; s = s + sq[i + 2u]; s = s + sq[i + 3u];
            s = s + sq[i + 4u]; s = s + sq[i + 5u]; s = s + sq[i + 6u]; s = s + sq[i + 7u];
        }
        for (; i < n; i++) {
            s = s + sq[i];
        }
        for (; i < p.d; i++) {
            s = s + x[row + i] * x[row + i];
        }
        rms = sqrt(s / f32(p.d) + p.eps);
    }
    workgroupBarrier();
    let m = rms;
    for (var i = li; i < p.d; i += 64u) {
        y[row + i] = x[row + i] / m * w[i];
    }
}
