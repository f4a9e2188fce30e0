// head: the logits of one token in one dispatch: the final norm, then y = h · Wᵀ with W the
// Q8_0 output matrix, a row per invocation. The arithmetic is rms_norm's, quantize's (Q8_0)
// and qmatmul_q8_0's (lib/rows.wgsl), so the result equals those kernels'.
//   p.d, p.eps, p.n_out  model width (a multiple of 32, ≤ 2048), the norm's epsilon, vocabulary
//   a      (d) f32 — the residual stream
//   nw     (d) f32 — the norm's weights
//   qs     (n_out, d/4) u32 — the stored int8 weights, four to a word
//   scale  (n_out, d/32) f32
//   y      (n_out) f32, written
// Dispatch: (ceil(n_out/64), 1, 1) workgroups of 64.
struct Params { d: u32, eps: f32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> nw: array<f32>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// The input's k-th value, normed (rms_norm.wgsl's arithmetic).
fn input(k: u32, m: f32) -> f32 {
    return a[k] / m * nw[k];
}

@compute @workgroup_size(64)
fn head(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let m = rms(p.d, p.eps, li);
    keep_input(p.d, m, true, li);
    let nb = p.d / 32u;
    let row = wg.x * 64u + li;
    if (row >= p.n_out) {
        return;
    }
    var acc = 0.0;
    for (var b = 0u; b < nb; b++) {
        let w = row * nb + b;
        let isum = dot16(qs[w * 2u], aq[b * 2u]) + dot16(qs[w * 2u + 1u], aq[b * 2u + 1u]);
        acc += scale[w] * as8[b].x * f32(isum);
    }
    y[row] = acc;
}
