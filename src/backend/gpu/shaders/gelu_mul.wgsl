// gelu_mul: y = gelu(gate) · up, elementwise, GELU's tanh approximation written as the CPU
// backend writes it: v·sigmoid(2z), z = √(2/π)·v·(1 + 0.044715·v²) (Gemma's FFN).
//   p.n  number of values
//   gate, up  (n) f32
//   y         (n) f32, written
// Dispatch: (gx, gy, 1) workgroups of 64 covering n (value i = (wg.y·gx + wg.x)·64 + li).
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn gelu_mul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.n) {
        return;
    }
    let v = gate[i];
    let z = 0.7978846 * v * (1.0 + 0.044715 * v * v);
    y[i] = v / (1.0 + exp(-2.0 * z)) * up[i];
}
