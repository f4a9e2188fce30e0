//! AVX2 and AVX-512 VNNI group kernels (x86_64).

use super::{Format, Lanes, QMatrix, G, Q8, QK, TOKENS};
use std::arch::x86_64::*;

/// `Σ u8 × i8` in groups of four added to `acc`'s i32 lanes: one `vpdpbusd` with VNNI,
/// else `vpmaddubsw` + `vpmaddwd` (pairs fit i16 here: at most 2·31·127 for 4- and 5-bit
/// values; Q8_0 takes the VNNI path or the sign trick below).
#[inline(always)]
unsafe fn dp<const VNNI: bool>(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
    if VNNI {
        _mm256_dpbusd_epi32(acc, u, s)
    } else {
        _mm256_add_epi32(
            acc,
            _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)),
        )
    }
}

/// Sixteen bits of each 128-bit half's first word, from byte `first` on, as bytes of 16 (set)
/// or 0: byte k of a half is bit `8·first + k` of its word.
#[inline(always)]
unsafe fn fifth_bits(h: __m256i, first: i8) -> __m256i {
    let (a, b) = (first, first + 1);
    let spread = _mm256_setr_epi8(
        a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b, a, a, a, a, a, a, a, a, b, b, b, b, b, b,
        b, b,
    );
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let set = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(h, spread), bit), bit);
    _mm256_and_si256(set, _mm256_set1_epi8(0x10))
}

/// Lanes `at .. at + 8` of `l` as f32 (f16 widened exactly, F16C).
///
/// # Safety
/// `l` holds lanes `at .. at + 8`.
#[inline(always)]
unsafe fn load8(l: Lanes, at: usize) -> __m256 {
    match l {
        Lanes::Half(h) => _mm256_cvtph_ps(_mm_loadu_si128(h.as_ptr().add(at) as *const __m128i)),
        Lanes::Full(f) => _mm256_loadu_ps(f.as_ptr().add(at)),
    }
}

/// The float work of one block on 8 lanes: `acc + ((d·dx)·isum + m·s)`, as the reference.
#[inline(always)]
unsafe fn fold(acc: __m256, d: __m256, dx: f32, isum: __m256i, m: Option<(__m256, f32)>) -> __m256 {
    let mut t = _mm256_mul_ps(
        _mm256_mul_ps(d, _mm256_set1_ps(dx)),
        _mm256_cvtepi32_ps(isum),
    );
    if let Some((m, s)) = m {
        t = _mm256_add_ps(t, _mm256_mul_ps(m, _mm256_set1_ps(s)));
    }
    _mm256_add_ps(acc, t)
}

