//! Our quantized matrix products: Q4_1 and Q8_0 weights (Q4_K read as Q4_1 blocks; Q5_0, Q5_1
//! and Q5_K as 5-bit blocks, [`Format::Q5`]; Q6_K as bytes with a scale per 16 values,
//! [`Format::Q8_16`]) times
//! activations quantized on the fly to 8-bit blocks (Q8_1 with f32 scale and sum for Q4_1, as
//! llama.cpp and candle's generic path do; for Q8_0 the block scale is rounded to f16 as both
//! do). Used for every product on the CPU backend, natively and in the browser.
//!
//! A Q4_1 or Q5 block contributes `d_w·d_x·Σ q_w q_x + m_w·s_x`, a Q8_0 block
//! `d_w·d_x·Σ q_w q_x`, a Q8_16 block that of Q8_0 for each of its two halves (first, second).
//! The integer sum is exact, so the SIMD kernels (AVX-512 VNNI, AVX2, simd128, relaxed SIMD)
//! only speed it up; the per-block float work and the accumulation over blocks are the same
//! operations in the same order on every path, so results are bit-identical to the scalar
//! reference (tested natively and in the browser). The GPU kernels do the same arithmetic.
//!
//! Layout (made at load time): rows are interleaved in groups of 8, block by block, so one
//! pass over a block of `x` serves 8 rows. The 8 integer sums are reduced together and the
//! float work runs on 8 lanes at once: a few instructions per row and block instead of ~20.
//! Per group and block: the 8 rows' quants (row order), then 8 scales and (Q4_1, Q5) 8
//! minimums in *lane order* ([`LANES_Q4`] or [`LANES_Q8`]: the order the SIMD reduction leaves
//! the rows in); Q8_16 has 16 scales (the first halves' 8, then the second halves'); Q5's quants
//! are the 8 rows' nibbles as Q4_1's, then their 8 words of fifth bits. Scales and minimums are
//! held in f16 where that is exact ([`scales`]). On x86
//! 8-bit quants are stored offset by 128 as unsigned bytes (`vpdpbusd` multiplies u8 × i8;
//! `Σ(w+128)x − 128·Σx` is still exact); elsewhere as they are.

use super::weight::{f16, five_bit, ByteBlock, DType, FiveBits, QWeight};
use crate::error::{Error, Result};
use scales::{Lanes, Store};

const QK: usize = 32;
/// Rows interleaved and computed together.
const G: usize = 8;
/// Outputs given to one thread at a time in a prompt.
const RUN: usize = 32;
/// Activation rows served by one pass over a group's weights.
pub const TOKENS: usize = 4;
/// Weights (rows × cols) from which a single-row product is split over threads.
#[cfg(not(target_arch = "wasm32"))]
const SPLIT_MIN: usize = 64 * 1024;
/// Weights from which a single-row product is split over the whole pool whatever
/// [`crate::backend::decode_threads`] says.
#[cfg(not(target_arch = "wasm32"))]
const WHOLE_POOL_MIN: usize = 8 << 20;
/// Which row of a group each lane holds, per format.
pub const LANES_Q4: [usize; G] = [0, 2, 4, 6, 1, 3, 5, 7];
pub const LANES_Q8: [usize; G] = [0, 1, 2, 3, 4, 5, 6, 7];
/// XOR-ed into stored Q8_0 quants: `0x80` turns i8 `w` into u8 `w + 128`.
const OFFSET: u8 = if cfg!(target_arch = "x86_64") {
    0x80
} else {
    0
};

/// The stored block formats we read directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// f16 scale, f16 minimum, 16 bytes of nibbles (elements j and j+16 in byte j).
    Q4_1,
    /// f16 scale, 32 signed bytes.
    Q8_0,
    /// 32 five-bit values with a scale and minimum: 16 bytes of nibbles (as Q4_1's), 32
    /// fifth bits (Q5_0, Q5_1 and Q5_K as [`QWeight::five_bit_blocks`] gives them).
    Q5,
    /// 32 signed bytes with a scale per 16 (Q6_K as [`QWeight::byte_blocks`] gives it).
    Q8_16,
}

