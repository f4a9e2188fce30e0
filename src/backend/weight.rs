//! A weight matrix as the model file stores it ([`QWeight`]): what [`super::Backend::matrix`]
//! takes, so the backends depend on no file reader. The loader ([`crate::gguf`]) makes them.

use crate::error::{Error, Result};

/// The stored formats the backends take (named as llama.cpp names them). Q4_1, Q4_K and Q8_0
/// are read directly by our kernels (Q4_K as Q4_1 blocks: [`QWeight::nibble_blocks`]); Q5_0,
/// Q5_1 and Q5_K as 5-bit blocks with a scale and a minimum ([`QWeight::five_bit_blocks`]);
/// Q6_K as blocks of 32 bytes with a scale and a minimum per 16 values
/// ([`QWeight::byte_blocks`]); f32 and f16 are dequantized (the loader rewrites Q4_0 as Q4_1,
/// value for value, and turns any other format into f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum DType {
    F32,
    F16,
    /// 32 values: f16 scale `d`, f16 minimum `m`, 16 bytes of nibbles (value `j` in the low
    /// nibble of byte `j`, value `j + 16` in its high nibble); a value is `q·d + m`.
    Q4_1,
    /// 32 values: f16 scale `d`, 32 signed bytes; a value is `q·d`.
    Q8_0,
    /// 256 values in eight sub-blocks of 32: f16 `d`, f16 `dmin`, 12 bytes packing each
    /// sub-block's 6-bit scale `sc` and minimum `m`, then 128 bytes of nibbles (per 64 values,
    /// 32 bytes: sub-block `2j` in the low nibbles, `2j + 1` in the high); a value is
    /// `(d·sc)·q − dmin·m` (llama.cpp's K-quant).
    Q4_K,
    /// 32 values: f16 scale `d`, 32 high bits, 16 bytes of low nibbles (as Q4_1's); a value is
    /// `(q − 16)·d`, q of 5 bits.
    Q5_0,
    /// 32 values: f16 scale `d`, f16 minimum `m`, 32 high bits, 16 bytes of low nibbles (as
    /// Q4_1's); a value is `q·d + m`, q of 5 bits.
    Q5_1,
    /// 256 values in eight sub-blocks of 32: f16 `d`, f16 `dmin`, 12 bytes of 6-bit scales and
    /// minimums (as Q4_K's), 32 bytes of high bits (bit `j` of byte `l`: value `l` of sub-block
    /// `j`), 128 bytes of low nibbles (as Q4_K's); a value is `(d·sc)·q − dmin·m`, q of 5 bits.
    Q5_K,
    /// 256 values in sixteen sub-blocks of 16: 128 bytes of low nibbles, 64 bytes of high bit
    /// pairs, 16 signed 8-bit scales `sc`, f16 `d` (last); a value is `(d·sc)·(q − 32)`, q of 6
    /// bits (layout: [`q6_k_values`]).
    Q6_K,
}

/// A block of 32 four-bit values as the Q4_1 kernels read it: a value is `q·d + m`; value `j`
/// in the low nibble of `qs[j]`, value `j + 16` in its high nibble.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nibbles {
    pub d: f32,
    pub m: f32,
    pub qs: [u8; 16],
}

/// A block of 32 five-bit values as the 5-bit kernels read them: a value is `q·d + m`, q's low
/// four bits as in [`Nibbles`], its fifth bit `j` in bit `j` of `qh`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FiveBits {
    pub d: f32,
    pub m: f32,
    pub qs: [u8; 16],
    pub qh: u32,
}

/// A block of 32 values in 8 bits as the byte kernels read them: value `j` is
/// `qs[j]·d[j / 16]` (Q6_K's values are symmetric: no minimum).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ByteBlock {
    pub d: [f32; 2],
    pub qs: [i8; 32],
}

impl DType {
    /// Values per block and bytes per block.
    pub fn block(self) -> (usize, usize) {
        match self {
            DType::F32 => (1, 4),
            DType::F16 => (1, 2),
            DType::Q4_1 => (32, 20),
            DType::Q8_0 => (32, 34),
            DType::Q4_K => (256, 144),
            DType::Q5_0 => (32, 22),
            DType::Q5_1 => (32, 24),
            DType::Q5_K => (256, 176),
            DType::Q6_K => (256, 210),
        }
    }
}

