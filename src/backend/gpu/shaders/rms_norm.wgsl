// rms_norm: each row of x divided by its root-mean-square, times w, as the CPU backend computes
// it: the squares summed in 32 strided partial sums at once (lane j takes values j, j + 32, …),
// then the partials in order (numerics::sum_sq), and y = x / rms · w. The next product
// quantizes y to 8 bits, and a last-bit difference here could round a value the other way there.
//   p.d, p.eps  row width, epsilon inside the square root
//   x  (T, d) f32
//   w  (d) f32
//   y  (T, d) f32, written
// Dispatch: (T, 1, 1) workgroups of 64; one workgroup per row.
struct Params { d: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> part: array<f32, 32>;

@compute @workgroup_size(64)
fn rms_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = wg.x * p.d;
    if (li < 32u) {
        var s = 0.0;
        for (var i = li; i < p.d; i += 32u) {
            s += x[row + i] * x[row + i];
        }
        part[li] = s;
    }
    workgroupBarrier();
    var s = 0.0;
    for (var j = 0u; j < 32u; j++) {
        s += part[j];
    }
    let m = sqrt(s / f32(p.d) + p.eps);
    for (var i = li; i < p.d; i += 64u) {
        y[row + i] = x[row + i] / m * w[i];
    }
}