impl Format {
    /// Bytes of one stored block and of its quants (the tail of the block).
    fn sizes(self) -> (usize, usize) {
        match self {
            Format::Q4_1 => (20, 16),
            Format::Q8_0 => (34, 32),
            Format::Q5 => (0, 20),
            Format::Q8_16 => (0, 32),
        }
    }

    fn lanes(self) -> [usize; G] {
        match self {
            Format::Q4_1 | Format::Q5 => LANES_Q4,
            Format::Q8_0 | Format::Q8_16 => LANES_Q8,
        }
    }

    /// Scales per block and row.
    fn halves(self) -> usize {
        if self == Format::Q8_16 {
            2
        } else {
            1
        }
    }
}

/// The integer kernels a matrix product can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain scalar Rust: the reference.
    Reference,
    /// wasm simd128.
    Simd128,
    /// wasm simd128 with relaxed SIMD's integer dot product (a separate build: modules that
    /// use it don't load where the browser lacks it).
    Relaxed,
    /// AVX2 with FMA and F16C (every AVX2 CPU has them).
    Avx2,
    /// AVX-512 VNNI: Q4_1 on 512-bit registers, two groups at a time; the other formats on
    /// 256-bit registers (VL).
    Vnni,
}

impl Kernel {
    /// Every kernel this machine can run, the reference first (checked once).
    pub fn available() -> &'static [Kernel] {
        static ALL: std::sync::OnceLock<Vec<Kernel>> = std::sync::OnceLock::new();
        ALL.get_or_init(Self::detect)
    }

    fn detect() -> Vec<Kernel> {
        let mut all = vec![Kernel::Reference];
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        all.push(Kernel::Simd128);
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        all.push(Kernel::Relaxed);
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::is_x86_feature_detected!("f16c");
            if avx2 {
                all.push(Kernel::Avx2);
            }
            if avx2
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
            {
                all.push(Kernel::Vnni);
            }
        }
        all
    }

    /// The fastest kernel here.
    pub fn best() -> Kernel {
        *Kernel::available().last().unwrap_or(&Kernel::Reference)
    }
}

/// A quantized weight matrix `(rows, cols)` repacked at load time (see the module doc).
#[derive(Debug, Clone)]
pub struct QMatrix {
    pub rows: usize,
    pub cols: usize,
    pub format: Format,
    d: Store,   // (groups, blocks, halves, G) in lane order
    m: Store,   // (groups, blocks, G) in lane order; only for Q4_1 and Q5
    q: Vec<u8>, // (groups, blocks, G rows, 16 or 32)
}

