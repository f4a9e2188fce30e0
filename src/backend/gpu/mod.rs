//! The WebGPU backend: our WGSL kernels (`shaders/*.wgsl`, one per [`Backend`] op) run through
//! wgpu — Vulkan natively (lavapipe on a machine without a GPU), WebGPU in the browser.
//!
//! Weights stay in their stored blocks on the device (Q4_1 and Q8_0, repacked only so the
//! scales sit apart from the quantized values: no dequantized copy). Ops are recorded into one
//! command encoder; a forward pass is submitted once, when its results are read. Reads are
//! split in two ([`Backend::read_start`] records a copy into a staging buffer,
//! [`Backend::read_finish`] waits for it) so one forward pass maps one set of staging buffers,
//! and so the browser can wait for the map without blocking ([`Gpu::flush`], [`Gpu::ready`]).
//!
//! Activation buffers come from a pool keyed by size and go back to it when their tensor is
//! dropped, so after the first token no device memory is allocated per token. Kernel
//! parameters go into a ring of 256-byte uniform slots bound with dynamic offsets.
//!
//! This file holds the types; the work is split by concern:
//!
//! - `device.rs`: adapter and device bring-up, faults the device reports outside any call,
//!   taking the device down (and counting the devices still open);
//! - `pool.rs`: device buffers, the activation pool, uploads;
//! - `recorder.rs`: the encoder and compute-pass state, the parameter ring, cached bind groups;
//! - `readback.rs`: staging copies, mapping them (the browser awaits it), reading them;
//! - `weights.rs`: stored weight blocks repacked for the kernels;
//! - `ops.rs`: the [`Backend`] ops, each a dispatch of its kernel;
//! - `fused.rs`: one token's block in four dispatches and its logits in one;
//! - `kernels.rs`: the compiled pipelines, each looked up by its name.

pub mod kernels;

mod device;
mod fused;
mod ops;
mod parts;
mod pool;
mod readback;
mod recorder;
mod weights;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[cfg(doc)]
use super::Backend;
use crate::error::Error;
pub use device::live_devices;
use kernels::Kernels;
use pool::{Buf, Pool};
use readback::Frames;
pub use readback::Pending;
use recorder::State;

/// Activations `(rows, cols)` f32 on the device.
#[derive(Clone)]
pub struct GpuTensor {
    buf: std::rc::Rc<Buf>,
    pub rows: usize,
    pub cols: usize,
}

impl GpuTensor {
    fn bytes(&self) -> u64 {
        (self.rows * self.cols * 4) as u64
    }
}

/// A weight matrix `(rows, cols)` in its stored quantization.
pub enum GpuMatrix {
    /// qs: (rows, cols/8) u32 nibbles as stored; dm: (rows, cols/32) (d, m) f32 pairs.
    Q4_1 {
        qs: wgpu::Buffer,
        dm: wgpu::Buffer,
        rows: usize,
        cols: usize,
    },
    /// qs: (rows, cols/4) u32 int8 values as stored; scale: (rows, cols/32) f32.
    Q8_0 {
        qs: wgpu::Buffer,
        scale: wgpu::Buffer,
        rows: usize,
        cols: usize,
    },
    /// 5-bit blocks (Q5_0, Q5_1, Q5_K): qs (rows, cols/32·5) u32, each block's 4 words of
    /// nibbles then its word of fifth bits; dm: (rows, cols/32) (d, m) f32 pairs.
    Q5 {
        qs: wgpu::Buffer,
        dm: wgpu::Buffer,
        rows: usize,
        cols: usize,
    },
    /// A matrix larger than the adapter binds in one buffer, as consecutive row ranges each
    /// its own matrix (see `parts.rs`).
    Parts {
        parts: Vec<GpuMatrix>,
        rows: usize,
        cols: usize,
    },
    /// f32 values (a file's f32 and f16 matrices): w (rows, cols).
    F32 {
        w: wgpu::Buffer,
        rows: usize,
        cols: usize,
    },
    /// Signed bytes with a scale and minimum per 16 values (Q6_K): qs (rows, cols/4) u32;
    /// sc (rows, cols/32) (d₀, d₁, m₀, m₁) f32.
    Q8_16 {
        qs: wgpu::Buffer,
        sc: wgpu::Buffer,
        rows: usize,
        cols: usize,
    },
}

/// One block's key/value cache: k, v `(capacity, n_kv_head*head_dim)` f32, rows `0..len` filled.
pub struct GpuCache {
    k: Option<wgpu::Buffer>,
    v: Option<wgpu::Buffer>,
    capacity: usize,
    len: usize,
}

/// What went wrong on the device outside any call: an uncaptured error or a lost device.
type Fault = Arc<Mutex<Option<String>>>;

