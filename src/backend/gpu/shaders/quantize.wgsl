// quantize: activations to 8 bits per 32-value block (q8_block in lib/quant.wgsl), as the CPU
// backend does before a quantized product, so both backends round the same values the same way.
//   p.blocks, p.f16_scale  blocks in x (T·n/32), which kind (1: Q8_0, for Q8_0 weights; 0: Q8_1)
//   x   (T, n) f32
//   xq  (T, n/4) u32 — four int8 values to a word, little-endian
//   xs  (T, n/32) vec2<f32> — (d, s) per block (s unused for Q8_0)
// Dispatch: (gx, gy, 1) workgroups of 64, one invocation per block
// (block i = (wg.y·gx + wg.x)·64 + li).
struct Params { blocks: u32, f16_scale: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> xq: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> xs: array<vec2<f32>>;

@compute @workgroup_size(64)
fn quantize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let b = (wg.y * nw.x + wg.x) * 64u + li;
    if (b >= p.blocks) {
        return;
    }
    var v: array<f32, 32>;
    for (var i = 0u; i < 32u; i++) {
        v[i] = x[b * 32u + i];
    }
    let q = q8_block(v, p.f16_scale == 1u);
    xq[b * 2u] = q.lo;
    xq[b * 2u + 1u] = q.hi;
    xs[b] = q.ds;
}