impl QMatrix {
    /// Repacks a Q4_1, Q4_K (its sub-blocks as Q4_1 blocks with f32 scales), Q8_0, Q5_0, Q5_1,
    /// Q5_K or Q6_K matrix `(rows, cols)`; `None` for any other format.
    pub fn new(t: &QWeight) -> Result<Option<Self>> {
        let format = match t.dtype() {
            DType::Q4_1 | DType::Q4_K => Format::Q4_1,
            DType::Q8_0 => Format::Q8_0,
            DType::Q5_0 | DType::Q5_1 | DType::Q5_K => Format::Q5,
            DType::Q6_K => Format::Q8_16,
            DType::F32 | DType::F16 => return Ok(None),
        };
        let nibbles = t.nibble_blocks();
        let bytes = t.byte_blocks();
        let fives = t.five_bit_blocks();
        let (rows, cols) = t.shape();
        if cols % QK != 0 || cols == 0 {
            return Err(Error::Model(format!(
                "{format:?} matrix width {cols} is not a positive multiple of {QK}"
            )));
        }
        // QWeight::new checked that the bytes are exactly (rows, cols / QK) blocks.
        let raw = t.bytes();
        let (block, quants) = format.sizes();
        let nb = cols / QK;
        let groups = rows.div_ceil(G);
        let (lanes, halves) = (format.lanes(), format.halves());
        let mut d = vec![0.0f32; groups * nb * halves * G];
        let minimums = matches!(format, Format::Q4_1 | Format::Q5);
        let mut m = vec![0.0f32; if minimums { d.len() } else { 0 }];
        // Padding rows (past `rows`) stay zero: their outputs are computed and dropped.
        let pad = match format {
            Format::Q4_1 | Format::Q5 => 0,
            Format::Q8_0 | Format::Q8_16 => OFFSET,
        };
        let mut q = vec![pad; groups * nb * G * quants];
        for g in 0..groups {
            for b in 0..nb {
                let at = (g * nb + b) * G;
                for (lane, &i) in lanes.iter().enumerate() {
                    let r = g * G + i;
                    if r >= rows {
                        continue;
                    }
                    if let Some(f) = &fives {
                        let FiveBits {
                            d: fd,
                            m: fm,
                            qs,
                            qh,
                        } = &f[r * nb + b];
                        (d[at + lane], m[at + lane]) = (*fd, *fm);
                        let block = &mut q[at * quants..][..G * quants];
                        block[i * 16..][..16].copy_from_slice(qs);
                        block[G * 16 + i * 4..][..4].copy_from_slice(&qh.to_le_bytes());
                        continue;
                    }
                    let dst = &mut q[(at + i) * quants..][..quants];
                    if let Some(bb) = &bytes {
                        let ByteBlock { d: bd, qs } = &bb[r * nb + b];
                        for (h, &bd) in bd.iter().enumerate() {
                            d[(at * 2) + h * G + lane] = bd;
                        }
                        for (v, &w) in dst.iter_mut().zip(qs) {
                            *v = w as u8 ^ OFFSET;
                        }
                        continue;
                    }
                    if let Some(n) = &nibbles {
                        let n = &n[r * nb + b];
                        (d[at + lane], m[at + lane]) = (n.d, n.m);
                        dst.copy_from_slice(&n.qs);
                        continue;
                    }
                    let blk = &raw[(r * nb + b) * block..][..block];
                    d[at + lane] = f16(&blk[0..2]);
                    dst.copy_from_slice(&blk[block - quants..]);
                    dst.iter_mut().for_each(|v| *v ^= OFFSET);
                }
            }
        }
        Ok(Some(Self {
            rows,
            cols,
            format,
            d: Store::pack(d),
            m: Store::pack(m),
            q,
        }))
    }

    /// Room for `rows` rows in all, so that [`QMatrix::append`] up to them moves nothing.
    pub fn reserve_rows(&mut self, rows: usize) {
        let groups = rows.div_ceil(G);
        let per_group = self.cols / QK * G;
        let (_, quants) = self.format.sizes();
        let want = |v: usize| groups * per_group * v;
        let halves = self.format.halves();
        self.d.reserve_total(want(halves));
        if self.m.len() > 0 {
            self.m.reserve_total(want(1));
        }
        self.q
            .reserve_exact(want(quants).saturating_sub(self.q.len()));
    }

    /// `more`'s rows after these: the groups of 8 rows follow one another, so the repacked
    /// arrays are joined as they are. These rows must be whole groups.
    pub fn append(&mut self, more: QMatrix) -> Result<()> {
        if more.format != self.format || more.cols != self.cols || !self.rows.is_multiple_of(G) {
            return Err(Error::Model(format!(
                "cannot append a {:?} matrix ({}, {}) to a {:?} one ({}, {})",
                more.format, more.rows, more.cols, self.format, self.rows, self.cols
            )));
        }
        self.d.append(more.d);
        self.m.append(more.m);
        self.q.extend_from_slice(&more.q);
        self.rows += more.rows;
        Ok(())
    }

    /// `x (t, cols) · selfᵀ` → `(t, rows)`, row-major.
    pub fn matmul(&self, x: &[f32], t: usize) -> Vec<f32> {
        let xq: Vec<Q8> = x.chunks_exact(self.cols).take(t).map(Q8::new).collect();
        self.matmul_q8(&xq)
    }

