//! wasm simd128 group kernel.

use super::{Format, QMatrix, G, Q8, QK};
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

/// `acc + ((d·dx)·isum + m·s)` on four lanes, as the reference.
fn fold(acc: v128, d: &[f32], dx: f32, isum: v128, m: Option<(&[f32], f32)>) -> v128 {
    // SAFETY: callers pass four-lane slices; wasm loads need no alignment.
    let ld = |p: &[f32]| unsafe { v128_load(p.as_ptr() as *const v128) };
    let mut t = f32x4_mul(f32x4_mul(ld(d), f32x4_splat(dx)), f32x4_convert_i32x4(isum));
    if let Some((m, s)) = m {
        t = f32x4_add(t, f32x4_mul(ld(m), f32x4_splat(s)));
    }
    f32x4_add(acc, t)
}

/// One group of 8 rows, lanes in the format's lane order. Products of i8 pairs are
/// widened to i16 (`extmul`), summed while they fit i16, then pairwise into i32 lanes.
pub fn group(w: &QMatrix, x: &Q8, g: usize) -> [f32; G] {
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
            Format::Q4_1 => {
                for (i, r) in rows.iter_mut().enumerate() {
                    let v = ld(q[(at + i) * 16..].as_ptr());
                    // Nibbles 0..15 are valid i8; four products sum to at most 4·15·127.
                    let (lo, hi) = (v128_and(v, u8x16_splat(0x0F)), u8x16_shr(v, 4));
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
                acc0 = fold(acc0, &d[at..], x.d[b], s0, Some((&m[at..], x.s[b])));
                acc1 = fold(acc1, &d[at + 4..], x.d[b], s1, Some((&m[at + 4..], x.s[b])));
            }
            Format::Q8_0 => {
                for (i, r) in rows.iter_mut().enumerate() {
                    let p = (at + i) * QK;
                    let (w0, w1) = (ld(q[p..].as_ptr()), ld(q[p + 16..].as_ptr()));
                    // Two products sum to at most 2·128·127 < 2¹⁵ (x is never −128).
                    let pair = |w: v128, x: v128| {
                        i32x4_extadd_pairwise_i16x8(i16x8_add(
                            i16x8_extmul_low_i8x16(w, x),
                            i16x8_extmul_high_i8x16(w, x),
                        ))
                    };
                    *r = i32x4_add(pair(w0, x0), pair(w1, x1));
                }
                let s0 = reduce4(rows[0], rows[1], rows[2], rows[3]);
                let s1 = reduce4(rows[4], rows[5], rows[6], rows[7]);
                acc0 = fold(acc0, &d[at..], x.d16[b], s0, None);
                acc1 = fold(acc1, &d[at + 4..], x.d16[b], s1, None);
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
