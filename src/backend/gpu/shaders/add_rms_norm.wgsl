// add_rms_norm: s = a + b (the residual add), and y = rms_norm(s) · w, in one dispatch with
// the arithmetic of add.wgsl then rms_norm.wgsl (the squares in 32 strided partial sums, then
// the partials in order; y = s / rms · w), so the results equal the two kernels'.
//   p.d, p.eps  row width (≤ 1024), epsilon inside the square root
//   a, b  (T, d) f32
//   w     (d) f32
//   s     (T, d) f32, written
//   y     (T, d) f32, written
// Dispatch: (T, 1, 1) workgroups of 64; one workgroup per row.
struct Params { d: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> s: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> sum: array<f32, 1024>;
var<workgroup> part: array<f32, 32>;

@compute @workgroup_size(64)
fn add_rms_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = wg.x * p.d;
    for (var i = li; i < p.d; i += 64u) {
        let v = a[row + i] + b[row + i];
        sum[i] = v;
        s[row + i] = v;
    }
    workgroupBarrier();
    if (li < 32u) {
        var ss = 0.0;
        for (var i = li; i < p.d; i += 32u) {
            ss += sum[i] * sum[i];
        }
        part[li] = ss;
    }
    workgroupBarrier();
    var ss = 0.0;
    for (var j = 0u; j < 32u; j++) {
        ss += part[j];
    }
    let m = sqrt(ss / f32(p.d) + p.eps);
    for (var i = li; i < p.d; i += 64u) {
        y[row + i] = sum[i] / m * w[i];
    }
}