    /// The product with activation rows already quantized. A prompt runs as a matrix–matrix
    /// product: each pass over a group's weights serves [`TOKENS`] rows of `x`; natively, runs
    /// of 32 outputs are spread over rayon's pool (threads made once, not per call). A single
    /// row (decode) is split in [`crate::backend::decode_threads`] parts natively. Every output
    /// is the same sum either way, so the bits depend neither on the thread count nor on how
    /// tokens are batched.
    pub fn matmul_q8(&self, xq: &[Q8]) -> Vec<f32> {
        let (t, rows) = (xq.len(), self.rows);
        let mut out = vec![0.0f32; t * rows];
        #[cfg(not(target_arch = "wasm32"))]
        if t > 1 && rayon::current_num_threads() == 1 {
            // One thread (each worker of a corpus pass): TOKENS rows of x at a time over the
            // whole matrix, written in place ((TOKENS, rows) is `out`'s own layout), so no run
            // is zeroed and copied.
            for (xs, o) in xq.chunks(TOKENS).zip(out.chunks_mut(TOKENS * rows)) {
                self.rows_into(xs, 0, o);
            }
            return out;
        }
        if t > 1 {
            // Each run of rows for every token, (t, len), then laid out as (t, rows).
            let run = |i: usize| {
                let len = RUN.min(rows - i * RUN);
                let mut o = vec![0.0f32; t * len];
                self.rows_into(xq, i * RUN, &mut o);
                o
            };
            let n = rows.div_ceil(RUN);
            #[cfg(not(target_arch = "wasm32"))]
            let runs: Vec<Vec<f32>> = {
                use rayon::prelude::*;
                (0..n).into_par_iter().map(run).collect()
            };
            #[cfg(target_arch = "wasm32")]
            let runs: Vec<Vec<f32>> = (0..n).map(run).collect();
            for (i, o) in runs.iter().enumerate() {
                let len = o.len() / t;
                for (tt, src) in o.chunks_exact(len).enumerate() {
                    out[tt * rows + i * RUN..][..len].copy_from_slice(src);
                }
            }
            return out;
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            // The output matrix (49152 × 576, ~1.3 ms alone) always takes the whole pool: one
            // hand-off per token is cheap next to it.
            let parts = if rows * self.cols >= WHOLE_POOL_MIN {
                rayon::current_num_threads()
            } else {
                crate::backend::decode_threads()
            };
            if parts > 1 && rows * self.cols >= SPLIT_MIN {
                use rayon::prelude::*;
                let chunk = rows.div_ceil(parts).div_ceil(G) * G;
                out.par_chunks_mut(chunk)
                    .enumerate()
                    .for_each(|(i, o)| self.rows_into(xq, i * chunk, o));
                return out;
            }
        }
        self.rows_into(xq, 0, &mut out);
        out
    }

    /// Outputs `row0 .. row0 + len` for each quantized activation row of `xs`, into `out
    /// (xs.len(), len)`, on the fastest kernel here.
    pub fn rows_into(&self, xs: &[Q8], row0: usize, out: &mut [f32]) {
        self.rows_with(Kernel::best(), xs, row0, out)
    }

