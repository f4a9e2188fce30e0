//! Attention on the host: one query row at a time (a decode step), or a prompt's queries sixteen
//! at a time, one per lane. Both give the same bits: a score is `dot`'s eight partial sums
//! added up in its tree, a softmax row's maximum and sum run over its keys in order, and each
//! output is [`weighted_sum`] over that row's keys.
//!
//! A row at a time, each score's eight lanes are added up across a register and each softmax
//! sum is one chain of dependent adds: on a 176-token story two thirds of attention's time.
//! Sixteen queries in the lanes, the same adds run side by side.

use super::dot::{dots, weighted_sum};
use super::exp::exp_in_place;

/// The work on one chunk of the output: its index and its values.
pub(super) type Chunk<'a> = &'a (dyn Fn((usize, &mut [f32])) + Sync);

/// What attention needs of the model's shape.
#[derive(Clone, Copy, Debug)]
pub(super) struct Heads {
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub scale: f32,
}

/// Keys and values of every position so far, `(positions, width)` each (the kv heads side by
/// side).
pub(super) struct Past<'a> {
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub width: usize,
}

impl Past<'_> {
    fn key(&self, j: usize, g: usize, hd: usize) -> &[f32] {
        &self.k[j * self.width + g * hd..][..hd]
    }
    fn value(&self, j: usize, g: usize, hd: usize) -> &[f32] {
        &self.v[j * self.width + g * hd..][..hd]
    }
}

/// The keys query position `last` sees: from `first` (a sliding window's start) to itself.
fn seen(last: usize, window: Option<usize>) -> (usize, usize) {
    (window.map_or(0, |w| (last + 1).saturating_sub(w)), last)
}

/// Attention of query rows `q (t, n_head·head_dim)` at positions `pos..pos + t` into `out`
/// (the same shape): `parallel` spreads blocks of rows over the pool (`each`: the backend's
/// way of running chunks). Prompts whose head width is a multiple of 8 (as `dot` adds it up)
/// take the sixteen-lane blocks on x86 with AVX or AVX-512 (the browser's build and others,
/// and one row, take [`attend_row`]).
pub(super) fn attend(
    heads: Heads,
    q: &[f32],
    past: &Past,
    pos: usize,
    window: Option<usize>,
    out: &mut [f32],
    each: impl Fn(&mut [f32], usize, Chunk),
) {
    let cols = heads.n_head * heads.head_dim;
    #[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
    if out.len() > cols && heads.head_dim.is_multiple_of(8) {
        use block::{attend_block, LANES};
        each(out, LANES * cols, &|(b, o)| {
            let i0 = b * LANES;
            attend_block(heads, &q[i0 * cols..][..o.len()], past, pos + i0, window, o)
        });
        return;
    }
    each(out, cols, &|(i, o)| {
        attend_row(heads, &q[i * cols..][..cols], past, pos + i, window, o)
    });
}

/// Attention of one query row (all its heads) at position `at`.
pub(super) fn attend_row(
    heads: Heads,
    q: &[f32],
    past: &Past,
    at: usize,
    window: Option<usize>,
    out: &mut [f32],
) {
    let Heads { head_dim: hd, .. } = heads;
    let (first, last) = seen(at, window);
    let n = last + 1 - first;
    let mut row = vec![0.0f32; n];
    let rep = heads.n_head / heads.n_kv_head;
    for (h, (qh, oh)) in q.chunks_exact(hd).zip(out.chunks_exact_mut(hd)).enumerate() {
        let g = h / rep;
        dots(qh, |j| past.key(first + j, g, hd), &mut row);
        row.iter_mut().for_each(|s| *s *= heads.scale);
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        row.iter_mut().for_each(|s| *s -= max);
        exp_in_place(&mut row);
        let sum = row.iter().fold(0.0f32, |a, &s| a + s);
        row.iter_mut().for_each(|s| *s /= sum);
        weighted_sum(&row, |j| past.value(first + j, g, hd), oh);
    }
}

/// The sixteen-lane path: x86 with AVX (two 256-bit registers per lane row) or AVX-512 (one).
#[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
mod block {
    use super::*;
    use std::arch::x86_64::*;

    /// Queries a block of a prompt holds (one per lane).
    pub(super) const LANES: usize = 16;

