//! Our Q4_1 matrix product: Q4_1 weights times activations quantized on the fly to 8-bit blocks
//! with their sums (Q8_1, as llama.cpp and candle's generic path do). The browser build uses it
//! for every Q4_1 product, where candle's wasm build has no SIMD Q4_1 kernel (3× faster decode,
//! 4.5× faster prompts there); natively candle is as fast end to end and keeps prompt
//! activations in f32, so native keeps candle's.
//!
//! Each 32-element block contributes `d_w·d_x·Σ q_w q_x + m_w·s_x`. The integer sum is exact,
//! so the SIMD paths (AVX2, simd128) only speed it up; the per-block float work and the
//! accumulation over blocks are the same scalar operations in the same order on every path,
//! so results are bit-identical to the scalar reference (tested natively and in the browser).

use candle_core::quantized::{GgmlDType, QTensor};

use crate::error::{Error, Result};

const QK: usize = 32;
/// Outputs computed together on one thread.
const RUN: usize = 32;
/// Bytes of one stored Q4_1 block: f16 scale, f16 minimum, 16 bytes of nibbles.
const BLOCK_BYTES: usize = 20;

/// A Q4_1 weight matrix `(rows, cols)` repacked at load time into flat arrays.
#[derive(Debug, Clone)]
pub struct QMatrix {
    pub rows: usize,
    pub cols: usize,
    d: Vec<f32>, // (rows, cols/32) block scales
    m: Vec<f32>, // (rows, cols/32) block minimums
    /// `(rows, cols/32, 16)`: byte `j` of a block holds element `j` (low nibble) and `j+16` (high).
    q: Vec<u8>,
}

fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

impl QMatrix {
    /// Repacks a Q4_1 tensor `(rows, cols)`; `None` for any other format.
    pub fn new(t: &QTensor) -> Result<Option<Self>> {
        if t.dtype() != GgmlDType::Q4_1 {
            return Ok(None);
        }
        let (rows, cols) = t.shape().dims2()?;
        if cols % QK != 0 {
            return Err(Error::Model(format!(
                "Q4_1 matrix width {cols} is not a multiple of {QK}"
            )));
        }
        let raw = t.data()?;
        let nb = rows * cols / QK;
        if raw.len() != nb * BLOCK_BYTES {
            return Err(Error::Model(format!(
                "Q4_1 matrix has {} bytes, want {}",
                raw.len(),
                nb * BLOCK_BYTES
            )));
        }
        let (mut d, mut m, mut q) = (
            Vec::with_capacity(nb),
            Vec::with_capacity(nb),
            Vec::with_capacity(nb * 16),
        );
        for blk in raw.chunks_exact(BLOCK_BYTES) {
            d.push(f16(&blk[0..2]));
            m.push(f16(&blk[2..4]));
            q.extend_from_slice(&blk[4..20]);
        }
        Ok(Some(Self {
            rows,
            cols,
            d,
            m,
            q,
        }))
    }

    /// `x (t, cols) · selfᵀ` → `(t, rows)`, row-major. Natively, with more than one row of
    /// `x` (a prompt), the outputs are split in runs of 32 over rayon's pool (threads made
    /// once, not per call): prompts ran 1.4× faster on 2 cores, while one decode row ran
    /// 18 % slower that way, so it stays on one thread. Every output is the same sum either
    /// way, so the bits do not depend on the thread count.
    pub fn matmul(&self, x: &[f32], t: usize) -> Vec<f32> {
        let xq: Vec<Q8> = x.chunks_exact(self.cols).take(t).map(Q8::new).collect();
        let mut out = vec![0.0f32; xq.len() * self.rows];
        let fill = |(chunk, o): (usize, &mut [f32])| {
            for (i, v) in o.iter_mut().enumerate() {
                let at = chunk * RUN + i;
                *v = self.dot_row(at % self.rows, &xq[at / self.rows]);
            }
        };
        #[cfg(not(target_arch = "wasm32"))]
        if xq.len() > 1 {
            use rayon::prelude::*;
            out.par_chunks_mut(RUN).enumerate().for_each(fill);
            return out;
        }
        out.chunks_mut(RUN).enumerate().for_each(fill);
        out
    }

    /// Dot product of weight row `r` with one quantized activation row.
    pub fn dot_row(&self, r: usize, x: &Q8) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected at run time.
            return unsafe { self.dot_row_avx2(r, x) };
        }
        self.dot_row_with(r, x, simd::dot_q4)
    }

    /// The same sum with the scalar integer kernel: the reference every SIMD path must equal.
    pub fn dot_row_reference(&self, r: usize, x: &Q8) -> f32 {
        self.dot_row_with(r, x, simd::dot_q4_scalar)
    }

    /// The row loop compiled with AVX2 enabled, so the block kernel inlines into it.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn dot_row_avx2(&self, r: usize, x: &Q8) -> f32 {
        // SAFETY: the caller checked AVX2; dot_row_with passes whole blocks.
        self.dot_row_with(r, x, |w, x| unsafe { simd::avx2::dot_q4(w, x) })
    }

    /// Σ over blocks, in block order, of `d_w·d_x·isum + m_w·s_x`; `q4` gives the exact
    /// integer sum of a block, so every choice of it yields the same bits.
    #[inline(always)]
    fn dot_row_with(&self, r: usize, x: &Q8, q4: impl Fn(&[u8], &[i8]) -> i32) -> f32 {
        let nb = self.cols / QK;
        let (d, m) = (&self.d[r * nb..(r + 1) * nb], &self.m[r * nb..(r + 1) * nb]);
        let q = &self.q[r * nb * 16..(r + 1) * nb * 16];
        let mut acc = 0.0f32;
        for (b, (wq, xq)) in q.chunks_exact(16).zip(x.q.chunks_exact(QK)).enumerate() {
            acc += d[b] * x.d[b] * q4(wq, xq) as f32 + m[b] * x.s[b];
        }
        acc
    }

    /// Weight row `r` as f32 `(cols)`.
    pub fn dequantize_row(&self, r: usize) -> Vec<f32> {
        let nb = self.cols / QK;
        let mut out = Vec::with_capacity(self.cols);
        for blk in r * nb..(r + 1) * nb {
            let qs = &self.q[blk * 16..blk * 16 + 16];
            let nibbles = qs.iter().map(|v| v & 0x0F).chain(qs.iter().map(|v| v >> 4));
            out.extend(nibbles.map(|v| self.d[blk] * v as f32 + self.m[blk]));
        }
        out
    }
}

