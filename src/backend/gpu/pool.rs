//! Device buffers: activations come from a pool keyed by size and return to it when their last
//! tensor is dropped (after the first token a step allocates no device memory); weights and
//! other tensors made once are uploaded outside the pool.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use wgpu::util::DeviceExt;

use super::{Gpu, GpuTensor};
use crate::error::Result;

/// Free activation buffers by byte size.
pub(super) type Pool = Rc<RefCell<HashMap<u64, Vec<wgpu::Buffer>>>>;

/// A device buffer; pooled activation buffers return to the pool when dropped.
pub(super) struct Buf {
    pub(super) buffer: wgpu::Buffer,
    pool: Option<Pool>,
}

impl Drop for Buf {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            let size = self.buffer.size();
            pool.borrow_mut()
                .entry(size)
                .or_default()
                .push(self.buffer.clone());
        }
    }
}

impl Gpu {
    /// A storage buffer holding `bytes`, outside the pool.
    pub(super) fn upload(&self, what: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
        self.check_size(what, bytes.len() as u64)?;
        Ok(self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(what),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            }))
    }

    /// A tensor `(rows, cols)` uploaded from `values` (at least 16 bytes), outside the pool.
    pub(super) fn upload_tensor(
        &self,
        values: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<GpuTensor> {
        let mut bytes = bytemuck::cast_slice(values).to_vec();
        bytes.resize(bytes.len().max(16), 0);
        Ok(GpuTensor {
            buf: Rc::new(Buf {
                buffer: self.upload("tensor", &bytes)?,
                pool: None,
            }),
            rows,
            cols,
        })
    }

    /// A pooled activation tensor `(rows, cols)`, contents undefined.
    pub(super) fn alloc(&self, rows: usize, cols: usize) -> Result<GpuTensor> {
        let size = ((rows * cols * 4) as u64).max(16);
        let reused = self.pool.borrow_mut().get_mut(&size).and_then(Vec::pop);
        let buffer = match reused {
            Some(b) => b,
            None => {
                self.check_size("an activation", size)?;
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_SRC
                        | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            }
        };
        Ok(GpuTensor {
            buf: Rc::new(Buf {
                buffer,
                pool: Some(self.pool.clone()),
            }),
            rows,
            cols,
        })
    }
}