    /// Attention of up to [`LANES`] consecutive query rows `q` (positions from `at`), every head,
    /// the rows in the lanes: scores `(keys, LANES)`, each lane masked to the keys its row sees (a
    /// masked score is left out of the maximum, and its weight is 0, which adds nothing to a sum).
    pub(super) fn attend_block(
        heads: Heads,
        q: &[f32],
        past: &Past,
        at: usize,
        window: Option<usize>,
        out: &mut [f32],
    ) {
        let Heads { head_dim: hd, .. } = heads;
        let cols = heads.n_head * hd;
        let rows = q.len() / cols;
        let rep = heads.n_head / heads.n_kv_head;
        let seen_by: Vec<(usize, usize)> = (0..rows).map(|l| seen(at + l, window)).collect();
        let (lo, hi) = (seen_by[0].0, seen_by[rows - 1].1);
        let mut qt = vec![[0.0f32; LANES]; hd];
        let mut s = vec![[0.0f32; LANES]; hi + 1 - lo];
        let mut ot = vec![[0.0f32; LANES]; hd];
        for h in 0..heads.n_head {
            let g = h / rep;
            for (l, row) in q.chunks_exact(cols).enumerate() {
                for (d, &x) in row[h * hd..][..hd].iter().enumerate() {
                    qt[d][l] = x;
                }
            }
            for (j, sj) in (lo..).zip(s.iter_mut()) {
                *sj = scores(&qt, past.key(j, g, hd));
                sj.iter_mut().for_each(|x| *x *= heads.scale);
            }
            // Scores a lane does not see: out of the maximum (−∞), then weights of 0.
            let mask = |s: &mut [[f32; LANES]], v: f32| {
                (0..LANES).for_each(|l| {
                    let (first, last) = seen_by.get(l).map_or((hi + 1, hi), |&(f, t)| (f, t));
                    let column = (lo..first).chain(last + 1..=hi);
                    column.for_each(|j| s[j - lo][l] = v);
                })
            };
            mask(&mut s, f32::NEG_INFINITY);
            let mut max = [f32::NEG_INFINITY; LANES];
            for sj in &s {
                (0..LANES).for_each(|l| max[l] = max[l].max(sj[l]));
            }
            s.iter_mut()
                .for_each(|sj| (0..LANES).for_each(|l| sj[l] -= max[l]));
            exp_in_place(s.as_flattened_mut());
            mask(&mut s, 0.0);
            let mut sum = [0.0f32; LANES];
            for sj in &s {
                (0..LANES).for_each(|l| sum[l] += sj[l]);
            }
            // The weights (0 where masked), then each lane's sum of values weighted by them.
            s.iter_mut()
                .for_each(|sj| (0..LANES).for_each(|l| sj[l] /= sum[l]));
            sums(&s, |j| past.value(lo + j, g, hd), &mut ot);
            for (l, o) in out.chunks_exact_mut(cols).enumerate() {
                for (d, x) in o[h * hd..][..hd].iter_mut().enumerate() {
                    *x = ot[d][l];
                }
            }
        }
    }