/// One activation row quantized to 8 bits per 32-element block, with each block's sum.
#[derive(Debug, Clone)]
pub struct Q8 {
    d: Vec<f32>, // per block: scale
    s: Vec<f32>, // per block: scale · Σq
    q: Vec<i8>,  // (cols)
}

impl Q8 {
    /// Quantizes `x (cols)`, `cols` a multiple of 32.
    pub fn new(x: &[f32]) -> Self {
        let nb = x.len() / QK;
        let (mut d, mut s, mut q) = (
            Vec::with_capacity(nb),
            Vec::with_capacity(nb),
            Vec::with_capacity(x.len()),
        );
        for blk in x.chunks_exact(QK) {
            let amax = blk.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let scale = amax / 127.0;
            let inv = if scale != 0.0 { 1.0 / scale } else { 0.0 };
            let start = q.len();
            q.extend(blk.iter().map(|v| (v * inv).round() as i8));
            d.push(scale);
            s.push(scale * q[start..].iter().map(|&v| v as i32).sum::<i32>() as f32);
        }
        Self { d, s, q }
    }
}

/// Integer block dot products: a scalar reference and SIMD versions that must equal it.
pub mod simd {
    /// Σ w_i x_i over one block: `w` 16 bytes of nibbles (elements j and j+16), `x` 32 values.
    pub fn dot_q4_scalar(w: &[u8], x: &[i8]) -> i32 {
        (0..16)
            .map(|j| (w[j] & 0x0F) as i32 * x[j] as i32 + (w[j] >> 4) as i32 * x[j + 16] as i32)
            .sum()
    }

    /// The fastest kernel this machine has.
    #[cfg(target_arch = "x86_64")]
    pub fn dot_q4(w: &[u8], x: &[i8]) -> i32 {
        if std::is_x86_feature_detected!("avx2") && w.len() >= 16 && x.len() >= 32 {
            // SAFETY: AVX2 was detected at run time and the lengths were checked.
            unsafe { avx2::dot_q4(w, x) }
        } else {
            dot_q4_scalar(w, x)
        }
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub use wasm::dot_q4;

    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    pub use dot_q4_scalar as dot_q4;

    #[cfg(target_arch = "x86_64")]
    pub mod avx2 {
        use std::arch::x86_64::*;

        /// # Safety
        /// Needs AVX2; `w` ≥ 16 bytes, `x` ≥ 32 values.
        #[inline]
        #[target_feature(enable = "avx2")]
        pub unsafe fn dot_q4(w: &[u8], x: &[i8]) -> i32 {
            let packed = _mm_loadu_si128(w.as_ptr() as *const __m128i);
            let mask = _mm_set1_epi8(0x0F);
            let lo = _mm_and_si128(packed, mask);
            let hi = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
            let wv = _mm256_set_m128i(hi, lo); // elements 0..15, then 16..31, each 0..15
            let xv = _mm256_loadu_si256(x.as_ptr() as *const __m256i);
            // u8 × i8 pairs summed to i16 (at most 2·15·127, no saturation), then to i32.
            let v = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, xv), _mm256_set1_epi16(1));
            let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
            _mm_cvtsi128_si32(s)
        }
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    mod wasm {
        use std::arch::wasm32::*;

        /// simd128 version of [`super::dot_q4_scalar`].
        pub fn dot_q4(w: &[u8], x: &[i8]) -> i32 {
            assert!(
                w.len() >= 16 && x.len() >= 32,
                "a Q4_1 block is 16 bytes against 32 values"
            );
            // SAFETY: the lengths are checked above; wasm loads need no alignment.
            let (packed, x0, x1) = unsafe {
                (
                    v128_load(w.as_ptr() as *const v128),
                    v128_load(x.as_ptr() as *const v128),
                    v128_load(x.as_ptr().add(16) as *const v128),
                )
            };
            let lo = v128_and(packed, u8x16_splat(0x0F));
            let hi = u8x16_shr(packed, 4);
            let dot = |w: v128, x: v128| {
                i32x4_add(
                    i32x4_dot_i16x8(u16x8_extend_low_u8x16(w), i16x8_extend_low_i8x16(x)),
                    i32x4_dot_i16x8(u16x8_extend_high_u8x16(w), i16x8_extend_high_i8x16(x)),
                )
            };
            let v = i32x4_add(dot(lo, x0), dot(hi, x1));
            i32x4_extract_lane::<0>(v)
                + i32x4_extract_lane::<1>(v)
                + i32x4_extract_lane::<2>(v)
                + i32x4_extract_lane::<3>(v)
        }
    }
}
