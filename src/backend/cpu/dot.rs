//! Dot products and weighted sums of f32 rows in a fixed order: the same bits on every target
//! (attention's scores and sums, the readout's projections).

/// `out[j] = dot(q, key(j))` for every `j`.
pub(super) fn dots<'a>(q: &[f32], key: impl Fn(usize) -> &'a [f32], out: &mut [f32]) {
    #[cfg(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        all(target_arch = "x86_64", target_feature = "avx")
    ))]
    if q.len().is_multiple_of(8) {
        let mut j = 0;
        while j + 4 <= out.len() {
            out[j..j + 4].copy_from_slice(&dot4(q, [key(j), key(j + 1), key(j + 2), key(j + 3)]));
            j += 4;
        }
        for (j, o) in out.iter_mut().enumerate().skip(j) {
            *o = dot(q, key(j));
        }
        return;
    }
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot(q, key(j));
    }
}

/// `out = Σ_j p[j]·row(j)`, summed in order of `j` from zero.
pub(super) fn weighted_sum<'a>(p: &[f32], row: impl Fn(usize) -> &'a [f32], out: &mut [f32]) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    if out.len().is_multiple_of(64) {
        use std::arch::x86_64::*;
        // As below, 64 outputs at a time in four 512-bit registers: half the instructions.
        for (c, o) in out.chunks_exact_mut(64).enumerate() {
            // SAFETY: AVX-512 F is enabled for the whole build; `v` and `o` hold 64 f32.
            unsafe {
                let mut acc = [_mm512_setzero_ps(); 4];
                for (j, &pj) in p.iter().enumerate() {
                    let v = &row(j)[c * 64..][..64];
                    for (i, a) in acc.iter_mut().enumerate() {
                        let vi = _mm512_loadu_ps(v.as_ptr().add(16 * i));
                        *a = _mm512_add_ps(*a, _mm512_mul_ps(_mm512_set1_ps(pj), vi));
                    }
                }
                for (i, a) in acc.iter().enumerate() {
                    _mm512_storeu_ps(o.as_mut_ptr().add(16 * i), *a);
                }
            }
        }
        return;
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
    if out.len().is_multiple_of(32) {
        use std::arch::x86_64::*;
        // 32 outputs at a time, held in registers over all j (each output's sum is the scalar
        // loop's: the same products added in the same order, no fused multiply-add).
        for (c, o) in out.chunks_exact_mut(32).enumerate() {
            // SAFETY: AVX is enabled for the whole build; `v` and `o` hold 32 f32.
            unsafe {
                let mut acc = [_mm256_setzero_ps(); 4];
                for (j, &pj) in p.iter().enumerate() {
                    let v = &row(j)[c * 32..][..32];
                    for (i, a) in acc.iter_mut().enumerate() {
                        let vi = _mm256_loadu_ps(v.as_ptr().add(8 * i));
                        *a = _mm256_add_ps(*a, _mm256_mul_ps(_mm256_set1_ps(pj), vi));
                    }
                }
                for (i, a) in acc.iter().enumerate() {
                    _mm256_storeu_ps(o.as_mut_ptr().add(8 * i), *a);
                }
            }
        }
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if out.len().is_multiple_of(16) {
        use std::arch::wasm32::*;
        // 16 outputs at a time, held in registers over all j (no load and store of `out` per j).
        for (c, o) in out.chunks_exact_mut(16).enumerate() {
            let mut acc = [f32x4_splat(0.0); 4];
            for (j, &pj) in p.iter().enumerate() {
                let v = &row(j)[c * 16..][..16];
                for (i, a) in acc.iter_mut().enumerate() {
                    // SAFETY: `v` holds 16 f32; wasm loads need no alignment.
                    let vi = unsafe { v128_load(v.as_ptr().add(4 * i) as *const v128) };
                    *a = f32x4_add(*a, f32x4_mul(f32x4_splat(pj), vi));
                }
            }
            for (i, a) in acc.iter().enumerate() {
                // SAFETY: `o` holds 16 f32.
                unsafe { v128_store(o.as_mut_ptr().add(4 * i) as *mut v128, *a) };
            }
        }
        return;
    }
    out.fill(0.0);
    for (j, &pj) in p.iter().enumerate() {
        for (o, &v) in out.iter_mut().zip(row(j)) {
            *o += pj * v;
        }
    }
}

/// [`dot`] of `a` with four rows at once, bit for bit (`a.len()` a multiple of 8): each row's
/// eight lanes as two f32x4, then `dot`'s tree for the four rows together.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot4(a: &[f32], b: [&[f32]; 4]) -> [f32; 4] {
    use std::arch::wasm32::*;
    assert!(a.len().is_multiple_of(8) && b.iter().all(|b| b.len() == a.len()));
    // SAFETY: `i + 4 <= len` for every load below; wasm loads need no alignment.
    let ld = |p: &[f32], i: usize| unsafe { v128_load(p.as_ptr().add(i) as *const v128) };
    let (mut lo, mut hi) = ([f32x4_splat(0.0); 4], [f32x4_splat(0.0); 4]);
    for c in (0..a.len()).step_by(8) {
        let (xl, xh) = (ld(a, c), ld(a, c + 4));
        for t in 0..4 {
            lo[t] = f32x4_add(lo[t], f32x4_mul(xl, ld(b[t], c)));
            hi[t] = f32x4_add(hi[t], f32x4_mul(xh, ld(b[t], c + 4)));
        }
    }
    // Row t: lanes (acc0+acc4, acc1+acc5, acc2+acc6, acc3+acc7), then (l0+l1) + (l2+l3).
    let s: [v128; 4] = std::array::from_fn(|t| f32x4_add(lo[t], hi[t]));
    let pair = |x: v128, y: v128| {
        f32x4_add(
            i32x4_shuffle::<0, 4, 2, 6>(x, y),
            i32x4_shuffle::<1, 5, 3, 7>(x, y),
        )
    };
    let (t1, t2) = (pair(s[0], s[1]), pair(s[2], s[3]));
    let u = f32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(t1, t2),
        i32x4_shuffle::<2, 3, 6, 7>(t1, t2),
    );
    [
        f32x4_extract_lane::<0>(u),
        f32x4_extract_lane::<1>(u),
        f32x4_extract_lane::<2>(u),
        f32x4_extract_lane::<3>(u),
    ]
}

