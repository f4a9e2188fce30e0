//! Weights onto the device: Q4_1 and Q8_0 blocks are split into their quantized values (kept
//! as stored, read by the kernels as u32 words) and their f16 scales (widened to f32), so
//! both arrays are aligned for the kernels; nothing is dequantized. Q4_K goes as Q4_1 blocks
//! ([`QWeight::nibble_blocks`]: its sub-blocks' scales are f32 already); Q5_0, Q5_1 and Q5_K
//! as 5-bit blocks and Q6_K as bytes with two scales a block, as the CPU's kernels read them.

use super::{Gpu, GpuMatrix};
use crate::backend::weight::{f16, DType, QWeight};
use crate::error::{Error, Result};

impl Gpu {
    /// Repacks and uploads a stored matrix `(rows, cols)`: Q4_1 and Q4_K as Q4_1 blocks, Q8_0,
    /// Q5_0/Q5_1/Q5_K as 5-bit blocks, Q6_K as bytes with scales per 16 values, f32 and f16
    /// as f32.
    pub(super) fn upload_matrix(&self, w: QWeight) -> Result<GpuMatrix> {
        if let Some(parts) = self.split_upload(&w)? {
            return Ok(parts);
        }
        let (rows, cols) = w.shape();
        let dtype = w.dtype();
        if matches!(dtype, DType::F32 | DType::F16) {
            let values = w.dequantize();
            let w = self.upload("weights", bytemuck::cast_slice(&values))?;
            return Ok(GpuMatrix::F32 { w, rows, cols });
        }
        let (mut qs, mut scales) = (Vec::new(), Vec::new());
        if let Some(blocks) = w.nibble_blocks() {
            for b in blocks {
                scales.extend([b.d, b.m]);
                qs.extend_from_slice(&b.qs);
            }
        } else if let Some(blocks) = w.five_bit_blocks() {
            for b in blocks {
                scales.extend([b.d, b.m]);
                qs.extend_from_slice(&b.qs);
                qs.extend_from_slice(&b.qh.to_le_bytes());
            }
        } else if let Some(blocks) = w.byte_blocks() {
            for b in blocks {
                scales.extend(b.d);
                qs.extend(b.qs.iter().map(|&v| v as u8));
            }
        } else if dtype == DType::Q8_0 {
            // QWeight::new checked that the bytes are exactly (rows, cols / 32) blocks.
            for blk in w.bytes().chunks_exact(dtype.block().1) {
                scales.push(f16(&blk[0..2]));
                qs.extend_from_slice(&blk[2..]);
            }
        } else {
            return Err(Error::Gpu(format!("no GPU kernel for {dtype:?} weights")));
        }
        let qs = self.upload("weights", &qs)?;
        let sc = self.upload("weight scales", bytemuck::cast_slice(&scales))?;
        Ok(match dtype {
            DType::Q4_1 | DType::Q4_K => GpuMatrix::Q4_1 {
                qs,
                dm: sc,
                rows,
                cols,
            },
            DType::Q5_0 | DType::Q5_1 | DType::Q5_K => GpuMatrix::Q5 {
                qs,
                dm: sc,
                rows,
                cols,
            },
            DType::Q6_K => GpuMatrix::Q8_16 { qs, sc, rows, cols },
            _ => GpuMatrix::Q8_0 {
                qs,
                scale: sc,
                rows,
                cols,
            },
        })
    }
}
