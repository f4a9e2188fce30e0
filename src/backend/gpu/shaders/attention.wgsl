// attention: causal grouped-query attention of every query head over the key/value cache,
// all heads and tokens in one dispatch. Query head h reads kv head h / (n_head / n_kv_head);
// row t (position pos + t) sees cache positions 0..=pos + t. Online softmax per invocation,
// merged across the workgroup. The pass's own keys and values are read from its inputs and
// appended to the cache in the same dispatch (by the first query head of each kv head, for
// token row 0), so no copy breaks the compute pass. (One token's attention is attn.wgsl's.)
//   p.t, p.pos, p.n_head, p.n_kv_head, p.scale  (scale: the model's, 1/sqrt(head_dim) mostly)
//   p.window  0, or how many positions (itself included) each row sees (a sliding window)
//   q   (T, n_head*head_dim) f32, as vec4
//   kn  (T, n_kv_head*head_dim) f32, as vec4 — this pass's keys (positions pos..pos+T)
//   vn  (T, n_kv_head*head_dim) f32, as vec4 — this pass's values
//   k   (capacity, n_kv_head*head_dim) f32, as vec4 — the cache, rows 0..pos filled;
//       pos..pos+T written
//   v   (capacity, n_kv_head*head_dim) f32, as vec4
//   y   (T, n_head*head_dim) f32, written
// Dispatch: (n_head, T, 1) workgroups of WG. Written for heads of 64 values; kernels.rs sets
// HD4 and WG for other widths (powers of two from 16 to 256: WG = min(32, head_dim/2,
// 2048/head_dim), so the workgroup's partial sums stay at 8 KB and each invocation finishes
// PER = head_dim/WG of the head's values).
const HD4: u32 = 16u; // head_dim / 4
const WG: u32 = 32u;
const PER: u32 = HD4 * 4u / WG;
struct Params { t: u32, pos: u32, n_head: u32, n_kv_head: u32, scale: f32, window: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kn: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vn: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> k: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

var<workgroup> w_max: array<f32, WG>;
var<workgroup> w_sum: array<f32, WG>;
var<workgroup> w_acc: array<vec4<f32>, WG * HD4>; // (WG, HD4)

@compute @workgroup_size(WG)
fn attention(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let h = wg.x;
    let t = wg.y;
    let kv_head = h / (p.n_head / p.n_kv_head);
    let kv_row = p.n_kv_head * HD4;
    let q_at = (t * p.n_head + h) * HD4;
    var qv: array<vec4<f32>, HD4>;
    for (var i = 0u; i < HD4; i++) {
        qv[i] = q[q_at + i];
    }
    if (h % (p.n_head / p.n_kv_head) == 0u && t == 0u) {
        for (var r = li; r < p.t * HD4; r += WG) {
            let src = (r / HD4) * kv_row + kv_head * HD4 + r % HD4;
            k[p.pos * kv_row + src] = kn[src];
            v[p.pos * kv_row + src] = vn[src];
        }
    }
    var m = -3.0e38;
    var l = 0.0;
    var acc: array<vec4<f32>, HD4>;
    let last = p.pos + t;
    let first = select(0u, last + 1u - p.window, p.window > 0u && last + 1u > p.window);
    for (var j = first + li; j <= last; j += WG) {
        // Positions before the pass from the cache, the pass's own from its inputs.
        let cached = j < p.pos;
        let at = select(j - p.pos, j, cached) * kv_row + kv_head * HD4;
        var s = 0.0;
        if (cached) {
            for (var i = 0u; i < HD4; i++) {
                s += dot(qv[i], k[at + i]);
            }
        } else {
            for (var i = 0u; i < HD4; i++) {
                s += dot(qv[i], kn[at + i]);
            }
        }
        s *= p.scale;
        let m_new = max(m, s);
        let fade = exp(m - m_new);
        let w = exp(s - m_new);
        l = l * fade + w;
        if (cached) {
            for (var i = 0u; i < HD4; i++) {
                acc[i] = acc[i] * fade + w * v[at + i];
            }
        } else {
            for (var i = 0u; i < HD4; i++) {
                acc[i] = acc[i] * fade + w * vn[at + i];
            }
        }
        m = m_new;
    }
    w_max[li] = m;
    workgroupBarrier();
    var m_all = -3.0e38;
    for (var i = 0u; i < WG; i++) {
        m_all = max(m_all, w_max[i]);
    }
    let f = exp(m - m_all);
    w_sum[li] = l * f;
    for (var i = 0u; i < HD4; i++) {
        w_acc[li * HD4 + i] = acc[i] * f;
    }
    workgroupBarrier();
    // Invocation li finishes values PER·li .. PER·li + PER of the head.
    var total = 0.0;
    for (var i = 0u; i < WG; i++) {
        total += w_sum[i];
    }
    let y_at = (t * p.n_head + h) * HD4 * 4u + li * PER;
    for (var e = 0u; e < PER; e++) {
        let c = li * PER + e;
        var out = 0.0;
        for (var i = 0u; i < WG; i++) {
            out += w_acc[i * HD4 + c / 4u][c % 4u];
        }
        y[y_at + e] = out / total;
    }
}
