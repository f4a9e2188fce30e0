//! A second thread for the browser's CPU path. wasm threads proper need a standard library
//! built with atomics (a nightly toolchain), so the page runs a second wasm instance in a
//! co-worker (its own Web Worker with the same model) and hands it half of each large
//! single-row product through a SharedArrayBuffer (www/src/engine/co-worker.ts). Matrices are named
//! by their load order, which is the same in both instances. Both halves run the same kernel,
//! so the result is bit-identical to one thread's; a co-worker that fails or times out is
//! dropped and its half computed here.

use std::sync::Arc;

use super::quant::{QMatrix, Q8};

/// Weights (rows × cols) from which a single-row product is worth sharing.
pub const SHARE_MIN: usize = 256 * 576;

/// The page's handle on the co-worker.
pub trait CoWorker {
    /// Starts rows `row0 .. row0 + n` of matrix `id` times `x` on the co-worker; `false` if
    /// it cannot.
    fn begin(&self, id: usize, x: &[f32], row0: usize, n: usize) -> bool;
    /// Waits for those rows and writes them into `out`; `false` if the co-worker failed.
    fn finish(&self, out: &mut [f32]) -> bool;
}

/// The matrices by id, and the co-worker when there is one (browser only).
#[derive(Default)]
pub struct Shared {
    matrices: std::sync::Mutex<Vec<Arc<QMatrix>>>,
    #[cfg(target_arch = "wasm32")]
    co: std::cell::RefCell<Option<Box<dyn CoWorker>>>,
}

impl Shared {
    /// Numbers a matrix in load order.
    pub fn register(&self, q: &Arc<QMatrix>) -> usize {
        let mut all = self.matrices.lock().unwrap_or_else(|e| e.into_inner());
        all.push(q.clone());
        all.len() - 1
    }

    /// Sets (or, with `None`, drops) the co-worker.
    #[cfg(target_arch = "wasm32")]
    pub fn set(&self, co: Option<Box<dyn CoWorker>>) {
        *self.co.borrow_mut() = co;
    }

    /// `xq · qᵀ` (`x` is `xq` before quantization), with the co-worker's help where it pays.
    pub fn product(&self, q: &QMatrix, id: usize, x: &[f32], xq: &[Q8]) -> Vec<f32> {
        #[cfg(target_arch = "wasm32")]
        if xq.len() == 1 && q.rows * q.cols >= SHARE_MIN {
            let half = (q.rows / 2).div_ceil(8) * 8;
            let mut out = vec![0.0f32; q.rows];
            let shared = match self.co.borrow().as_ref() {
                Some(co) if co.begin(id, x, half, q.rows - half) => {
                    q.rows_into(xq, 0, &mut out[..half]);
                    Some(co.finish(&mut out[half..]))
                }
                _ => None,
            };
            match shared {
                Some(true) => return out,
                Some(false) => {
                    self.set(None); // failed once: on our own from now on
                    q.rows_into(xq, half, &mut out[half..]);
                    return out;
                }
                None => {}
            }
        }
        let _ = (id, x);
        q.matmul_q8(xq)
    }

    /// The co-worker's side: rows `row0 .. row0 + out.len()` of matrix `id` times `x`.
    pub fn rows(&self, id: usize, x: &[f32], row0: usize, out: &mut [f32]) -> Option<()> {
        let q = self.matrices.lock().ok()?.get(id)?.clone();
        if x.len() != q.cols || row0 + out.len() > q.rows {
            return None;
        }
        q.rows_into(&[Q8::new(x)], row0, out);
        Some(())
    }
}