/// One group of 8 rows for each of up to [`TOKENS`] activation rows, lanes in the format's
/// lane order: each block's weights are loaded (and unpacked) once for all of them.
///
/// # Safety
/// Needs AVX2 and F16C (and AVX-512 F, VL, VNNI when `VNNI`); `g` a group of `w`, `xs` as
/// wide as `w`.
#[inline(always)]
pub unsafe fn group<const VNNI: bool>(w: &QMatrix, xs: &[Q8], g: usize) -> [[f32; G]; TOKENS] {
    let (d, m, q) = w.group_data(g);
    let xs = &xs[..xs.len().min(TOKENS)];
    let mut acc = [_mm256_setzero_ps(); TOKENS];
    let mask = _mm256_set1_epi8(0x0F);
    let zero = _mm256_setzero_si256();
    for b in 0..w.cols / QK {
        let at = b * G * w.format.halves();
        match w.format {
            Format::Q4_1 | Format::Q5 => {
                // Rows 2p and 2p+1 in the two 128-bit halves, nibbles split in lo and hi.
                let base = q.as_ptr().add(b * G * w.format.sizes().1);
                let qp = base as *const __m256i;
                let mut lo = [zero; 4];
                let mut hi = [zero; 4];
                // Q5: the 8 rows' words of fifth bits, after the nibbles.
                let words = match w.format {
                    Format::Q5 => _mm256_loadu_si256(base.add(G * 16) as *const __m256i),
                    _ => zero,
                };
                for p in 0..4 {
                    let v = _mm256_loadu_si256(qp.add(p));
                    lo[p] = _mm256_and_si256(v, mask);
                    hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
                    if w.format == Format::Q5 {
                        // Rows 2p and 2p+1's words in the first word of each half, as 16s.
                        let pick =
                            _mm256_setr_epi32(2 * p as i32, 0, 0, 0, 2 * p as i32 + 1, 0, 0, 0);
                        let h = _mm256_permutevar8x32_epi32(words, pick);
                        lo[p] = _mm256_or_si256(lo[p], fifth_bits(h, 0));
                        hi[p] = _mm256_or_si256(hi[p], fifth_bits(h, 2));
                    }
                }
                let (dv, mv) = (load8(d, at), load8(m, at));
                for (a, x) in acc.iter_mut().zip(xs) {
                    // x[0..16] and x[16..32], each in both halves.
                    let xp = x.q.as_ptr().add(b * QK);
                    let xlo = _mm256_broadcastsi128_si256(_mm_loadu_si128(xp as *const __m128i));
                    let xhi =
                        _mm256_broadcastsi128_si256(_mm_loadu_si128(xp.add(16) as *const __m128i));
                    // Four i32 partial sums per row.
                    let pair = |p: usize| dp::<VNNI>(dp::<VNNI>(zero, lo[p], xlo), hi[p], xhi);
                    let h01 = _mm256_hadd_epi32(pair(0), pair(1));
                    let h23 = _mm256_hadd_epi32(pair(2), pair(3));
                    let isum = _mm256_hadd_epi32(h01, h23); // rows 0 2 4 6 | 1 3 5 7
                    *a = fold(*a, dv, x.d[b], isum, Some((mv, x.s[b])));
                }
            }
            Format::Q8_0 | Format::Q8_16 => {
                let qp = q.as_ptr().add(b * G * QK) as *const __m256i;
                let mut u = [zero; G];
                for (i, u) in u.iter_mut().enumerate() {
                    *u = _mm256_loadu_si256(qp.add(i)); // w + 128
                }
                let dv = [
                    load8(d, at),
                    if w.format == Format::Q8_16 {
                        load8(d, at + G)
                    } else {
                        _mm256_setzero_ps()
                    },
                ];
                for (a, x) in acc.iter_mut().zip(xs) {
                    let xv = _mm256_loadu_si256(x.q.as_ptr().add(b * QK) as *const __m256i);
                    let row = |i: usize| {
                        if VNNI {
                            _mm256_dpbusd_epi32(zero, u[i], xv)
                        } else {
                            // |w| × (x·sign w): pairs at most 2·128·127 < 2¹⁵ (x is never −128).
                            let wv = _mm256_xor_si256(u[i], _mm256_set1_epi8(-128));
                            let p = _mm256_maddubs_epi16(
                                _mm256_sign_epi8(wv, wv),
                                _mm256_sign_epi8(xv, wv),
                            );
                            _mm256_madd_epi16(p, _mm256_set1_epi16(1))
                        }
                    };
                    let h = _mm256_hadd_epi32(
                        _mm256_hadd_epi32(row(0), row(1)),
                        _mm256_hadd_epi32(row(2), row(3)),
                    );
                    let c = _mm256_hadd_epi32(
                        _mm256_hadd_epi32(row(4), row(5)),
                        _mm256_hadd_epi32(row(6), row(7)),
                    );
                    // h = rows 0..4 (first halves) | 0..4 (second halves); c for 4..8.
                    let first = _mm256_permute2x128_si256(h, c, 0x20);
                    let second = _mm256_permute2x128_si256(h, c, 0x31);
                    if w.format == Format::Q8_16 {
                        for (k, mut isum) in [first, second].into_iter().enumerate() {
                            if VNNI {
                                let sq = 128 * x.sq16[2 * b + k];
                                isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(sq));
                            }
                            *a = fold(*a, dv[k], x.d[b], isum, None);
                        }
                        continue;
                    }
                    let mut isum = _mm256_add_epi32(first, second);
                    if VNNI {
                        isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(128 * x.sq[b]));
                    }
                    *a = fold(*a, dv[0], x.d16[b], isum, None);
                }
            }
        }
    }
    let mut out = [[0.0f32; G]; TOKENS];
    for (o, a) in out.iter_mut().zip(&acc) {
        _mm256_storeu_ps(o.as_mut_ptr(), *a);
    }
    out
}

