//! wasm simd128 group kernels (plain, and with relaxed SIMD's integer dot product) and the
//! activation quantization.

use super::{Format, Lanes, QMatrix, G, Q8, QK};
use std::arch::wasm32::*;

/// Four i32x4 partial sums → their four totals, in order.
fn reduce4(a: v128, b: v128, c: v128, d: v128) -> v128 {
    let ab = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
        i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
    )
}

/// Lanes `at .. at + 4` of `l` as f32. An f16 is widened exactly: its bits less the sign,
/// moved to an f32's places, are its value times 2⁻¹¹² (subnormals too), and the stored ones
/// are finite.
#[inline(always)]
fn load4(l: Lanes, at: usize) -> v128 {
    match l {
        Lanes::Full(f) => {
            let f = &f[at..at + 4];
            // SAFETY: four f32; wasm loads need no alignment.
            unsafe { v128_load(f.as_ptr() as *const v128) }
        }
        Lanes::Half(h) => {
            let h = &h[at..at + 4];
            // SAFETY: four u16 are 8 bytes; wasm loads need no alignment.
            let w = u32x4_extend_low_u16x8(unsafe { v128_load64_zero(h.as_ptr() as *const u64) });
            let sign = i32x4_shl(v128_and(w, u32x4_splat(0x8000)), 16);
            let bits = i32x4_shl(v128_and(w, u32x4_splat(0x7FFF)), 13);
            v128_or(
                f32x4_mul(bits, f32x4_splat(f32::from_bits(0x7780_0000))),
                sign,
            )
        }
    }
}

/// `acc + ((d·dx)·isum + m·s)` on four lanes, as the reference.
fn fold(acc: v128, d: v128, dx: f32, isum: v128, m: Option<(v128, f32)>) -> v128 {
    let mut t = f32x4_mul(f32x4_mul(d, f32x4_splat(dx)), f32x4_convert_i32x4(isum));
    if let Some((m, s)) = m {
        t = f32x4_add(t, f32x4_mul(m, f32x4_splat(s)));
    }
    f32x4_add(acc, t)
}

