//! Weights onto the device: Q4_1 and Q8_0 blocks are split into their quantized values (kept
//! as stored, read by the kernels as u32 words) and their f16 scales (widened to f32), so
//! both arrays are aligned for the kernels; nothing is dequantized.

use candle_core::quantized::{GgmlDType, QTensor};

use super::{Gpu, GpuMatrix};
use crate::error::{Error, Result};

fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

impl Gpu {
    /// Repacks and uploads a stored matrix `(rows, cols)`; other formats than Q4_1 and Q8_0
    /// are an [`Error::Gpu`].
    pub(super) fn upload_matrix(&self, w: QTensor) -> Result<GpuMatrix> {
        let (rows, cols) = w.shape().dims2()?;
        let raw = w.data()?;
        let blocks = rows * cols / 32;
        let (block_bytes, dtype) = match w.dtype() {
            GgmlDType::Q4_1 => (20, GgmlDType::Q4_1),
            GgmlDType::Q8_0 => (34, GgmlDType::Q8_0),
            other => {
                return Err(Error::Gpu(format!(
                    "no GPU kernel for {other:?} weights (Q4_1 and Q8_0 only)"
                )))
            }
        };
        if cols % 32 != 0 || raw.len() != blocks * block_bytes {
            return Err(Error::Model(format!(
                "{dtype:?} matrix ({rows}, {cols}) has {} bytes",
                raw.len()
            )));
        }
        let mut qs = Vec::with_capacity(blocks * (block_bytes - 2));
        let mut scales = Vec::with_capacity(blocks * 2);
        for blk in raw.chunks_exact(block_bytes) {
            if dtype == GgmlDType::Q4_1 {
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
            GgmlDType::Q4_1 => GpuMatrix::Q4_1 {
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
