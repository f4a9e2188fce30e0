// quantize: activations to 8 bits per 32-value block, as the CPU backend does before a
// quantized product (so both backends round the same values the same way):
//   Q8_1 (p.f16_scale = 0, for Q4_1 weights): d = amax/127 in f32, s = d·Σq;
//   Q8_0 (p.f16_scale = 1, for Q8_0 weights): d = amax/127 stored as f16 (q from the f32 d).
// q = v/d rounded half away from zero, as Rust's f32::round and C's roundf.
//   p.blocks, p.f16_scale  blocks in x (T·n/32), which kind
//   x   (T, n) f32
//   xq  (T, n/4) u32 — four int8 values to a word, little-endian
//   xs  (T, n/32) vec2<f32> — (d, s) per block (s unused for Q8_0)
// Dispatch: (gx, gy, 1) workgroups of 64, one invocation per block
// (block i = (wg.y·gx + wg.x)·64 + li).
struct Params { blocks: u32, f16_scale: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> xq: array<u32>;
@group(0) @binding(3) var<storage, read_write> xs: array<vec2<f32>>;

// v ≥ 0 rounded to the nearest f16 value, ties to even, as the CPU's f16 conversion (v below
// 65520). Done with integer operations: NVIDIA's Vulkan compiler folded
// unpack2x16float(pack2x16float(v)) back into v, leaving Q8_0's scale unrounded there.
fn round_f16(v: f32) -> f32 {
    if (v < 6.103515625e-05) {
        // Below 2⁻¹⁴ f16 values are subnormal, 2⁻²⁴ apart (round() breaks ties to even).
        return round(v * 16777216.0) * 5.9604644775390625e-08;
    }
    let b = bitcast<u32>(v);
    return bitcast<f32>((b + 0xFFFu + ((b >> 13u) & 1u)) & 0xFFFFE000u);
}

fn round_away(v: f32) -> f32 {
    let r = trunc(v);
    return select(r, r + sign(v), abs(v - r) >= 0.5);
}

@compute @workgroup_size(64)
fn quantize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let b = (wg.y * nw.x + wg.x) * 64u + li;
    if (b >= p.blocks) {
        return;
    }
    var amax = 0.0;
    for (var i = 0u; i < 32u; i++) {
        amax = max(amax, abs(x[b * 32u + i]));
    }
    let d = amax / 127.0;
    let inv = select(0.0, 1.0 / d, d != 0.0);
    var sum = 0;
    for (var w = 0u; w < 8u; w++) {
        var word = 0u;
        for (var j = 0u; j < 4u; j++) {
            let q = i32(round_away(x[b * 32u + w * 4u + j] * inv));
            sum += q;
            word |= (bitcast<u32>(q) & 255u) << (8u * j);
        }
        xq[b * 8u + w] = word;
    }
    if (p.f16_scale == 1u) {
        xs[b] = vec2<f32>(round_f16(d), 0.0);
    } else {
        xs[b] = vec2<f32>(d, d * f32(sum));
    }
}