    /// `out[d][l] = Σ_j p[j][l]·value(j)[d]`, summed in order of `j` from zero (as
    /// [`weighted_sum`] sums one row: a weight of 0 adds nothing), eight of `d` at a time.
    fn sums<'a>(p: &[[f32; LANES]], value: impl Fn(usize) -> &'a [f32], out: &mut [[f32; LANES]]) {
        for (c, oc) in out.chunks_exact_mut(8).enumerate() {
            #[cfg(target_feature = "avx512f")]
            // SAFETY: AVX-512 F is enabled for the whole build; each load and store is one lane row.
            unsafe {
                let mut acc = [_mm512_setzero_ps(); 8];
                for (j, pj) in p.iter().enumerate() {
                    let (w, v) = (_mm512_loadu_ps(pj.as_ptr()), &value(j)[8 * c..][..8]);
                    for i in 0..8 {
                        acc[i] = _mm512_add_ps(acc[i], _mm512_mul_ps(w, _mm512_set1_ps(v[i])));
                    }
                }
                for (o, a) in oc.iter_mut().zip(acc) {
                    _mm512_storeu_ps(o.as_mut_ptr(), a);
                }
            }
            #[cfg(not(target_feature = "avx512f"))]
            // SAFETY: AVX is enabled for the whole build; each load and store is half a lane row.
            unsafe {
                for half in 0..LANES / 8 {
                    let mut acc = [_mm256_setzero_ps(); 8];
                    for (j, pj) in p.iter().enumerate() {
                        let w = _mm256_loadu_ps(pj.as_ptr().add(8 * half));
                        let v = &value(j)[8 * c..][..8];
                        for i in 0..8 {
                            acc[i] = _mm256_add_ps(acc[i], _mm256_mul_ps(w, _mm256_set1_ps(v[i])));
                        }
                    }
                    for (o, a) in oc.iter_mut().zip(acc) {
                        _mm256_storeu_ps(o.as_mut_ptr().add(8 * half), a);
                    }
                }
            }
        }
    }

    /// One key's scores against the lanes' queries `qt (head_dim, LANES)`: per lane, `dot`'s
    /// eight partial sums (element `8c + i` into sum `i`, in order of `c`) and its tree, the lanes in
    /// one 512-bit register or two 256-bit ones.
    #[inline]
    fn scores(qt: &[[f32; LANES]], key: &[f32]) -> [f32; LANES] {
        let mut out = [0.0f32; LANES];
        #[cfg(target_feature = "avx512f")]
        // SAFETY: AVX-512 F is enabled for the whole build; each load reads 16 of a row's 16 f32.
        unsafe {
            let mut acc = [_mm512_setzero_ps(); 8];
            for (qc, kc) in qt.chunks_exact(8).zip(key.chunks_exact(8)) {
                for i in 0..8 {
                    let p = _mm512_mul_ps(_mm512_loadu_ps(qc[i].as_ptr()), _mm512_set1_ps(kc[i]));
                    acc[i] = _mm512_add_ps(acc[i], p);
                }
            }
            let pair = |a: usize, b: usize| _mm512_add_ps(acc[a], acc[b]);
            let t = _mm512_add_ps(
                _mm512_add_ps(pair(0, 4), pair(1, 5)),
                _mm512_add_ps(pair(2, 6), pair(3, 7)),
            );
            _mm512_storeu_ps(out.as_mut_ptr(), t);
        }
        #[cfg(not(target_feature = "avx512f"))]
        // SAFETY: AVX is enabled for the whole build; each load reads 8 of a row's 16 f32.
        unsafe {
            for half in 0..LANES / 8 {
                let mut acc = [_mm256_setzero_ps(); 8];
                for (qc, kc) in qt.chunks_exact(8).zip(key.chunks_exact(8)) {
                    for i in 0..8 {
                        let q = _mm256_loadu_ps(qc[i].as_ptr().add(8 * half));
                        acc[i] = _mm256_add_ps(acc[i], _mm256_mul_ps(q, _mm256_set1_ps(kc[i])));
                    }
                }
                let pair = |a: usize, b: usize| _mm256_add_ps(acc[a], acc[b]);
                let t = _mm256_add_ps(
                    _mm256_add_ps(pair(0, 4), pair(1, 5)),
                    _mm256_add_ps(pair(2, 6), pair(3, 7)),
                );
                _mm256_storeu_ps(out.as_mut_ptr().add(8 * half), t);
            }
        }
        out
    }
}

#[cfg(all(test, target_arch = "x86_64", target_feature = "avx"))]
mod tests {
    use super::super::dot::tests::values;
    use super::*;

    fn sequential(out: &mut [f32], size: usize, f: Chunk) {
        out.chunks_mut(size).enumerate().for_each(f);
    }

    #[test]
    fn blocks_of_sixteen_give_the_bits_of_one_row_at_a_time() {
        let heads = Heads {
            n_head: 6,
            n_kv_head: 2,
            head_dim: 64,
            scale: 0.125,
        };
        let cols = heads.n_head * heads.head_dim;
        let width = heads.n_kv_head * heads.head_dim;
        // Prompts shorter than, equal to and longer than a block, after earlier positions or
        // none, with and without a sliding window.
        for (t, pos, window) in [(5, 0, None), (16, 0, None), (41, 3, None), (37, 0, Some(7))] {
            let (k, v) = (values((pos + t) * width, 5), values((pos + t) * width, 9));
            let past = Past {
                k: &k,
                v: &v,
                width,
            };
            let q = values(t * cols, 1);
            let mut got = vec![0.0; t * cols];
            attend(heads, &q, &past, pos, window, &mut got, sequential);
            let mut want = vec![0.0; t * cols];
            for (i, o) in want.chunks_exact_mut(cols).enumerate() {
                attend_row(heads, &q[i * cols..][..cols], &past, pos + i, window, o);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&got),
                bits(&want),
                "t {t}, pos {pos}, window {window:?}"
            );
            assert!(got.iter().all(|x| x.is_finite()) && got.iter().any(|&x| x != 0.0));
        }
    }
}
