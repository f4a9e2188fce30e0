//! Weights onto the device: Q4_1 and Q8_0 blocks are split into their quantized values (kept
//! as stored, read by the kernels as u32 words) and their f16 scales (widened to f32), so
//! both arrays are aligned for the kernels; nothing is dequantized. Q4_K goes as Q4_1 blocks
//! ([`QWeight::nibble_blocks`]: its sub-blocks' scales are f32 already), Q5_0 as Q8_0.

use super::{Gpu, GpuMatrix};
use crate::backend::weight::{f16, DType, QWeight};
use crate::error::{Error, Result};

impl Gpu {
    /// Repacks and uploads a stored matrix `(rows, cols)`; other formats than Q4_1, Q4_K, Q8_0
    /// and Q5_0 (as Q8_0, value for value) are an [`Error::Gpu`].
    pub(super) fn upload_matrix(&self, w: QWeight) -> Result<GpuMatrix> {
        let w = w.q5_0_as_q8_0().unwrap_or(w);
        let (rows, cols) = w.shape();
        let dtype = w.dtype();
        let (mut qs, mut scales) = (Vec::new(), Vec::new());
        if let Some(blocks) = w.nibble_blocks() {
            for b in blocks {
                scales.extend([b.d, b.m]);
                qs.extend_from_slice(&b.qs);
            }
        } else if dtype == DType::Q8_0 {
            // QWeight::new checked that the bytes are exactly (rows, cols / 32) blocks.
            for blk in w.bytes().chunks_exact(dtype.block().1) {
                scales.push(f16(&blk[0..2]));
                qs.extend_from_slice(&blk[2..]);
            }
        } else {
            return Err(Error::Gpu(format!(
                "no GPU kernel for {dtype:?} weights (Q4_0, Q4_1, Q4_K, Q5_0 and Q8_0 only)"
            )));
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
            _ => GpuMatrix::Q8_0 {
                qs,
                scale: sc,
                rows,
                cols,
            },
        })
    }
}
