//! Weights onto the device: Q4_1 and Q8_0 blocks are split into their quantized values (kept
//! as stored, read by the kernels as u32 words) and their f16 scales (widened to f32), so
//! both arrays are aligned for the kernels; nothing is dequantized.

use super::{Gpu, GpuMatrix};
use crate::backend::weight::{f16, DType, QWeight};
use crate::error::{Error, Result};

impl Gpu {
    /// Repacks and uploads a stored matrix `(rows, cols)`; other formats than Q4_1 and Q8_0
    /// are an [`Error::Gpu`].
    pub(super) fn upload_matrix(&self, w: QWeight) -> Result<GpuMatrix> {
        let (rows, cols) = w.shape();
        let dtype = w.dtype();
        if !matches!(dtype, DType::Q4_1 | DType::Q8_0) {
            return Err(Error::Gpu(format!(
                "no GPU kernel for {dtype:?} weights (Q4_1 and Q8_0 only)"
            )));
        }
        // QWeight::new checked that the bytes are exactly (rows, cols / 32) blocks.
        let (_, block_bytes) = dtype.block();
        let blocks = rows * cols / 32;
        let mut qs = Vec::with_capacity(blocks * (block_bytes - 2));
        let mut scales = Vec::with_capacity(blocks * 2);
        for blk in w.bytes().chunks_exact(block_bytes) {
            if dtype == DType::Q4_1 {
                scales.extend([f16(&blk[0..2]), f16(&blk[2..4])]);
                qs.extend_from_slice(&blk[4..]);
            } else {
                scales.push(f16(&blk[0..2]));
                qs.extend_from_slice(&blk[2..]);
            }
        }
        let qs = self.upload("weights", &qs)?;
        let sc = self.upload("weight scales", bytemuck::cast_slice(&scales))?;
        Ok(match dtype {
            DType::Q4_1 => GpuMatrix::Q4_1 {
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
