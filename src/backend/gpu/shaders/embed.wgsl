// embed: rows `ids` of the token table (Q8_0, or f32 with p.f32 = 1) → x. A table split in
// parts (parts.rs) runs once a part: each writes the rows of the ids it holds.
//   p.d   model width (a multiple of 32 for Q8_0)
//   p.vocab rows of this part of the table
//   p.f32 1: the table is f32 values (their bits in `qs`; `scale` unread)
//   p.row0, p.total  this part's first row, the whole table's rows (an id past them reads the
//         last: ids come checked from the host or from the argmax kernel, which cannot give one)
//   ids   (T) f32, each a whole number: the host's ids, or the argmax kernel's choice
//   qs    (vocab, d/4) u32 — the stored int8 values, four to a word
//   scale (vocab, d/32) f32 — one scale per 32-value block
//   x     (T, d) f32, written
// Dispatch: (ceil(d/64), T, 1) workgroups of 64; one invocation per output value.
struct Params { d: u32, vocab: u32, f32: u32, row0: u32, total: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<f32>;
@group(0) @binding(2) var<storage, read> qs: array<u32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(64)
fn embed(@builtin(global_invocation_id) g: vec3<u32>) {
    let i = g.x;
    let t = g.y;
    if (i >= p.d) {
        return;
    }
    let id = min(u32(ids[t]), p.total - 1u);
    if (id < p.row0 || id >= p.row0 + p.vocab) {
        return;
    }
    let e = (id - p.row0) * p.d + i;
    if (p.f32 == 1u) {
        x[t * p.d + i] = bitcast<f32>(qs[e]);
        return;
    }
    let q = extractBits(bitcast<i32>(qs[e / 4u]), (e % 4u) * 8u, 8u);
    x[t * p.d + i] = f32(q) * scale[e / 32u];
}
