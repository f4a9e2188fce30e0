// ffn_in: the FFN's input side for one token in one dispatch: the block's second norm of the
// residual stream, then silu(h · Gᵀ) · (h · Uᵀ) with G and U stored as Q4_1 blocks. The
// arithmetic is rms_norm's, quantize's and swiglu's (lib/rows.wgsl), so the result equals
// those kernels'.
//   p.d, p.eps, p.n_out  model width (a multiple of 32, ≤ 2048), the norm's epsilon, d_ff
//   a    (d) f32 — the residual stream
//   nw   (d) f32 — the norm's weights
//   gq, uq    (n_out, d/8) u32 — gate and up nibbles as stored (see qmatmul_q4_1.wgsl)
//   gdm, udm  (n_out, d/32) vec2<f32> — their (d, m) per block
//   y    (n_out) f32, written
// Dispatch: (ceil(n_out / (WG / LANES)), 1, 1) workgroups of WG (see lib/rows.wgsl).
struct Params { d: u32, eps: f32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> nw: array<f32>;
@group(0) @binding(3) var<storage, read> gq: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> gdm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> uq: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> udm: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

// The input's k-th value, normed (rms_norm.wgsl's arithmetic).
fn input(k: u32, m: f32) -> f32 {
    return a[k] / m * nw[k];
}

@compute @workgroup_size(WG)
fn ffn_in(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let m = rms(p.d, p.eps, li);
    keep_input(p.d, m, false, li);
    let nb = p.d / 32u;
    let at = at_of(wg.x, li);
    var gate = 0.0;
    var up = 0.0;
    if (at.row < p.n_out) {
        for (var b = at.lane; b < nb; b += LANES) {
            let w = at.row * nb + b;
            gate = add_term(gate, term(gq[w], gdm[w], b), at, b, 0u);
            up = add_term(up, term(uq[w], udm[w], b), at, b, 1u);
        }
    }
    if (LANES > 1u) {
        workgroupBarrier();
    }
    gate = row_sum(gate, at, nb, 0u);
    up = row_sum(up, at, nb, 1u);
    if (at.lane == 0u && at.row < p.n_out) {
        y[at.row] = silu(gate) * up;
    }
}
