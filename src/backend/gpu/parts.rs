//! Matrices larger than the adapter binds in one buffer (Gemma 3 270M's 262,144-row embedding:
//! 178 MB against lavapipe's and SwiftShader's 128 MiB), kept as consecutive row ranges, each a
//! matrix of its own: a product runs part by part, each part's outputs placed in their columns
//! (`place.wgsl`); a token's row is read from the part that holds it (`embed.wgsl`).

use super::words;
use super::{Gpu, GpuMatrix, GpuTensor};
use crate::backend::weight::QWeight;
use crate::error::{Error, Result};

impl Gpu {
    /// `w` in parts of whole rows that each fit one buffer, when it does not (each part's
    /// largest buffer is at most twice its stored bytes: f16 widened to f32); `None` when it
    /// fits.
    pub(super) fn split_upload(&self, w: &QWeight) -> Result<Option<GpuMatrix>> {
        let (rows, cols) = w.shape();
        let per_row = w.bytes().len() / rows.max(1);
        let lim = self.device.limits();
        let max = lim.max_buffer_size.min(lim.max_storage_buffer_binding_size);
        let max = self.matrix_cap.get().map_or(max, |cap| cap.min(max)) as usize;
        if rows * per_row * 2 <= max {
            return Ok(None);
        }
        let per_part = (max / (2 * per_row.max(1))) / 8 * 8;
        if per_part == 0 {
            return Err(Error::Gpu(format!(
                "a row of {cols} values does not fit one of this adapter's buffers"
            )));
        }
        let mut parts = Vec::new();
        for row0 in (0..rows).step_by(per_part) {
            let n = per_part.min(rows - row0);
            let bytes = w.bytes()[row0 * per_row..(row0 + n) * per_row].to_vec();
            parts.push(self.upload_matrix(QWeight::new(w.dtype(), (n, cols), bytes)?)?);
        }
        Ok(Some(GpuMatrix::Parts { parts, rows, cols }))
    }

    /// `x · wᵀ` over the parts of `w (rows, cols)`, each part's product placed in its columns.
    pub(super) fn qmatmul_parts(
        &self,
        x: &GpuTensor,
        parts: &[GpuMatrix],
        rows: usize,
    ) -> Result<GpuTensor> {
        let y = self.alloc(x.rows, rows)?;
        for (row0, part) in with_first_rows(parts) {
            let py = crate::backend::Backend::qmatmul(self, x, part)?;
            let n = x.rows * py.cols;
            let p = words(&[x.rows as u32, py.cols as u32, rows as u32, row0 as u32]);
            let b = [&py.buf.buffer, &y.buf.buffer];
            self.dispatch(&self.kernels.place, &p, &b, Self::grid(n));
        }
        Ok(y)
    }
}

/// A token table's parts with their first rows (one part at row 0 when it is not split).
pub(super) fn table_parts(table: &GpuMatrix) -> Vec<(usize, &GpuMatrix)> {
    match table {
        GpuMatrix::Parts { parts, .. } => with_first_rows(parts),
        _ => vec![(0, table)],
    }
}

fn with_first_rows(parts: &[GpuMatrix]) -> Vec<(usize, &GpuMatrix)> {
    let mut row0 = 0;
    parts
        .iter()
        .map(|m| {
            let first = row0;
            row0 += m.rows();
            (first, m)
        })
        .collect()
}

impl GpuMatrix {
    /// Its rows.
    pub fn rows(&self) -> usize {
        match self {
            GpuMatrix::Q4_1 { rows, .. }
            | GpuMatrix::Q8_0 { rows, .. }
            | GpuMatrix::Q5 { rows, .. }
            | GpuMatrix::Q8_16 { rows, .. }
            | GpuMatrix::F32 { rows, .. }
            | GpuMatrix::Parts { rows, .. } => *rows,
        }
    }
}
