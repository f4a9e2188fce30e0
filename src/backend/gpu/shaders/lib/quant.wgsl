// Shared by every kernel (prepended to each file's source by kernels.rs): unpacking quantized
// blocks as the products read them.

// Four int8 values packed little-endian in a word.
fn i8x4(w: u32) -> vec4<i32> {
    let v = bitcast<i32>(w);
    return vec4<i32>(extractBits(v, 0u, 8u), extractBits(v, 8u, 8u),
                     extractBits(v, 16u, 8u), extractBits(v, 24u, 8u));
}

fn nibbles(w: u32, shift: u32) -> vec4<i32> {
    return vec4<i32>((vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) >> vec4<u32>(shift)) & vec4<u32>(15u));
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
