// qmatvec_add: y = r + a · Wᵀ for one token, W stored as Q4_1 blocks: the attention's output
// projection or the FFN's down product with the residual add, in one dispatch. The arithmetic
// is quantize's, the Q4_1 product's and add's (lib/rows.wgsl), so the result equals theirs.
//   p.n_in, p.n_out  input width (a multiple of 32, ≤ 2048), output width
//   a   (n_in) f32 — the product's input
//   qs  (n_out, n_in/8) u32 — nibbles as stored (see qmatmul_q4_1.wgsl)
//   dm  (n_out, n_in/32) vec2<f32> — (d, m) per block
//   r   (n_out) f32 — the residual stream
//   y   (n_out) f32, written
// Dispatch: (ceil(n_out / (WG / LANES)), 1, 1) workgroups of WG (see lib/rows.wgsl).
struct Params { n_in: u32, n_out: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> r: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// The input's k-th value, as it is (no norm before this product).
fn input(k: u32, m: f32) -> f32 {
    return a[k];
}

@compute @workgroup_size(WG)
fn qmatvec_add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    keep_input(p.n_in, 1.0, false, li);
    let nb = p.n_in / 32u;
    let at = at_of(wg.x, li);
    var acc = 0.0;
    if (at.row < p.n_out) {
        for (var b = at.lane; b < nb; b += LANES) {
            acc = add_term(acc, term(qs[at.row * nb + b], dm[at.row * nb + b], b), at, b, 0u);
        }
    }
    if (LANES > 1u) {
        workgroupBarrier();
    }
    acc = row_sum(acc, at, nb, 0u);
    if (at.lane == 0u && at.row < p.n_out) {
        y[at.row] = r[at.row] + acc;
    }
}