/// One group of 8 rows, lanes in the format's lane order. Products of i8 pairs are
/// widened to i16 (`extmul`), summed while they fit i16, then pairwise into i32 lanes.
/// `RELAXED` (builds with relaxed SIMD) takes Q4_1's nibbles, which fit 7 bits, through
/// `i16x8.relaxed_dot_i8x16_i7x16` (`pmaddubsw` on x86): exact there, since the 7-bit
/// operand never has its top bit set and pairs of products fit i16; one instruction for
/// two `extmul`s and an add. For Q8_0 and Q8_16 the signed weights take that place, and `x` is split
/// into two 7-bit parts once per block.
#[inline(always)]
pub fn group<const RELAXED: bool>(w: &QMatrix, x: &Q8, g: usize) -> [f32; G] {
    let (d, m, q) = w.group_data(g);
    let (mut acc0, mut acc1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    // SAFETY: every load below reads inside `q` or `x.q` (whole blocks of a whole group).
    let ld = |p: *const u8| unsafe { v128_load(p as *const v128) };
    for b in 0..w.cols / QK {
        let xb = &x.q[b * QK..][..QK];
        let (x0, x1) = (
            ld(xb.as_ptr() as *const u8),
            ld(xb[16..].as_ptr() as *const u8),
        );
        let mut rows = [i32x4_splat(0); G];
        let at = b * G;
        match w.format {
            Format::Q4_1 | Format::Q5 => {
                let block = &q[b * G * w.format.sizes().1..];
                for (i, r) in rows.iter_mut().enumerate() {
                    let v = ld(block[i * 16..].as_ptr());
                    // Values 0..31 are valid i8; four products sum to at most 4·31·127.
                    let (mut lo, mut hi) = (v128_and(v, u8x16_splat(0x0F)), u8x16_shr(v, 4));
                    if w.format == Format::Q5 {
                        // This row's fifth bits (its word after the 8 rows' nibbles) as 16s.
                        let h = &block[G * 16 + i * 4..][..4];
                        let h = u32x4_splat(u32::from_le_bytes([h[0], h[1], h[2], h[3]]));
                        lo = v128_or(lo, fifth_bits(h, 0));
                        hi = v128_or(hi, fifth_bits(h, 2));
                    }
                    if RELAXED {
                        let s = i16x8_add(relaxed_dot(x0, lo), relaxed_dot(x1, hi));
                        *r = i32x4_extadd_pairwise_i16x8(s);
                        continue;
                    }
                    let s = i16x8_add(
                        i16x8_add(
                            i16x8_extmul_low_i8x16(lo, x0),
                            i16x8_extmul_high_i8x16(lo, x0),
                        ),
                        i16x8_add(
                            i16x8_extmul_low_i8x16(hi, x1),
                            i16x8_extmul_high_i8x16(hi, x1),
                        ),
                    );
                    *r = i32x4_extadd_pairwise_i16x8(s);
                }
                let s0 = reduce4(rows[0], rows[2], rows[4], rows[6]);
                let s1 = reduce4(rows[1], rows[3], rows[5], rows[7]);
                let (d0, d1) = (load4(d, at), load4(d, at + 4));
                let (m0, m1) = (load4(m, at), load4(m, at + 4));
                acc0 = fold(acc0, d0, x.d[b], s0, Some((m0, x.s[b])));
                acc1 = fold(acc1, d1, x.d[b], s1, Some((m1, x.s[b])));
            }
            Format::Q8_0 | Format::Q8_16 => {
                // For the relaxed dot, x = lo − 128·neg with lo = x & 0x7F and neg its sign
                // bit: both fit 7 bits, and are made once per block for all the rows.
                let split = |x: v128| (v128_and(x, u8x16_splat(0x7F)), u8x16_shr(x, 7));
                let ((lo0, neg0), (lo1, neg1)) = (split(x0), split(x1));
                // Each row's sums over the block's first and second 16 values (the relaxed
                // Q8_0 path leaves its whole sum in the first).
                let mut second = [i32x4_splat(0); G];
                for (i, (r, r1)) in rows.iter_mut().zip(&mut second).enumerate() {
                    let p = (at + i) * QK;
                    let (w0, w1) = (ld(q[p..].as_ptr()), ld(q[p + 16..].as_ptr()));
                    if RELAXED {
                        // Pairs: |w·lo| ≤ 2·128·127 and |w·neg| ≤ 4·128 fit i16.
                        let ext = i32x4_extadd_pairwise_i16x8;
                        let (lo_a, lo_b) = (ext(relaxed_dot(w0, lo0)), ext(relaxed_dot(w1, lo1)));
                        let (neg_a, neg_b) = (relaxed_dot(w0, neg0), relaxed_dot(w1, neg1));
                        if w.format == Format::Q8_16 {
                            *r = i32x4_sub(lo_a, i32x4_shl(ext(neg_a), 7));
                            *r1 = i32x4_sub(lo_b, i32x4_shl(ext(neg_b), 7));
                        } else {
                            let neg = ext(i16x8_add(neg_a, neg_b));
                            *r = i32x4_sub(i32x4_add(lo_a, lo_b), i32x4_shl(neg, 7));
                        }
                        continue;
                    }
                    // Two products sum to at most 2·128·127 < 2¹⁵ (x is never −128).
                    let pair = |w: v128, x: v128| {
                        i32x4_extadd_pairwise_i16x8(i16x8_add(
                            i16x8_extmul_low_i8x16(w, x),
                            i16x8_extmul_high_i8x16(w, x),
                        ))
                    };
                    (*r, *r1) = (pair(w0, x0), pair(w1, x1));
                }
                if w.format == Format::Q8_16 {
                    for (k, sums) in [rows, second].iter().enumerate() {
                        let (s, dx) = (2 * b * G + k * G, x.d[b]);
                        let s0 = reduce4(sums[0], sums[1], sums[2], sums[3]);
                        let s1 = reduce4(sums[4], sums[5], sums[6], sums[7]);
                        acc0 = fold(acc0, load4(d, s), dx, s0, None);
                        acc1 = fold(acc1, load4(d, s + 4), dx, s1, None);
                    }
                    continue;
                }
                if !RELAXED {
                    for (r, r1) in rows.iter_mut().zip(second) {
                        *r = i32x4_add(*r, r1);
                    }
                }
                let s0 = reduce4(rows[0], rows[1], rows[2], rows[3]);
                let s1 = reduce4(rows[4], rows[5], rows[6], rows[7]);
                acc0 = fold(acc0, load4(d, at), x.d16[b], s0, None);
                acc1 = fold(acc1, load4(d, at + 4), x.d16[b], s1, None);
            }
        }
    }
    let mut out = [0.0f32; G];
    // SAFETY: `out` holds 8 f32; wasm stores need no alignment.
    unsafe {
        v128_store(out.as_mut_ptr() as *mut v128, acc0);
        v128_store(out.as_mut_ptr().add(4) as *mut v128, acc1);
    }
    out
}

/// Sixteen bits of `h`'s first word, from byte `first` on, as bytes of 16 (set) or 0: byte k is
/// bit `8·first + k`.
#[inline(always)]
fn fifth_bits(h: v128, first: u8) -> v128 {
    let (a, b) = (first, first + 1);
    let spread = u8x16(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b);
    let bit = u64x2_splat(0x8040_2010_0804_0201);
    let set = i8x16_eq(v128_and(i8x16_swizzle(h, spread), bit), bit);
    v128_and(set, u8x16_splat(0x10))
}

/// `Σ a·b` in pairs of bytes into i16 lanes (`b`'s bytes must be 0..=127, and each pair's
/// sum must fit i16: callers say why theirs do).
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
fn relaxed_dot(a: v128, b: v128) -> v128 {
    i16x8_relaxed_dot_i8x16_i7x16(a, b)
}

#[cfg(not(target_feature = "relaxed-simd"))]
#[inline(always)]
fn relaxed_dot(_: v128, _: v128) -> v128 {
    unreachable!("the relaxed kernel runs only in builds with relaxed SIMD")
}

/// One block of 32 activations quantized as [`super::reference::quantize_block`] does, bit
/// for bit: `amax` by `pmax` (ignores NaN as `f32::max` does), then `round` (half away from
/// zero) spelled out as truncation plus one where the dropped fraction is at least ½.
pub fn quantize_block(blk: &[f32], q: &mut [i8]) -> (f32, i32) {
    // SAFETY: `blk` holds 32 f32 and `q` 32 bytes (checked); wasm loads need no alignment.
    assert!(blk.len() == QK && q.len() == QK);
    let v: [v128; 8] =
        std::array::from_fn(|i| unsafe { v128_load(blk.as_ptr().add(4 * i) as *const v128) });
    let amax = v
        .iter()
        .fold(f32x4_splat(0.0), |a, &x| f32x4_pmax(a, f32x4_abs(x)));
    let amax = f32x4_pmax(amax, i32x4_shuffle::<2, 3, 0, 1>(amax, amax));
    let amax = f32x4_pmax(amax, i32x4_shuffle::<1, 0, 3, 2>(amax, amax));
    let scale = f32x4_extract_lane::<0>(amax) / 127.0;
    let inv = f32x4_splat(if scale != 0.0 { 1.0 / scale } else { 0.0 });
    let round = |x: v128| {
        let y = f32x4_mul(x, inv);
        let t = f32x4_trunc(y);
        let up = f32x4_ge(f32x4_abs(f32x4_sub(y, t)), f32x4_splat(0.5));
        let one = v128_or(f32x4_splat(1.0), v128_and(y, u32x4_splat(0x8000_0000)));
        i32x4_trunc_sat_f32x4(f32x4_add(t, v128_and(up, one)))
    };
    let i: [v128; 8] = std::array::from_fn(|k| round(v[k]));
    let sum = i.iter().fold(i32x4_splat(0), |a, &x| i32x4_add(a, x));
    let sum = i32x4_add(sum, i32x4_shuffle::<2, 3, 0, 1>(sum, sum));
    let sum = i32x4_add(sum, i32x4_shuffle::<1, 0, 3, 2>(sum, sum));
    let narrow =
        |a, b, c, d| i8x16_narrow_i16x8(i16x8_narrow_i32x4(a, b), i16x8_narrow_i32x4(c, d));
    // SAFETY: `q` holds 32 bytes.
    unsafe {
        v128_store(q.as_mut_ptr() as *mut v128, narrow(i[0], i[1], i[2], i[3]));
        v128_store(
            q.as_mut_ptr().add(16) as *mut v128,
            narrow(i[4], i[5], i[6], i[7]),
        );
    }
    (scale, i32x4_extract_lane::<0>(sum))
}