/// A weight matrix `(rows, cols)` = `(out, in)` as stored: each row `cols / values-per-block`
/// blocks of [`DType`], rows one after the other (GGUF's layout, little-endian). Made only
/// through [`QWeight::new`], so the bytes always fit the shape.
#[derive(Debug, Clone)]
pub struct QWeight {
    dtype: DType,
    shape: (usize, usize),
    bytes: Vec<u8>, // (rows, cols / per_block, block bytes)
}

/// The f16 at the start of `b`, little-endian, as f32.
pub(crate) fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

impl QWeight {
    /// A `(rows, cols)` matrix of `dtype` blocks; an [`Error::Model`] when the rows are not
    /// whole blocks or `bytes` is not exactly their size.
    pub fn new(dtype: DType, shape: (usize, usize), bytes: Vec<u8>) -> Result<Self> {
        let (rows, cols) = shape;
        let (per_block, block_bytes) = dtype.block();
        let want = rows
            .checked_mul(cols / per_block)
            .and_then(|n| n.checked_mul(block_bytes));
        if cols % per_block != 0 || want != Some(bytes.len()) {
            return Err(Error::Model(format!(
                "{dtype:?} matrix ({rows}, {cols}) has {} bytes; rows must be whole \
                 {per_block}-value blocks of {block_bytes} bytes",
                bytes.len()
            )));
        }
        Ok(Self {
            dtype,
            shape,
            bytes,
        })
    }

