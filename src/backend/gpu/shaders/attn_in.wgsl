// attn_in: the attention's input side for one token in one dispatch: the block's norm of the
// residual stream, the q, k and v products (their rows stacked in one Q4_1 matrix), RoPE on q
// and k, and k and v appended to the cache. The arithmetic is rms_norm's, quantize's, the Q4_1
// products' and rope's (lib/rows.wgsl), so the results equal those kernels'.
//   p.d, p.eps      model width (a multiple of 32, ≤ 2048), the norm's epsilon
//   p.n_q, p.n_kv   rows of q (n_head·head_dim), and of k and of v (n_kv_head·head_dim)
//   p.half, p.pos   head_dim / 2, the token's position
//   a    (d) f32 — the residual stream
//   nw   (d) f32 — the norm's weights
//   qs   (n_q + 2·n_kv, d/8) u32 — wq, wk, wv nibbles stacked (see qmatmul_q4_1.wgsl)
//   dm   (n_q + 2·n_kv, d/32) vec2<f32> — their (d, m) per block
//   cs   (context, half) vec2<f32> — RoPE's (cos, sin)
//   q    (n_q) f32, written
//   kc, vc  (capacity, n_kv) f32 — the cache: row pos written
// Dispatch: (ceil((n_q + 2·n_kv) / (WG / LANES)), 1, 1) workgroups of WG (see lib/rows.wgsl).
struct Params { d: u32, eps: f32, n_q: u32, n_kv: u32, half: u32, pos: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> nw: array<f32>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> cs: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> q: array<f32>;
@group(0) @binding(7) var<storage, read_write> kc: array<f32>;
@group(0) @binding(8) var<storage, read_write> vc: array<f32>;

var<workgroup> rows_out: array<f32, 64>;

// The input's k-th value, normed (rms_norm.wgsl's arithmetic).
fn input(k: u32, m: f32) -> f32 {
    return a[k] / m * nw[k];
}

@compute @workgroup_size(WG)
fn attn_in(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let m = rms(p.d, p.eps, li);
    keep_input(p.d, m, false, li);
    let nb = p.d / 32u;
    let at = at_of(wg.x, li);
    let rows = p.n_q + 2u * p.n_kv;
    var acc = 0.0;
    if (at.row < rows) {
        for (var b = at.lane; b < nb; b += LANES) {
            let t = term(qs[at.row * nb + b], dm[at.row * nb + b], b);
            acc = add_term(acc, t, at, b, 0u);
        }
    }
    if (LANES > 1u) {
        workgroupBarrier();
    }
    acc = row_sum(acc, at, nb, 0u);
    if (at.lane == 0u) {
        rows_out[at.r] = acc;
    }
    workgroupBarrier();
    if (at.lane != 0u || at.row >= rows) {
        return;
    }
    if (at.row >= p.n_q + p.n_kv) {
        vc[p.pos * p.n_kv + at.row - p.n_q - p.n_kv] = acc;
        return;
    }
    // RoPE on the pair (2j, 2j+1) of a head that this row is one of, as rope.wgsl: rows come
    // in pairs within a workgroup (it starts on an even row), the partner is r ^ 1.
    let even = at.row % 2u == 0u;
    let other = rows_out[at.r ^ 1u];
    let x0 = select(other, acc, even);
    let x1 = select(acc, other, even);
    let c = cs[p.pos * p.half + (at.row % (2u * p.half)) / 2u];
    let y = select(x0 * c.y + x1 * c.x, x0 * c.x - x1 * c.y, even);
    if (at.row < p.n_q) {
        q[at.row] = y;
    } else {
        kc[p.pos * p.n_kv + at.row - p.n_q] = y;
    }
}
