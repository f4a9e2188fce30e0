//! A weight matrix as the model file stores it ([`QWeight`]): what [`super::Backend::matrix`]
//! takes, so the backends depend on no file reader. The loader ([`crate::gguf`]) makes them.

use crate::error::{Error, Result};

/// The stored formats the backends take. Q4_1 and Q8_0 are read directly by our kernels;
/// f32 and f16 are dequantized (the loader turns any other format into f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    /// 32 values: f16 scale `d`, f16 minimum `m`, 16 bytes of nibbles (value `j` in the low
    /// nibble of byte `j`, value `j + 16` in its high nibble); a value is `q·d + m`.
    Q4_1,
    /// 32 values: f16 scale `d`, 32 signed bytes; a value is `q·d`.
    Q8_0,
}

impl DType {
    /// Values per block and bytes per block.
    pub fn block(self) -> (usize, usize) {
        match self {
            DType::F32 => (1, 4),
            DType::F16 => (1, 2),
            DType::Q4_1 => (32, 20),
            DType::Q8_0 => (32, 34),
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

    /// Every value as f32 `(rows·cols)`, row-major: the same arithmetic as llama.cpp's and
    /// candle's dequantization, so bit for bit their values.
    pub fn dequantize(&self) -> Vec<f32> {
        let block_bytes = self.dtype.block().1;
        let mut out = Vec::with_capacity(self.shape.0 * self.shape.1);
        for b in self.bytes.chunks_exact(block_bytes) {
            match self.dtype {
                DType::F32 => out.push(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                DType::F16 => out.push(f16(b)),
                DType::Q4_1 => {
                    let (d, m, qs) = (f16(&b[0..2]), f16(&b[2..4]), &b[4..]);
                    let nibbles = qs.iter().map(|v| v & 0x0F).chain(qs.iter().map(|v| v >> 4));
                    out.extend(nibbles.map(|q| q as f32 * d + m));
                }
                DType::Q8_0 => {
                    let d = f16(&b[0..2]);
                    out.extend(b[2..].iter().map(|&q| q as i8 as f32 * d));
                }
            }
        }
        out
    }
}
