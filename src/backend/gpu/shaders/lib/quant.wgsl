// Shared by every kernel (prepended to each file's source by kernels.rs): the FFN's activations
// and unpacking quantized blocks as the products read them.

// SiLU, v·sigmoid(v), as the CPU backend writes it.
fn silu(v: f32) -> f32 {
    return v / (1.0 + exp(-v));
}

// GELU's tanh approximation written as the CPU backend writes it: v·sigmoid(2z),
// z = √(2/π)·v·(1 + 0.044715·v²).
fn gelu(v: f32) -> f32 {
    let z = 0.7978846 * v * (1.0 + 0.044715 * v * v);
    return v / (1.0 + exp(-2.0 * z));
}

// Four int8 values packed little-endian in a word.
fn i8x4(w: u32) -> vec4<i32> {
    let v = bitcast<i32>(w);
    return vec4<i32>(extractBits(v, 0u, 8u), extractBits(v, 8u, 8u),
                     extractBits(v, 16u, 8u), extractBits(v, 24u, 8u));
}

fn nibbles(w: u32, shift: u32) -> vec4<i32> {
    return vec4<i32>((vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) >> vec4<u32>(shift)) & vec4<u32>(15u));
}

// Σ a_i b_i over 16 int8 values, four to a word.
fn dot16(a: vec4<u32>, b: vec4<u32>) -> i32 {
    return dot(i8x4(a.x), i8x4(b.x)) + dot(i8x4(a.y), i8x4(b.y))
         + dot(i8x4(a.z), i8x4(b.z)) + dot(i8x4(a.w), i8x4(b.w));
}

// Σ q_w q_x over one block: w the block's 16 nibble bytes, lo/hi its 32 int8 activations.
fn block_dot(w: vec4<u32>, lo: vec4<u32>, hi: vec4<u32>) -> i32 {
    return dot(nibbles(w.x, 0u), i8x4(lo.x)) + dot(nibbles(w.y, 0u), i8x4(lo.y))
         + dot(nibbles(w.z, 0u), i8x4(lo.z)) + dot(nibbles(w.w, 0u), i8x4(lo.w))
         + dot(nibbles(w.x, 4u), i8x4(hi.x)) + dot(nibbles(w.y, 4u), i8x4(hi.y))
         + dot(nibbles(w.z, 4u), i8x4(hi.z)) + dot(nibbles(w.w, 4u), i8x4(hi.w));
}

// One Q4_1 block's term of a product, d_w·d_x·Σ q_w q_x + m_w·s_x (the CPU kernel's
// arithmetic): w the block's nibbles, dm its (d, m); lo/hi the 32 int8 activations, a their
// (d, s) (Q8_1).
fn q4_1_term(w: vec4<u32>, dm: vec2<f32>, lo: vec4<u32>, hi: vec4<u32>, a: vec2<f32>) -> f32 {
    return dm.x * a.x * f32(block_dot(w, lo, hi)) + dm.y * a.y;
}

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

// One block of 32 activations at 8 bits: lo/hi four int8 values to a word, little-endian;
// ds its (d, s).
struct Q8 { lo: vec4<u32>, hi: vec4<u32>, ds: vec2<f32> }

// A block of 32 activations to 8 bits as the CPU backend does before a quantized product:
//   Q8_1 (f16_scale false, for Q4_1 weights): d = amax/127 in f32, s = d·Σq;
//   Q8_0 (f16_scale true, for Q8_0 weights): d = amax/127 stored as f16 (q from the f32 d).
// q = v/d rounded half away from zero, as Rust's f32::round and C's roundf.
fn q8_block(values: array<f32, 32>, f16_scale: bool) -> Q8 {
    var v = values;
    var amax = 0.0;
    for (var i = 0u; i < 32u; i++) {
        amax = max(amax, abs(v[i]));
    }
    let d = amax / 127.0;
    let inv = select(0.0, 1.0 / d, d != 0.0);
    var sum = 0;
    var words: array<u32, 8>;
    for (var w = 0u; w < 8u; w++) {
        var word = 0u;
        for (var j = 0u; j < 4u; j++) {
            let q = i32(round_away(v[w * 4u + j] * inv));
            sum += q;
            word |= (bitcast<u32>(q) & 255u) << (8u * j);
        }
        words[w] = word;
    }
    var ds = vec2<f32>(d, d * f32(sum));
    if (f16_scale) {
        ds = vec2<f32>(round_f16(d), 0.0);
    }
    return Q8(vec4<u32>(words[0], words[1], words[2], words[3]),
              vec4<u32>(words[4], words[5], words[6], words[7]), ds);
}