    /// The stored format.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        self.shape
    }

    /// The stored blocks, row after row.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The 32-value blocks of a Q4_1 or Q4_K matrix, row after row; `None` for other formats.
    /// A Q4_K sub-block's scale `d·sc` and minimum `−dmin·m` are worked out in f32 as llama.cpp
    /// does (exactly: an f16 times a 6-bit integer), so its values are llama.cpp's.
    pub fn nibble_blocks(&self) -> Option<Vec<Nibbles>> {
        let (_, block_bytes) = self.dtype.block();
        let blocks = self.bytes.chunks_exact(block_bytes);
        match self.dtype {
            DType::Q4_1 => Some(
                blocks
                    .map(|b| Nibbles {
                        d: f16(&b[0..2]),
                        m: f16(&b[2..4]),
                        qs: std::array::from_fn(|j| b[4 + j]),
                    })
                    .collect(),
            ),
            DType::Q4_K => Some(blocks.flat_map(q4_k_sub_blocks).collect()),
            _ => None,
        }
    }

    /// The 32-value blocks of a Q5_0, Q5_1 or Q5_K matrix, row after row; `None` for other
    /// formats. Q5_0's minimum is `−16·d` (exact), a Q5_K sub-block's scale `d·sc` and minimum
    /// `−dmin·m` (exact: an f16 times a 6-bit integer), so the values are llama.cpp's (but for
    /// the sign of Q5_0's zeros, as [`QWeight::nibble_blocks`] for Q4_0).
    pub fn five_bit_blocks(&self) -> Option<Vec<FiveBits>> {
        let (_, block_bytes) = self.dtype.block();
        let blocks = self.bytes.chunks_exact(block_bytes);
        let qh = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let block = |d: f32, m: f32, qh: u32, qs: &[u8]| FiveBits {
            d,
            m,
            qs: std::array::from_fn(|j| qs[j]),
            qh,
        };
        match self.dtype {
            DType::Q5_0 => Some(
                blocks
                    .map(|b| {
                        let d = f16(&b[0..2]);
                        block(d, -16.0 * d, qh(&b[2..6]), &b[6..22])
                    })
                    .collect(),
            ),
            DType::Q5_1 => Some(
                blocks
                    .map(|b| block(f16(&b[0..2]), f16(&b[2..4]), qh(&b[4..8]), &b[8..24]))
                    .collect(),
            ),
            DType::Q5_K => Some(blocks.flat_map(q5_k_sub_blocks).collect()),
            _ => None,
        }
    }

    /// The 32-value blocks of a Q6_K matrix as bytes, row after row; `None` for other formats.
    /// Scales are worked out in f32 as llama.cpp does (exactly: an f16 times an 8-bit integer);
    /// the minimum is −0, so `q·d + m` is `q·d` to the bit: the values are llama.cpp's.
    pub fn byte_blocks(&self) -> Option<Vec<ByteBlock>> {
        let (_, block_bytes) = self.dtype.block();
        match self.dtype {
            DType::Q6_K => Some(
                self.bytes
                    .chunks_exact(block_bytes)
                    .flat_map(q6_k_sub_blocks)
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Every value as f32 `(rows·cols)`, row-major: the same arithmetic as llama.cpp's and
    /// candle's dequantization, so bit for bit their values.
    pub fn dequantize(&self) -> Vec<f32> {
        if let Some(blocks) = self.five_bit_blocks() {
            let mut out = Vec::with_capacity(blocks.len() * 32);
            for b in blocks {
                out.extend((0..32).map(|j| five_bit(&b, j) as f32 * b.d + b.m));
            }
            return out;
        }
        if let Some(blocks) = self.byte_blocks() {
            let mut out = Vec::with_capacity(blocks.len() * 32);
            for b in blocks {
                out.extend((0..32).map(|j| b.qs[j] as f32 * b.d[j / 16]));
            }
            return out;
        }
        if let Some(blocks) = self.nibble_blocks() {
            let mut out = Vec::with_capacity(blocks.len() * 32);
            for b in blocks {
                let nibbles =
                    b.qs.iter()
                        .map(|v| v & 0x0F)
                        .chain(b.qs.iter().map(|v| v >> 4));
                out.extend(nibbles.map(|q| q as f32 * b.d + b.m));
            }
            return out;
        }
        let block_bytes = self.dtype.block().1;
        let mut out = Vec::with_capacity(self.shape.0 * self.shape.1);
        for b in self.bytes.chunks_exact(block_bytes) {
            match self.dtype {
                DType::F32 => out.push(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                DType::F16 => out.push(f16(b)),
                DType::Q8_0 => {
                    let d = f16(&b[0..2]);
                    out.extend(b[2..].iter().map(|&q| q as i8 as f32 * d));
                }
                DType::Q4_1 | DType::Q4_K => unreachable!("nibble blocks, above"),
                DType::Q5_0 | DType::Q5_1 | DType::Q5_K => unreachable!("5-bit blocks, above"),
                DType::Q6_K => unreachable!("byte blocks, above"),
            }
        }
        out
    }
}

/// A stored matrix read a piece at a time: whole rows, every piece but the last a multiple of
/// 8 rows, all of [`Pieces::dtype`] (the loader reads a large matrix so, so that its stored
/// copy is never held whole beside what a backend makes of it).
pub struct Pieces<'a> {
    pub dtype: DType,
    /// `(rows, cols)` of the whole matrix.
    pub shape: (usize, usize),
    next: Box<dyn FnMut() -> Result<Option<QWeight>> + 'a>,
}

impl<'a> Pieces<'a> {
    /// The pieces `next` gives, until it gives `None`.
    pub fn new(
        dtype: DType,
        shape: (usize, usize),
        next: impl FnMut() -> Result<Option<QWeight>> + 'a,
    ) -> Self {
        Self {
            dtype,
            shape,
            next: Box::new(next),
        }
    }

    /// A matrix in one piece.
    pub fn one(w: QWeight) -> Self {
        let (dtype, shape) = (w.dtype(), w.shape());
        let mut w = Some(w);
        Self::new(dtype, shape, move || Ok(w.take()))
    }

    /// The next piece, checked to be of the matrix's format and width; `None` after the last.
    pub fn next_piece(&mut self) -> Result<Option<QWeight>> {
        let piece = (self.next)()?;
        if let Some(w) = &piece {
            if w.dtype() != self.dtype || w.shape().1 != self.shape.1 {
                return Err(Error::Model(format!(
                    "a piece of a {:?} matrix {:?} is {:?} {:?}",
                    self.dtype,
                    self.shape,
                    w.dtype(),
                    w.shape()
                )));
            }
        }
        Ok(piece)
    }

    /// Every piece joined into one matrix.
    pub fn join(mut self) -> Result<QWeight> {
        let mut bytes = Vec::new();
        while let Some(w) = self.next_piece()? {
            if bytes.is_empty() {
                let per_row = w.bytes().len() / w.shape().0.max(1);
                bytes.reserve_exact(per_row * self.shape.0);
            }
            bytes.extend_from_slice(w.bytes());
        }
        QWeight::new(self.dtype, self.shape, bytes)
    }
}

/// A K-quant's sub-block `j` (of 8): its 6-bit scale and minimum from the 12 packed bytes: the
/// low 6 bits of bytes j and j + 4 for j < 4; else a low nibble of byte j + 4 with the top two
/// bits of byte j − 4 (scale) or j (min).
fn k_scale_min(packed: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (packed[j] & 63, packed[j + 4] & 63)
    } else {
        (
            (packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4),
            (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4),
        )
    }
}

/// One Q4_K block (144 bytes) as its eight 32-value sub-blocks.
fn q4_k_sub_blocks(b: &[u8]) -> [Nibbles; 8] {
    std::array::from_fn(|s| k_sub_block(b, &b[16..144], s))
}

/// Sub-block `s` (of 8) of a Q4_K or Q5_K block `b` whose low nibbles are `qs`: scale `d·sc`,
/// minimum `−dmin·m`, its nibbles as Q4_1 packs them (per 64 values, 32 bytes: sub-block
/// `2j` in the low nibbles, `2j + 1` in the high).
fn k_sub_block(b: &[u8], qs: &[u8], s: usize) -> Nibbles {
    let (d, dmin) = (f16(&b[0..2]), f16(&b[2..4]));
    let (sc, m) = k_scale_min(&b[4..16], s);
    let bytes = &qs[(s / 2) * 32..][..32];
    let value = |l: usize| {
        if s.is_multiple_of(2) {
            bytes[l] & 0x0F
        } else {
            bytes[l] >> 4
        }
    };
    Nibbles {
        d: d * sc as f32,
        m: -(dmin * m as f32),
        qs: std::array::from_fn(|j| value(j) | (value(j + 16) << 4)),
    }
}

/// Value `j` (0 … 31) of a 5-bit block.
pub fn five_bit(b: &FiveBits, j: usize) -> u8 {
    let low = if j < 16 {
        b.qs[j] & 0x0F
    } else {
        b.qs[j - 16] >> 4
    };
    low | ((((b.qh >> j) & 1) as u8) << 4)
}

/// One Q5_K block (176 bytes) as its eight 32-value sub-blocks: Q4_K's, with sub-block `s`'s
/// fifth bits in bit `s` of the 32 high-bit bytes.
fn q5_k_sub_blocks(b: &[u8]) -> [FiveBits; 8] {
    let qh = &b[16..48];
    std::array::from_fn(|s| {
        let Nibbles { d, m, qs } = k_sub_block(b, &b[48..176], s);
        FiveBits {
            d,
            m,
            qs,
            qh: (0..32).fold(0, |h, l| h | ((((qh[l] >> s) & 1) as u32) << l)),
        }
    })
}

/// One Q6_K block (210 bytes) as eight 32-value blocks, each of two 16-value sub-blocks.
fn q6_k_sub_blocks(b: &[u8]) -> [ByteBlock; 8] {
    let d = f16(&b[208..210]);
    let q = q6_k_values(b);
    std::array::from_fn(|k| ByteBlock {
        d: [0, 1].map(|h| d * b[192 + 2 * k + h] as i8 as f32),
        qs: std::array::from_fn(|j| q[32 * k + j]),
    })
}

/// A Q6_K block's 256 values less 32 (−32 … 31). Per half of 128 values (`n`), value
/// `n·128 + 32·p + l` (quarter `p`, l < 32) has its low nibble in byte `n·64 + 32·(p % 2) + l`
/// (the low nibble for p < 2, else the high) and its top two bits at bit `2p` of byte
/// `128 + n·32 + l`; sub-block `i` (values 16i … 16i + 15) has scale byte `192 + i`.
fn q6_k_values(b: &[u8]) -> [i8; 256] {
    std::array::from_fn(|e| {
        let (n, p, l) = (e / 128, (e % 128) / 32, e % 32);
        let lb = b[n * 64 + 32 * (p % 2) + l];
        let low = if p < 2 { lb & 0x0F } else { lb >> 4 };
        let high = (b[128 + n * 32 + l] >> (2 * p)) & 3;
        (low | (high << 4)) as i8 - 32
    })
}
