// scale: y = x · s, elementwise (Gemma's embedding scale).
//   p.n, p.s  number of values, the factor
//   x  (n) f32
//   y  (n) f32, written
// Dispatch: (gx, gy, 1) workgroups of 64 covering n (value i = (wg.y·gx + wg.x)·64 + li).
struct Params { n: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.n) {
        return;
    }
    y[i] = x[i] * p.s;
}
