// project: the emotion readout, y = x · basisᵀ.
//   p.t, p.d, p.n  tokens, row width (a multiple of 4), basis rows
//   x      (T, d) f32, as vec4
//   basis  (n, d) f32, as vec4
//   y      (T, n) f32, written
// Dispatch: (ceil(n/64), T, 1) workgroups of 64; one invocation per output value.
struct Params { t: u32, d: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> basis: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn project(@builtin(global_invocation_id) g: vec3<u32>) {
    let e = g.x;
    let t = g.y;
    if (e >= p.n) {
        return;
    }
    let d4 = p.d / 4u;
    var s = 0.0;
    for (var i = 0u; i < d4; i++) {
        s += dot(x[t * d4 + i], basis[e * d4 + i]);
    }
    y[t * p.n + e] = s;
}