/// Our WGSL kernels on one wgpu device.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// The adapter, in words ("llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)").
    pub adapter: String,
    kernels: Kernels,
    params: wgpu::Buffer, // (SLOTS, SLOT) bytes, uniform ring (also holds token ids)
    cs: wgpu::Buffer,     // (context, head_dim/2) (cos, sin) f32 pairs
    /// The same for a sliding-window layer's rope base, when the model has such layers.
    cs_local: Option<wgpu::Buffer>,
    pool: Pool,
    /// The last activations quantized for a product: (source, as Q8_0?, xq, xs). q, k and v
    /// (and gate and up) multiply the same input, which is quantized once for them.
    quantized: RefCell<Option<(GpuTensor, bool, GpuTensor, GpuTensor)>>,
    state: RefCell<State>,
    /// Bind groups by (kernel, buffers): a decode step binds the same pooled buffers to the
    /// same kernels as the step before, so after the first token none is made.
    bind_groups: RefCell<HashMap<(usize, Vec<wgpu::Buffer>), wgpu::BindGroup>>,
    /// Each block's wq, wk and wv stacked (qs, scales), by wq's buffer (see `fused.rs`).
    stacked: RefCell<HashMap<wgpu::Buffer, (wgpu::Buffer, wgpu::Buffer)>>,
    fault: Fault,
    /// Staging buffers of the passes in flight, a frame each.
    frames: RefCell<Frames>,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    /// Attention scores are `q·k` times this ([`crate::Config::attn_scale`]).
    attn_scale: f32,
    context: usize,
    /// Rope pairs each dimension with the one half a head on (NEOX, qwen2).
    neox: bool,
    /// Whether the adapter is a CPU emulating a GPU (lavapipe, SwiftShader).
    pub emulated: bool,
    /// Whether the fused single-token kernels split each row's blocks over 32 lanes (a real
    /// GPU) or take a row per invocation (a CPU emulating one); see [`Gpu::set_row_lanes`].
    row_lanes: std::cell::Cell<bool>,
    /// Set once [`Gpu::destroy`] has run.
    destroyed: std::cell::Cell<bool>,
    /// A smaller largest buffer than the adapter's for the matrices uploaded after it is set
    /// ([`Gpu::cap_matrix_buffers`]).
    matrix_cap: std::cell::Cell<Option<u64>>,
}

impl Gpu {
    /// Chooses how the fused single-token kernels take their rows (the default suits the
    /// adapter; tests run both).
    pub fn set_row_lanes(&self, on: bool) {
        self.row_lanes.set(on);
    }

    /// Splits matrices uploaded from now on as if no buffer could hold more than `bytes`
    /// (tests exercise split matrices on small ones with it).
    pub fn cap_matrix_buffers(&self, bytes: u64) {
        self.matrix_cap.set(Some(bytes));
    }

    /// Says whether the adapter is a CPU emulating a GPU, where wgpu cannot tell (in the
    /// browser it reports no adapter type; the page reads WebGPU's `isFallbackAdapter`).
    pub fn set_emulated(&mut self, on: bool) {
        self.emulated = on;
        self.row_lanes.set(!on);
    }
}

fn gpu_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Gpu(format!("{what}: {}", crate::error::first_line(&e)))
}

/// Bytes of a parameter struct made of 32-bit words.
fn words(w: &[u32]) -> Vec<u8> {
    bytemuck::cast_slice(w).to_vec()
}

impl Gpu {
    /// argmax.wgsl over one row `x`: the index of its largest value, or at a temperature > 0
    /// of a draw by `g` (see [`crate::sampler::Gumbel`]), after the repeat penalty over
    /// `recent` where `g` has one. The result reads as one value (the id); with a penalty its
    /// buffer also holds the recent tokens with the id added, for the next draw.
    fn choose(
        &self,
        x: &GpuTensor,
        recent: Option<&GpuTensor>,
        g: crate::sampler::Gumbel,
    ) -> crate::error::Result<GpuTensor> {
        let slots = if g.penalty == 1.0 {
            0
        } else {
            g.last_n as usize
        };
        let y = self.alloc(1, 1 + slots)?;
        let n = (x.rows * x.cols) as u32;
        let (lo, hi) = (g.seed as u32, (g.seed >> 32) as u32);
        let p = words(&[
            n,
            g.temperature.to_bits(),
            lo,
            hi,
            g.counter,
            g.top_p.to_bits(),
            g.penalty.to_bits(),
            g.last_n,
        ]);
        let recent = recent.map_or(&x.buf.buffer, |r| &r.buf.buffer);
        self.dispatch(
            &self.kernels.argmax,
            &p,
            &[&x.buf.buffer, recent, &y.buf.buffer],
            (1, 1),
        );
        Ok(GpuTensor {
            buf: y.buf.clone(),
            rows: 1,
            cols: 1,
        })
    }
}