    /// The same outputs on a chosen kernel (it must be one of [`Kernel::available`]).
    pub fn rows_with(&self, kernel: Kernel, xs: &[Q8], row0: usize, out: &mut [f32]) {
        assert!(
            Kernel::available().contains(&kernel),
            "kernel {kernel:?} is not available on this machine"
        );
        let len = out.len() / xs.len().max(1);
        assert!(
            row0 + len <= self.rows
                && len * xs.len() == out.len()
                && xs.iter().all(|x| x.q.len() == self.cols),
            "rows {row0}..+{len} of {} for {} inputs of width {}",
            self.rows,
            xs.len(),
            self.cols
        );
        for (xs, out) in xs.chunks(TOKENS).zip(out.chunks_mut(TOKENS * len.max(1))) {
            match kernel {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the kernel's CPU features were checked above.
                Kernel::Vnni => unsafe { self.groups_vnni(xs, row0, out) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                Kernel::Avx2 => unsafe { self.groups_avx2(xs, row0, out) },
                #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                Kernel::Simd128 => self.groups(xs, row0, out, per_token(simd128::group::<false>)),
                #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
                Kernel::Relaxed => self.groups(xs, row0, out, per_token(simd128::group::<true>)),
                _ => self.groups(xs, row0, out, per_token(reference::group)),
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn groups_vnni(&self, xs: &[Q8], row0: usize, out: &mut [f32]) {
        // SAFETY: the caller checked the CPU features; `groups` passes in-range groups (and
        // `pair` gets Q4_1 matrices only).
        match self.format {
            Format::Q4_1 => self.groups(xs, row0, out, |w, xs, g| unsafe { x86::pair(w, xs, g) }),
            _ => self.groups(xs, row0, out, |w, xs, g| unsafe {
                [x86::group::<true>(w, xs, g)]
            }),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn groups_avx2(&self, xs: &[Q8], row0: usize, out: &mut [f32]) {
        // SAFETY: the caller checked the CPU features; `groups` passes in-range groups.
        self.groups(xs, row0, out, |w, xs, g| unsafe {
            [x86::group::<false>(w, xs, g)]
        })
    }

    /// Runs `group` over every group of 8 rows that `row0 .. row0 + len` touches for the (at
    /// most [`TOKENS`]) rows of `xs`, keeping the wanted rows in `out (xs.len(), len)`; `group`
    /// gives `N` groups from the one asked for on (those past the last are dropped).
    #[inline(always)]
    fn groups<const N: usize>(
        &self,
        xs: &[Q8],
        row0: usize,
        out: &mut [f32],
        group: impl Fn(&QMatrix, &[Q8], usize) -> [[[f32; G]; TOKENS]; N],
    ) {
        let len = out.len() / xs.len();
        let end = row0 + len;
        let mut r = row0;
        while r < end {
            for lanes in group(self, xs, r / G) {
                if r >= end {
                    break;
                }
                let g = r / G;
                let (from, to) = (r - g * G, (end - g * G).min(G));
                for (t, lanes) in lanes.iter().take(xs.len()).enumerate() {
                    let mut rows = [0.0f32; G];
                    for (lane, &i) in self.format.lanes().iter().enumerate() {
                        rows[i] = lanes[lane];
                    }
                    let dst = &mut out[t * len + r - row0..][..to - from];
                    match <&mut [f32; G]>::try_from(&mut *dst) {
                        // A whole group: a fixed-size copy (wasm's `memory.copy` is a runtime
                        // call).
                        Ok(whole) => *whole = rows,
                        Err(_) => dst.copy_from_slice(&rows[from..to]),
                    }
                }
                r = g * G + to;
            }
        }
    }

    /// Group `g`'s scales, minimums (empty for Q8_0 and Q8_16) and quants.
    fn group_data(&self, g: usize) -> (Lanes<'_>, Lanes<'_>, &[u8]) {
        let nb = self.cols / QK;
        let (_, quants) = self.format.sizes();
        let n = nb * G * self.format.halves();
        let d = self.d.slice(g * n..(g + 1) * n);
        let m = match self.m.len() {
            0 => self.m.slice(0..0),
            _ => self.m.slice(g * nb * G..(g + 1) * nb * G),
        };
        (
            d,
            m,
            &self.q[g * nb * G * quants..(g + 1) * nb * G * quants],
        )
    }

    /// Bytes this matrix holds.
    pub fn bytes(&self) -> usize {
        let scale = |s: &Store| match s {
            Store::Half(h) => 2 * h.len(),
            Store::Full(f) => 4 * f.len(),
        };
        scale(&self.d) + scale(&self.m) + self.q.len()
    }

    /// Weight row `r` as f32 `(cols)`.
    pub fn dequantize_row(&self, r: usize) -> Vec<f32> {
        let (g, i) = (r / G, r % G);
        let lane = self
            .format
            .lanes()
            .iter()
            .position(|&v| v == i)
            .unwrap_or(0);
        let (d, m, q) = self.group_data(g);
        let (_, quants) = self.format.sizes();
        let mut out = Vec::with_capacity(self.cols);
        for b in 0..self.cols / QK {
            let qs = &q[(b * G + i) * quants..][..quants];
            let (db, at) = (d.get(b * G + lane), b * G + lane);
            match self.format {
                Format::Q5 => {
                    let block = &q[b * G * quants..][..G * quants];
                    let five = FiveBits {
                        d: db,
                        m: m.get(at),
                        qs: std::array::from_fn(|j| block[i * 16 + j]),
                        qh: u32::from_le_bytes(std::array::from_fn(|j| block[G * 16 + i * 4 + j])),
                    };
                    out.extend((0..QK).map(|j| db * five_bit(&five, j) as f32 + m.get(at)));
                }
                Format::Q8_16 => {
                    out.extend(qs.iter().enumerate().map(|(j, &v)| {
                        (v ^ OFFSET) as i8 as f32 * d.get((b * 2 + j / 16) * G + lane)
                    }))
                }
                Format::Q4_1 => {
                    let nibbles = qs.iter().map(|v| v & 0x0F).chain(qs.iter().map(|v| v >> 4));
                    out.extend(nibbles.map(|v| db * v as f32 + m.get(at)));
                }
                Format::Q8_0 => out.extend(qs.iter().map(|&v| db * (v ^ OFFSET) as i8 as f32)),
            }
        }
        out
    }
}

/// A one-token group kernel run for each row of `xs` (kernels that gain nothing from batching).
fn per_token(
    group: impl Fn(&QMatrix, &Q8, usize) -> [f32; G],
) -> impl Fn(&QMatrix, &[Q8], usize) -> [[[f32; G]; TOKENS]; 1] {
    move |w, xs, g| {
        let mut out = [[0.0f32; G]; TOKENS];
        for (o, x) in out.iter_mut().zip(xs) {
            *o = group(w, x, g);
        }
        [out]
    }
}

/// One activation row quantized to 8 bits per 32-element block, with each block's sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Q8 {
    d: Vec<f32>,   // per block: scale
    d16: Vec<f32>, // per block: the scale rounded to f16 (for Q8_0 weights)
    s: Vec<f32>,   // per block: scale · Σq
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    sq: Vec<i32>, // per block: Σq (the VNNI path's offset correction)
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    sq16: Vec<i32>, // per half block: Σq (the VNNI path's correction for Q8_16 weights)
    q: Vec<i8>,    // (cols)
}

impl Q8 {
    /// Quantizes `x (cols)`, `cols` a multiple of 32 (SIMD in the browser and on AVX2,
    /// bit-identical to [`Q8::reference`]).
    pub fn new(x: &[f32]) -> Self {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let block = simd128::quantize_block;
        #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
        let block = x86::quantize_block;
        #[cfg(not(any(
            all(target_arch = "wasm32", target_feature = "simd128"),
            all(target_arch = "x86_64", target_feature = "avx2")
        )))]
        let block = reference::quantize_block;
        Self::with(x, block)
    }

    /// The scalar quantization every path must equal.
    pub fn reference(x: &[f32]) -> Self {
        Self::with(x, reference::quantize_block)
    }

    fn with(x: &[f32], block: fn(&[f32], &mut [i8]) -> (f32, i32)) -> Self {
        let nb = x.len() / QK;
        let (mut d, mut s, mut sq) = (
            Vec::with_capacity(nb),
            Vec::with_capacity(nb),
            Vec::with_capacity(nb),
        );
        let mut sq16 = Vec::with_capacity(2 * nb);
        let mut q = vec![0i8; nb * QK];
        for (blk, q) in x.chunks_exact(QK).zip(q.chunks_exact_mut(QK)) {
            let (scale, sum) = block(blk, q);
            d.push(scale);
            s.push(scale * sum as f32);
            sq.push(sum);
            let first: i32 = q[..16].iter().map(|&v| v as i32).sum();
            sq16.extend([first, sum - first]);
        }
        let d16 = d.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect();
        Self {
            d,
            d16,
            s,
            sq,
            sq16,
            q,
        }
    }
}

mod reference;
mod scales;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
#[cfg(target_arch = "x86_64")]
mod x86;
