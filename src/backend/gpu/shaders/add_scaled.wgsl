// add_scaled: the steering add, y = x + alpha · v on every row.
//   p.n, p.d, p.alpha  values in x, row width, strength
//   x  (T, d) f32
//   v  (d) f32
//   y  (T, d) f32, written
// Dispatch: (gx, gy, 1) workgroups of 64 covering n (value i = (wg.y·gx + wg.x)·64 + li).
struct Params { n: u32, d: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn add_scaled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.n) {
        return;
    }
    y[i] = x[i] + p.alpha * v[i % p.d];
}
