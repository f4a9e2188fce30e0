// gated: y = act(gate) · up, elementwise, act SiLU (p.gelu = 0) or GELU's tanh approximation
// (p.gelu = 1, Gemma's FFN), as the shared `silu` and `gelu` write them.
//   p.n  number of values
//   gate, up  (n) f32
//   y         (n) f32, written
// Dispatch: (gx, gy, 1) workgroups of 64 covering n (gx ≤ 65535; value i = (wg.y·gx + wg.x)·64 + li).
struct Params { n: u32, gelu: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn gated(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.n) {
        return;
    }
    var a: f32;
    if (p.gelu == 1u) {
        a = gelu(gate[i]);
    } else {
        a = silu(gate[i]);
    }
    y[i] = a * up[i];
}
