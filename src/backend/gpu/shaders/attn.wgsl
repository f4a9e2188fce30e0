// attn: one token's whole attention in one dispatch, a workgroup per key/value head (QH = 0)
// or per QH of its query heads: the block's norm of the residual stream; the rows of q (the
// workgroup's query heads), k and v from one stacked Q4_1 matrix; RoPE on q and k; k and v
// appended to the cache (by each of a kv head's workgroups, the same values); then each of
// its query heads attends over the cache, and its output is written over its q. The
// arithmetic is rms_norm's, quantize's, the Q4_1 products' and rope's (lib/rows.wgsl), then
// attention.wgsl's (the same 32 invocations, strides and merge), so the results equal those
// kernels'.
//   p.d, p.eps      model width (a multiple of 32, ≤ 2048), the norm's epsilon
//   p.n_q, p.n_kv   rows of q (n_head·head_dim), and of k and of v (n_kv_head·head_dim)
//   p.half, p.pos   head_dim / 2 (32), the token's position
//   p.group, p.scale  query heads per kv head, 1/sqrt(head_dim)
//   a    (d) f32 — the residual stream
//   nw   (d) f32 — the norm's weights
//   qs   (n_q + 2·n_kv, d/8) u32 — wq, wk, wv nibbles stacked (see qmatmul_q4_1.wgsl)
//   dm   (n_q + 2·n_kv, d/32) vec2<f32> — their (d, m) per block
//   cs   (context, half) vec2<f32> — RoPE's (cos, sin)
//   q    (n_q) f32, written: q, then the attention's output over it
//   kc, vc  (capacity, n_kv) f32 — the cache: row pos written
// Dispatch: (n_head / QH, 1, 1) workgroups of WG (n_kv_head with QH = 0), a row per
// invocation (LANES is 1).
struct Params { d: u32, eps: f32, n_q: u32, n_kv: u32, half: u32, pos: u32, group: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> nw: array<f32>;
@group(0) @binding(3) var<storage, read> qs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> dm: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> cs: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> q: array<f32>;
@group(0) @binding(7) var<storage, read_write> kc: array<f32>;
@group(0) @binding(8) var<storage, read_write> vc: array<f32>;

// Query heads a workgroup takes: 0 for all those of a kv head (p.group; a CPU emulating a
// GPU, whose cores are few), 1 on a real GPU (a kv head's k and v rows then made group times,
// for group times the workgroups).
override QH: u32 = 0u;

const HD4: u32 = 16u; // head_dim / 4
const ATT: u32 = 32u; // invocations attending (attention.wgsl's workgroup)

var<workgroup> rows_out: array<f32, 256>;
var<workgroup> w_max: array<f32, 32>;
var<workgroup> w_sum: array<f32, 32>;
var<workgroup> w_acc: array<vec4<f32>, 512>; // (ATT, HD4)

// The input's k-th value, normed (rms_norm.wgsl's arithmetic).
fn input(k: u32, m: f32) -> f32 {
    return a[k] / m * nw[k];
}

// Row r of the workgroup's q, k and v rows in the stacked matrix (query heads from h0, nq
// rows of them; kv head g).
fn stacked_row(h0: u32, nq: u32, g: u32, r: u32) -> u32 {
    let hd = 2u * p.half;
    if (r < nq) {
        return h0 * hd + r;
    }
    if (r < nq + hd) {
        return p.n_q + g * hd + r - nq;
    }
    return p.n_q + p.n_kv + g * hd + r - nq - hd;
}

// Four floats of the cache from index i.
fn k4(i: u32) -> vec4<f32> {
    return vec4<f32>(kc[i], kc[i + 1u], kc[i + 2u], kc[i + 3u]);
}

fn v4(i: u32) -> vec4<f32> {
    return vec4<f32>(vc[i], vc[i + 1u], vc[i + 2u], vc[i + 3u]);
}

@compute @workgroup_size(WG)
fn attn(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let qh = select(QH, p.group, QH == 0u);
    let h0 = wg.x * qh;
    let g = h0 / p.group;
    let m = rms(p.d, p.eps, li);
    keep_input(p.d, m, false, li);
    let nb = p.d / 32u;
    let hd = 2u * p.half;
    let nq = qh * hd;
    let rows = nq + 2u * hd;
    // The rows in rounds of WG, each round's RoPE pairs within it (rounds start on even rows).
    for (var base = 0u; base < rows; base += WG) {
        let r = base + li;
        var acc = 0.0;
        let row = stacked_row(h0, nq, g, r);
        if (r < rows) {
            for (var b = 0u; b < nb; b++) {
                acc += term(qs[row * nb + b], dm[row * nb + b], b);
            }
        }
        rows_out[li] = acc;
        workgroupBarrier();
        if (r < nq + hd) {
            // RoPE on the pair (2j, 2j+1) of a head, as rope.wgsl; the partner is li ^ 1.
            let even = r % 2u == 0u;
            let other = rows_out[li ^ 1u];
            let x0 = select(other, acc, even);
            let x1 = select(acc, other, even);
            let c = cs[p.pos * p.half + (r % hd) / 2u];
            let y = select(x0 * c.y + x1 * c.x, x0 * c.x - x1 * c.y, even);
            if (r < nq) {
                q[row] = y;
            } else {
                kc[p.pos * p.n_kv + row - p.n_q] = y;
            }
        } else if (r < rows) {
            vc[p.pos * p.n_kv + row - p.n_q - p.n_kv] = acc;
        }
        workgroupBarrier();
    }
    // q, k and v written above are read below by other invocations of this workgroup.
    storageBarrier();
    let kv_row = p.n_kv / 4u;
    for (var hh = 0u; hh < qh; hh++) {
        let q_at = (h0 + hh) * hd;
        var mx = -3.0e38;
        var l = 0.0;
        var acc: array<vec4<f32>, 16>;
        if (li < ATT) {
            var qv: array<vec4<f32>, 16>;
            for (var i = 0u; i < HD4; i++) {
                let at = q_at + 4u * i;
                qv[i] = vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]);
            }
            for (var j = li; j <= p.pos; j += ATT) {
                let at = (j * kv_row + g * HD4) * 4u;
                var s = 0.0;
                for (var i = 0u; i < HD4; i++) {
                    s += dot(qv[i], k4(at + 4u * i));
                }
                s *= p.scale;
                let m_new = max(mx, s);
                let fade = exp(mx - m_new);
                let w = exp(s - m_new);
                l = l * fade + w;
                for (var i = 0u; i < HD4; i++) {
                    acc[i] = acc[i] * fade + w * v4(at + 4u * i);
                }
                mx = m_new;
            }
            w_max[li] = mx;
        }
        workgroupBarrier();
        if (li < ATT) {
            var m_all = -3.0e38;
            for (var i = 0u; i < ATT; i++) {
                m_all = max(m_all, w_max[i]);
            }
            let f = exp(mx - m_all);
            w_sum[li] = l * f;
            for (var i = 0u; i < HD4; i++) {
                w_acc[li * HD4 + i] = acc[i] * f;
            }
        }
        workgroupBarrier();
        if (li < ATT) {
            // Invocation li finishes values 2li and 2li+1 of the head, over its q.
            var total = 0.0;
            var out = vec2<f32>(0.0);
            for (var i = 0u; i < ATT; i++) {
                total += w_sum[i];
                let a = w_acc[i * HD4 + li / 2u];
                out += select(a.xy, a.zw, li % 2u == 1u);
            }
            q[q_at + li * 2u] = out.x / total;
            q[q_at + li * 2u + 1u] = out.y / total;
        }
        workgroupBarrier();
    }
}
