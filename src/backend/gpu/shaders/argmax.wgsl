// argmax: the index of the largest value of one row, as the CPU's greedy choice takes it (the
// first of equal values; NaN never wins; a row of NaN gives 0). The chosen id, not the row,
// goes back to the host. At a temperature > 0, the largest of z / temperature + g: a draw from
// softmax(z / temperature) by the Gumbel-max trick, g = -ln(-ln u), u uniform in (0, 1) from a
// hash of (seed, counter, index), so a seed draws the same tokens on every run. Before either:
// the repeat penalty (z = x / penalty, or x · penalty where x < 0, once for each id among the
// recent tokens; z = x without it). With top_p < 1 the draw is among the nucleus only: the
// tokens whose z is at least the largest threshold that keeps top_p of the probability mass,
// found by bisection (the CPU's sorted prefix, but for ties at its edge).
//   p.n             values in the row
//   p.temperature   0: greedy
//   p.seed_lo/hi    the reply's seed
//   p.counter       which draw: the position of the last token read (it is among the recent)
//   p.top_p         nucleus mass in (0, 1]
//   p.penalty       repeat penalty (1: none, and `recent` is not read)
//   p.last_n        how many recent tokens the penalty looks at (1..=256)
//   x       (n) f32
//   recent  (1 + last_n) f32 — an earlier draw's y (or the host's): [_, slots]; the token at
//           position i is in slot i % last_n, slots 0..min(counter + 1, last_n) filled
//   y       (1 + last_n) f32, written: the index (exact: n < 2^24), then the slots with it added
//           at position counter + 1 (only with a penalty)
// Dispatch: (1, 1, 1), one workgroup of 256; each thread scans a stride, then a tree reduction.
struct Params { n: u32, temperature: f32, seed_lo: u32, seed_hi: u32, counter: u32, top_p: f32, penalty: f32, last_n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> recent: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const NONE: u32 = 0xffffffffu;
const SLOTS: u32 = 1024u; // the recent ids' hash table (≥ 4 × 256)
var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_i: array<u32, 256>;
var<workgroup> seen: array<u32, 1024>; // id + 1, 0 empty

// Whether (v, i) beats (w, j): larger, or equal and earlier; nothing beats a real value with NONE.
fn beats(v: f32, i: u32, w: f32, j: u32) -> bool {
    if (i == NONE) { return false; }
    if (j == NONE) { return true; }
    return v > w || (v == w && i < j);
}

// PCG's output hash (O'Neill), one 32-bit word to another.
fn pcg(v: u32) -> u32 {
    let s = v * 747796405u + 2891336453u;
    let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

// Gumbel noise for index k of this draw.
fn gumbel(k: u32) -> f32 {
    let h = pcg(pcg(pcg(pcg(k) ^ p.counter) ^ p.seed_lo) ^ p.seed_hi);
    let u = (f32(h >> 8u) + 0.5) / 16777216.0;
    return -log(-log(u));
}

fn slot_of(id: u32) -> u32 {
    return (id * 2654435761u) >> 22u;
}

// Whether id is among the recent tokens.
fn was_seen(id: u32) -> bool {
    var s = slot_of(id);
    while (seen[s] != 0u && seen[s] != id + 1u) {
        s = (s + 1u) % SLOTS;
    }
    return seen[s] != 0u;
}

// Value k after the penalty and the temperature.
fn z(k: u32) -> f32 {
    var v = x[k];
    if (p.penalty != 1.0 && was_seen(k)) {
        v = select(v * p.penalty, v / p.penalty, v >= 0.0);
    }
    if (p.temperature > 0.0) {
        v = v / p.temperature;
    }
    return v;
}

// The sum over the workgroup of each invocation's s (the same at every invocation).
fn total(s: f32, li: u32) -> f32 {
    workgroupBarrier();
    best_v[li] = s;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h = h >> 1u) {
        if (li < h) {
            best_v[li] += best_v[li + h];
        }
        workgroupBarrier();
    }
    let t = best_v[0];
    workgroupBarrier();
    return t;
}

// The probability mass (unnormalised, relative to the largest m) of the values ≥ u.
fn mass(u: f32, m: f32, li: u32) -> f32 {
    var s = 0.0;
    for (var k = li; k < p.n; k += 256u) {
        let v = z(k);
        if (v == v && v >= u) {
            s += exp(v - m);
        }
    }
    return total(s, li);
}

@compute @workgroup_size(256)
fn argmax(@builtin(local_invocation_index) li: u32) {
    let window = min(p.counter + 1u, p.last_n);
    if (p.penalty != 1.0) {
        for (var s = li; s < SLOTS; s += 256u) {
            seen[s] = 0u;
        }
        workgroupBarrier();
        if (li == 0u) {
            for (var i = 0u; i < window; i++) {
                let id = u32(recent[1u + i]);
                var s = slot_of(id);
                while (seen[s] != 0u && seen[s] != id + 1u) {
                    s = (s + 1u) % SLOTS;
                }
                seen[s] = id + 1u;
            }
        }
        workgroupBarrier();
    }
    // The nucleus: values below `edge` are left out (none without top-p).
    var edge = -3.0e38;
    if (p.temperature > 0.0 && p.top_p < 1.0) {
        var m = -3.0e38;
        for (var k = li; k < p.n; k += 256u) {
            let v = z(k);
            if (v == v) {
                m = max(m, v);
            }
        }
        workgroupBarrier();
        best_v[li] = m;
        workgroupBarrier();
        for (var h = 128u; h > 0u; h = h >> 1u) {
            if (li < h) {
                best_v[li] = max(best_v[li], best_v[li + h]);
            }
            workgroupBarrier();
        }
        m = best_v[0];
        let want = p.top_p * mass(-3.0e38, m, li);
        // The largest threshold whose mass is still ≥ want: below m - 104, exp underflows.
        var lo = m - 104.0;
        var hi = m;
        for (var it = 0u; it < 32u; it++) {
            let mid = lo + (hi - lo) * 0.5;
            if (mass(mid, m, li) >= want) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        edge = lo;
    }
    var v = 0.0;
    var i = NONE;
    for (var k = li; k < p.n; k += 256u) {
        var a = z(k);
        if (a < edge) {
            continue;
        }
        if (p.temperature > 0.0) {
            a = a + gumbel(k);
        }
        // a == a is false for NaN: it never wins.
        if (a == a && (i == NONE || a > v)) {
            v = a;
            i = k;
        }
    }
    workgroupBarrier();
    best_v[li] = v;
    best_i[li] = i;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s && beats(best_v[li + s], best_i[li + s], best_v[li], best_i[li])) {
            best_v[li] = best_v[li + s];
            best_i[li] = best_i[li + s];
        }
        workgroupBarrier();
    }
    let chosen = select(best_i[0], 0u, best_i[0] == NONE);
    if (li == 0u) {
        y[0] = f32(chosen);
    }
    if (p.penalty != 1.0) {
        for (var s = li; s < p.last_n; s += 256u) {
            y[1u + s] = select(recent[1u + s], f32(chosen), s == (p.counter + 1u) % p.last_n);
        }
    }
}