/// [`pair`] takes at most four activation rows.
const _: () = assert!(TOKENS == 4);

/// Two groups of a Q4_1 matrix, `g` and the next (or `g` again after the last), for up to
/// [`TOKENS`] activation rows on 512-bit registers: what [`group`] gives with VNNI, for 16 rows
/// at once (group `g`'s lanes in the low half, the other's in the high half). Each row's
/// products build up in its own lane, so no horizontal adds; each lane's integer sum is the
/// same, and its float steps are [`fold`]'s, so the bits are the same.
///
/// # Safety
/// Needs AVX-512 F, BW and VNNI (and AVX2, F16C); `w` Q4_1, `g` a group of `w`, `xs` as wide
/// as `w`.
#[inline(always)]
pub unsafe fn pair(w: &QMatrix, xs: &[Q8], g: usize) -> [[[f32; G]; TOKENS]; 2] {
    // A fixed count of activation rows, so that their sums stay in registers (in memory, the
    // loop ran a third slower).
    match xs {
        [a] => pair_of([a], w, g),
        [a, b] => pair_of([a, b], w, g),
        [a, b, c] => pair_of([a, b, c], w, g),
        [a, b, c, d, ..] => pair_of([a, b, c, d], w, g),
        [] => [[[0.0; G]; TOKENS]; 2],
    }
}

#[inline(always)]
unsafe fn pair_of<const T: usize>(xs: [&Q8; T], w: &QMatrix, g: usize) -> [[[f32; G]; TOKENS]; 2] {
    debug_assert!(w.format == Format::Q4_1 && T <= TOKENS);
    let next = (g + 1).min(w.rows.div_ceil(G) - 1);
    let ((d0, m0, q0), (d1, m1, q1)) = (w.group_data(g), w.group_data(next));
    let mut acc = [_mm512_setzero_ps(); T];
    let mask = _mm512_set1_epi8(0x0F);
    let zero = _mm512_setzero_si512();
    let both = |a: __m256, b: __m256| {
        _mm512_castpd_ps(_mm512_insertf64x4(
            _mm512_castpd256_pd512(_mm256_castps_pd(a)),
            _mm256_castps_pd(b),
            1,
        ))
    };
    for b in 0..w.cols / QK {
        let at = b * G;
        let (p0, p1) = (
            q0.as_ptr().add(b * G * 16) as *const __m256i,
            q1.as_ptr().add(b * G * 16) as *const __m256i,
        );
        // Register p: rows 2p and 2p + 1 of group g, then of the other group, 16 bytes each;
        // a 4 × 4 transpose of words within each 128-bit quarter makes register k each row's
        // word k (bytes 4k .. 4k + 4: columns 4k .. 4k + 4 in the low nibbles, 16 + 4k ..
        // 16 + 4k + 4 in the high ones), rows 0 2 4 6 | 1 3 5 7 of g, then of the other.
        let v: [__m512i; 4] = std::array::from_fn(|p| {
            let low = _mm512_castsi256_si512(_mm256_loadu_si256(p0.add(p)));
            _mm512_inserti64x4(low, _mm256_loadu_si256(p1.add(p)), 1)
        });
        let t0 = _mm512_unpacklo_epi32(v[0], v[1]);
        let t1 = _mm512_unpacklo_epi32(v[2], v[3]);
        let t2 = _mm512_unpackhi_epi32(v[0], v[1]);
        let t3 = _mm512_unpackhi_epi32(v[2], v[3]);
        let v = [
            _mm512_unpacklo_epi64(t0, t1),
            _mm512_unpackhi_epi64(t0, t1),
            _mm512_unpacklo_epi64(t2, t3),
            _mm512_unpackhi_epi64(t2, t3),
        ];
        let lo = v.map(|v| _mm512_and_si512(v, mask));
        let hi = v.map(|v| _mm512_and_si512(_mm512_srli_epi16(v, 4), mask));
        let dv = both(load8(d0, at), load8(d1, at));
        let mv = both(load8(m0, at), load8(m1, at));
        for (a, x) in acc.iter_mut().zip(xs) {
            // Four activations in every lane, against each row's word.
            let xp = x.q.as_ptr().add(b * QK) as *const i32;
            let four = |i: usize| _mm512_set1_epi32(xp.add(i).read_unaligned());
            let (mut sl, mut sh) = (zero, zero);
            for k in 0..4 {
                sl = _mm512_dpbusd_epi32(sl, lo[k], four(k));
                sh = _mm512_dpbusd_epi32(sh, hi[k], four(4 + k));
            }
            let isum = _mm512_add_epi32(sl, sh);
            // `fold`: acc + ((d·dx)·isum + m·s).
            let t = _mm512_mul_ps(
                _mm512_mul_ps(dv, _mm512_set1_ps(*x.d.get_unchecked(b))),
                _mm512_cvtepi32_ps(isum),
            );
            let t = _mm512_add_ps(t, _mm512_mul_ps(mv, _mm512_set1_ps(*x.s.get_unchecked(b))));
            *a = _mm512_add_ps(*a, t);
        }
    }
    let mut out = [[[0.0f32; G]; TOKENS]; 2];
    for (t, a) in acc.iter().enumerate() {
        _mm256_storeu_ps(out[0][t].as_mut_ptr(), _mm512_castps512_ps256(*a));
        let high = _mm512_extractf64x4_pd(_mm512_castps_pd(*a), 1);
        _mm256_storeu_ps(out[1][t].as_mut_ptr(), _mm256_castpd_ps(high));
    }
    out
}

