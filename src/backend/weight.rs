//! A weight matrix as the model file stores it ([`QWeight`]): what [`super::Backend::matrix`]
//! takes, so the backends depend on no file reader. The loader ([`crate::gguf`]) makes them.

use crate::error::{Error, Result};

/// The stored formats the backends take (named as llama.cpp names them). Q4_1, Q4_K and Q8_0
/// are read directly by our kernels (Q4_K as Q4_1 blocks: [`QWeight::nibble_blocks`]); f32 and
/// f16 are dequantized (the loader turns any other format into f32).
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
}

/// A block of 32 four-bit values as the Q4_1 kernels read it: a value is `q·d + m`; value `j`
/// in the low nibble of `qs[j]`, value `j + 16` in its high nibble.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nibbles {
    pub d: f32,
    pub m: f32,
    pub qs: [u8; 16],
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

    /// Every value as f32 `(rows·cols)`, row-major: the same arithmetic as llama.cpp's and
    /// candle's dequantization, so bit for bit their values.
    pub fn dequantize(&self) -> Vec<f32> {
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
            }
        }
        out
    }
}

/// One Q4_K block (144 bytes) as its eight 32-value sub-blocks.
fn q4_k_sub_blocks(b: &[u8]) -> [Nibbles; 8] {
    let (d, dmin, packed, qs) = (f16(&b[0..2]), f16(&b[2..4]), &b[4..16], &b[16..144]);
    // Sub-block j's 6-bit scale and minimum: the low 6 bits of bytes j and j + 4 for j < 4;
    // else a low nibble of byte j + 4 with the top two bits of byte j − 4 (scale) or j (min).
    let scale_min = |j: usize| -> (u8, u8) {
        if j < 4 {
            (packed[j] & 63, packed[j + 4] & 63)
        } else {
            (
                (packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4),
                (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4),
            )
        }
    };
    std::array::from_fn(|s| {
        let (sc, m) = scale_min(s);
        let bytes = &qs[(s / 2) * 32..][..32];
        let value = |l: usize| {
            if s % 2 == 0 {
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
    })
}