/// [`dot`] of `a` with four rows at once, bit for bit (`a.len()` a multiple of 8): four
/// independent sums in flight instead of one chain of dependent adds.
#[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
fn dot4(a: &[f32], b: [&[f32]; 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    assert!(a.len().is_multiple_of(8) && b.iter().all(|b| b.len() == a.len()));
    let mut lanes = [[0.0f32; 8]; 4];
    // SAFETY: AVX is enabled for the whole build; `c + 8 <= len` for every load.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        for c in (0..a.len()).step_by(8) {
            let x = _mm256_loadu_ps(a.as_ptr().add(c));
            for (t, acc) in acc.iter_mut().enumerate() {
                let p = _mm256_mul_ps(x, _mm256_loadu_ps(b[t].as_ptr().add(c)));
                *acc = _mm256_add_ps(*acc, p);
            }
        }
        for (l, acc) in lanes.iter_mut().zip(acc) {
            _mm256_storeu_ps(l.as_mut_ptr(), acc);
        }
    }
    lanes.map(|l| tree(&l))
}

/// `dot`'s fixed order of adding up its eight lanes.
#[inline]
fn tree(acc: &[f32; 8]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Σ a_i b_i in eight interleaved partial sums, added up in a fixed tree: the same bits on
/// every target. x86 and wasm spell the eight lanes out (the compiler's own vectorization of
/// the portable loop shuffled lanes around and ran at a fraction of the speed).
#[inline]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let ((ca, ra), (cb, rb)) = (a.as_chunks::<8>(), b.as_chunks::<8>());
    let sum = tree(&lanes8(ca, cb));
    if ra.is_empty() {
        sum // as dot4 gives it
    } else {
        sum + ra.iter().zip(rb).map(|(x, y)| x * y).sum::<f32>()
    }
}

/// Lane `i` of the result: Σ over chunks of `x[i]·y[i]`, in chunk order.
#[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
#[inline]
fn lanes8(ca: &[[f32; 8]], cb: &[[f32; 8]]) -> [f32; 8] {
    use std::arch::x86_64::*;
    let mut out = [0.0f32; 8];
    // SAFETY: AVX is enabled for the whole build; each load reads one whole [f32; 8].
    unsafe {
        let mut acc = _mm256_setzero_ps();
        for (x, y) in ca.iter().zip(cb) {
            let p = _mm256_mul_ps(_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr()));
            acc = _mm256_add_ps(acc, p);
        }
        _mm256_storeu_ps(out.as_mut_ptr(), acc);
    }
    out
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn lanes8(ca: &[[f32; 8]], cb: &[[f32; 8]]) -> [f32; 8] {
    use std::arch::wasm32::*;
    let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
    let ld = |p: &[f32]| f32x4(p[0], p[1], p[2], p[3]);
    for (x, y) in ca.iter().zip(cb) {
        lo = f32x4_add(lo, f32x4_mul(ld(&x[..4]), ld(&y[..4])));
        hi = f32x4_add(hi, f32x4_mul(ld(&x[4..]), ld(&y[4..])));
    }
    let l = |v: v128, i: usize| match i {
        0 => f32x4_extract_lane::<0>(v),
        1 => f32x4_extract_lane::<1>(v),
        2 => f32x4_extract_lane::<2>(v),
        _ => f32x4_extract_lane::<3>(v),
    };
    std::array::from_fn(|i| if i < 4 { l(lo, i) } else { l(hi, i - 4) })
}

#[cfg(not(any(
    all(target_arch = "x86_64", target_feature = "avx"),
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
#[inline]
fn lanes8(ca: &[[f32; 8]], cb: &[[f32; 8]]) -> [f32; 8] {
    let mut acc = [0.0f32; 8];
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Fixed, irregular values in [−1, 1] from a seed.
    pub(in crate::backend::cpu) fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 997.0 - 1.0)
            .collect()
    }

    #[test]
    fn batched_paths_give_the_bits_of_one_at_a_time() {
        for (width, keys) in [(64, 37), (256, 9), (8, 5), (12, 6)] {
            let q = values(width, 1);
            let rows: Vec<Vec<f32>> = (0..keys).map(|k| values(width, 7 + k as u32)).collect();
            let mut got = vec![0.0; keys];
            dots(&q, |j| &rows[j], &mut got);
            let want: Vec<u32> = rows.iter().map(|r| dot(&q, r).to_bits()).collect();
            assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
            // The weighted sum against the plain loop: each output's products in order of j.
            let p = values(keys, 3);
            let mut sum = vec![0.0; width];
            weighted_sum(&p, |j| &rows[j], &mut sum);
            let mut plain = vec![0.0f32; width];
            for (pj, r) in p.iter().zip(&rows) {
                for (o, v) in plain.iter_mut().zip(r) {
                    *o += pj * v;
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&sum), bits(&plain), "width {width}");
        }
    }
}