/// One block of 32 activations quantized as [`super::reference::quantize_block`] does, bit
/// for bit: `amax` by `vmaxps` with the running maximum second (a NaN is ignored, as
/// `f32::max` ignores it), then `round` (half away from zero) spelled out as truncation plus
/// one where the dropped fraction is at least ½, and `as i8`'s saturation (NaN to 0) before
/// the conversion.
#[cfg(target_feature = "avx2")]
pub fn quantize_block(blk: &[f32], q: &mut [i8]) -> (f32, i32) {
    assert!(blk.len() == QK && q.len() == QK);
    // SAFETY: AVX2 is enabled for the whole build; `blk` holds 32 f32 and `q` 32 bytes.
    unsafe {
        let v: [__m256; 4] = std::array::from_fn(|i| _mm256_loadu_ps(blk.as_ptr().add(8 * i)));
        let sign = _mm256_set1_ps(-0.0);
        let amax = v.iter().fold(_mm256_setzero_ps(), |a, &x| {
            _mm256_max_ps(_mm256_andnot_ps(sign, x), a)
        });
        let m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        let m2 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        let m1 = _mm_max_ss(m2, _mm_shuffle_ps(m2, m2, 1));
        let scale = _mm_cvtss_f32(m1) / 127.0;
        let inv = _mm256_set1_ps(if scale != 0.0 { 1.0 / scale } else { 0.0 });
        let round = |x: __m256| {
            let y = _mm256_mul_ps(x, inv);
            let t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            let frac = _mm256_andnot_ps(sign, _mm256_sub_ps(y, t));
            let up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5), _CMP_GE_OQ);
            let one = _mm256_or_ps(_mm256_set1_ps(1.0), _mm256_and_ps(y, sign));
            let r = _mm256_add_ps(t, _mm256_and_ps(up, one));
            let r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q)); // NaN → 0
            let r = _mm256_min_ps(
                _mm256_max_ps(r, _mm256_set1_ps(-128.0)),
                _mm256_set1_ps(127.0),
            );
            _mm256_cvttps_epi32(r)
        };
        let i: [__m256i; 4] = std::array::from_fn(|k| round(v[k]));
        let sum = i
            .iter()
            .fold(_mm256_setzero_si256(), |a, &x| _mm256_add_epi32(a, x));
        let s4 = _mm_add_epi32(
            _mm256_castsi256_si128(sum),
            _mm256_extracti128_si256(sum, 1),
        );
        let s2 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0b01_00_11_10));
        let s1 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0b10_11_00_01));
        // The packs work within 128-bit halves, leaving the bytes' runs of four in the order
        // 0, 8, 16, 24, 4, 12, 20, 28: the permute puts them back in order.
        let w01 = _mm256_packs_epi32(i[0], i[1]);
        let w23 = _mm256_packs_epi32(i[2], i[3]);
        let b = _mm256_packs_epi16(w01, w23);
        let b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(q.as_mut_ptr() as *mut __m256i, b);
        (scale, _mm_cvtsi128_si32(s1))
    }
}
