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

pub mod kernels;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use candle_core::quantized::{GgmlDType, QTensor};
use wgpu::util::DeviceExt;

use super::{rope_tables, Backend};
use crate::error::{Error, Result};
use crate::gguf::Config;
use kernels::{Kernel, Kernels};

/// Bytes of one kernel-parameter slot (WebGPU's largest uniform offset alignment).
const SLOT: u64 = 256;
/// Slots in the parameter ring; a recording that needs more is submitted in parts.
const SLOTS: u64 = 2048;
/// Positions a key/value cache grows by.
const CACHE_CHUNK: usize = 512;
/// Bind groups kept for reuse; past this many the cache starts over.
const BIND_GROUPS: usize = 4096;
/// Smallest staging buffer for reads.
const STAGING_CHUNK: u64 = 1 << 20;
/// The attention kernel is written for this head width.
const HEAD_DIM: usize = 64;

type Pool = Rc<RefCell<HashMap<u64, Vec<wgpu::Buffer>>>>;

/// A device buffer; pooled activation buffers return to the pool when dropped.
struct Buf {
    buffer: wgpu::Buffer,
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

/// Activations `(rows, cols)` f32 on the device.
#[derive(Clone)]
pub struct GpuTensor {
    buf: Rc<Buf>,
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
}

/// One block's key/value cache: k, v `(capacity, n_kv_head*head_dim)` f32, rows `0..len` filled.
pub struct GpuCache {
    k: Option<wgpu::Buffer>,
    v: Option<wgpu::Buffer>,
    capacity: usize,
    len: usize,
}

/// A read recorded by [`Backend::read_start`]: `len` floats at `offset` of staging buffer `chunk`.
pub struct Pending {
    epoch: u64,
    chunk: usize,
    offset: u64,
    len: usize,
}

/// Where the reads of the current forward pass stand.
#[derive(PartialEq)]
enum Phase {
    /// Ops and copies are being recorded.
    Recording,
    /// Submitted; the staging buffers are being mapped.
    Mapping,
    /// The staging buffers are mapped and can be read.
    Mapped,
}

struct State {
    /// The open compute pass: dispatches share it until a copy needs the encoder.
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: Option<wgpu::CommandEncoder>,
    /// Parameter bytes of the slots used since the last submit.
    params: Vec<u8>,
    /// Staging buffers (MAP_READ) with the bytes used in each.
    staging: Vec<(wgpu::Buffer, u64)>,
    phase: Phase,
    /// Counts forward passes, so a read from an old pass is refused.
    epoch: u64,
}

/// Staging maps under way: how many finished, the first failure, who waits for them.
#[derive(Default)]
struct Maps {
    want: usize,
    done: usize,
    failed: Option<String>,
    waker: Option<std::task::Waker>,
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
    cos: wgpu::Buffer,    // (context, head_dim/2) f32
    sin: wgpu::Buffer,    // (context, head_dim/2) f32
    pool: Pool,
    /// The last activations quantized for a product: (source, as Q8_0?, xq, xs). q, k and v
    /// (and gate and up) multiply the same input, which is quantized once for them.
    quantized: RefCell<Option<(GpuTensor, bool, GpuTensor, GpuTensor)>>,
    state: RefCell<State>,
    /// Bind groups by (kernel, buffers): a decode step binds the same pooled buffers to the
    /// same kernels as the step before, so after the first token none is made.
    bind_groups: RefCell<HashMap<(usize, Vec<wgpu::Buffer>), wgpu::BindGroup>>,
    fault: Fault,
    /// The maps of the current flush, shared with their callbacks.
    maps: Arc<Mutex<Maps>>,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    context: usize,
}

fn gpu_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Gpu(format!("{what}: {}", crate::error::first_line(&e)))
}

impl Gpu {
    /// Finds an adapter, opens a device and compiles every kernel (natively, blocking).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(cfg: &Config) -> Result<Self> {
        pollster::block_on(Self::create(cfg))
    }

    /// Finds an adapter, opens a device and compiles every kernel. Any failure (no adapter,
    /// limits too small, a shader the adapter rejects) is an [`Error::Gpu`]; callers fall back
    /// to the CPU.
    pub async fn create(cfg: &Config) -> Result<Self> {
        if cfg.head_dim != HEAD_DIM {
            return Err(Error::Gpu(format!(
                "the attention kernel needs head_dim {HEAD_DIM}, the model has {}",
                cfg.head_dim
            )));
        }
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::VULKAN | wgpu::Backends::BROWSER_WEBGPU;
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| gpu_err("no WebGPU adapter", e))?;
        let info = adapter.get_info();
        let adapter_name = format!("{} ({:?})", info.name, info.backend);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("limbic"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| gpu_err("cannot open the device", e))?;
        let fault: Fault = Arc::default();
        let f = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e| {
            f.lock()
                .map(|mut g| *g = Some(crate::error::first_line(&e)))
                .ok();
        }));
        let f = fault.clone();
        device.set_device_lost_callback(move |reason, msg| {
            f.lock()
                .map(|mut g| *g = Some(format!("device lost ({reason:?}): {msg}")))
                .ok();
        });
        let kernels = Kernels::new(&device).await?;
        let (cos, sin) = rope_tables(cfg);
        let upload = |label, data: &[f32]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let gpu = Self {
            cos: upload("rope cos", &cos),
            sin: upload("rope sin", &sin),
            params: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: SLOTS * SLOT,
                usage: wgpu::BufferUsages::UNIFORM
                    | wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            adapter: adapter_name,
            kernels,
            pool: Pool::default(),
            quantized: RefCell::default(),
            bind_groups: RefCell::default(),
            state: RefCell::new(State {
                pass: None,
                encoder: None,
                params: Vec::new(),
                staging: Vec::new(),
                phase: Phase::Recording,
                epoch: 0,
            }),
            fault,
            maps: Arc::default(),
            n_head: cfg.n_head,
            n_kv_head: cfg.n_kv_head,
            head_dim: cfg.head_dim,
            context: cfg.context,
            device,
            queue,
        };
        gpu.check()?;
        Ok(gpu)
    }

    /// Destroys the device, as a lost one would be (tests and the page use it to show the
    /// fallback); every later call fails with [`Error::Gpu`].
    pub fn destroy(&self) {
        self.device.destroy();
    }

    /// An error recorded by the device since the last call, if any.
    fn check(&self) -> Result<()> {
        let fault = self.fault.lock().ok().and_then(|g| g.clone());
        match fault {
            Some(msg) => Err(Error::Gpu(msg)),
            None => Ok(()),
        }
    }

    /// Refuses a buffer the device cannot hold or bind (checked before every buffer is made).
    pub fn check_size(&self, what: &str, bytes: u64) -> Result<()> {
        let lim = self.device.limits();
        let max = lim.max_buffer_size.min(lim.max_storage_buffer_binding_size);
        if bytes > max {
            return Err(Error::Gpu(format!(
                "{what} needs a {bytes}-byte buffer; this adapter binds at most {max}"
            )));
        }
        Ok(())
    }

    fn upload(&self, what: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
        self.check_size(what, bytes.len() as u64)?;
        Ok(self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(what),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            }))
    }

    /// A pooled activation tensor `(rows, cols)`, contents undefined.
    fn alloc(&self, rows: usize, cols: usize) -> Result<GpuTensor> {
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

    /// The encoder, for a copy: ends the open compute pass; after mapped reads, unmaps them
    /// and starts a new recording.
    fn recording<'a>(&self, st: &'a mut State) -> &'a mut wgpu::CommandEncoder {
        st.pass = None;
        if st.phase != Phase::Recording {
            for (b, used) in &mut st.staging {
                if *used > 0 && st.phase == Phase::Mapped {
                    b.unmap();
                }
                *used = 0;
            }
            st.phase = Phase::Recording;
            st.epoch += 1;
        }
        st.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        })
    }

    /// The open compute pass, begun if needed.
    fn pass<'a>(&self, st: &'a mut State) -> &'a mut wgpu::ComputePass<'static> {
        let pass = match st.pass.take() {
            Some(pass) => pass,
            None => self
                .recording(st)
                .begin_compute_pass(&wgpu::ComputePassDescriptor::default())
                .forget_lifetime(),
        };
        st.pass.insert(pass)
    }

    /// Submits what was recorded, with its parameter slots.
    fn submit(&self, st: &mut State) {
        st.pass = None;
        if let Some(enc) = st.encoder.take() {
            if !st.params.is_empty() {
                self.queue.write_buffer(&self.params, 0, &st.params);
                st.params.clear();
            }
            self.queue.submit([enc.finish()]);
        }
    }

    /// Reserves `n` consecutive parameter slots holding `bytes`; returns the first slot's
    /// byte offset. Submits first when the ring is full.
    fn slots(&self, st: &mut State, bytes: &[u8]) -> u64 {
        let n = (bytes.len() as u64).div_ceil(SLOT).max(1);
        if st.params.len() as u64 / SLOT + n > SLOTS {
            self.submit(st);
        }
        let at = st.params.len() as u64;
        st.params.extend_from_slice(bytes);
        st.params.resize((at + n * SLOT) as usize, 0);
        at
    }

    /// Records one dispatch of `k` with `params`, binding `bufs` in order after the params.
    fn dispatch(&self, k: &Kernel, params: &[u8], bufs: &[&wgpu::Buffer], groups: (u32, u32)) {
        let mut st = self.state.borrow_mut();
        let at = self.slots(&mut st, params);
        let key = (
            k as *const Kernel as usize,
            bufs.iter().map(|&b| b.clone()).collect(),
        );
        let mut cache = self.bind_groups.borrow_mut();
        if cache.len() >= BIND_GROUPS {
            cache.clear();
        }
        let bind = cache.entry(key).or_insert_with(|| {
            let mut entries = vec![self.params_entry()];
            entries.extend(bufs.iter().enumerate().map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            }));
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &k.layout,
                entries: &entries,
            })
        });
        self.record_dispatch(&mut st, k, bind, at, groups);
    }

    /// Binding 0 of every kernel: one parameter slot, placed by the dynamic offset.
    fn params_entry(&self) -> wgpu::BindGroupEntry<'_> {
        wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.params,
                offset: 0,
                size: wgpu::BufferSize::new(SLOT),
            }),
        }
    }

    /// Records `k` over `groups` in the open compute pass, its parameters at byte `at`.
    fn record_dispatch(
        &self,
        st: &mut State,
        k: &Kernel,
        bind: &wgpu::BindGroup,
        at: u64,
        groups: (u32, u32),
    ) {
        let pass = self.pass(st);
        pass.set_pipeline(&k.pipeline);
        pass.set_bind_group(0, bind, &[at as u32]);
        pass.dispatch_workgroups(groups.0, groups.1, 1);
    }

    /// An elementwise dispatch over `n` values in workgroups of 64, as a 2-D grid.
    fn grid(n: usize) -> (u32, u32) {
        let groups = n.div_ceil(64).max(1) as u32;
        let x = groups.min(65535);
        (x, groups.div_ceil(x))
    }

    /// Submits the recorded pass and starts mapping its staging buffers; in the browser,
    /// [`Gpu::ready`] then tells when [`Backend::read_finish`] can run without waiting.
    pub fn flush(&self) -> Result<()> {
        let mut st = self.state.borrow_mut();
        if st.phase != Phase::Recording {
            return Ok(());
        }
        self.submit(&mut st);
        let used: Vec<_> = st.staging.iter().filter(|(_, u)| *u > 0).collect();
        *self
            .maps
            .lock()
            .map_err(|_| Error::Gpu("map state poisoned".into()))? = Maps {
            want: used.len(),
            ..Maps::default()
        };
        for (b, u) in &used {
            let maps = self.maps.clone();
            b.map_async(wgpu::MapMode::Read, 0..*u, move |r| {
                if let Ok(mut m) = maps.lock() {
                    m.done += 1;
                    if let Err(e) = r {
                        m.failed = Some(e.to_string());
                    }
                    if let Some(w) = m.waker.take() {
                        w.wake();
                    }
                }
            });
        }
        st.phase = Phase::Mapping;
        self.check()
    }

    /// Whether the reads of the last [`Gpu::flush`] are mapped (errors once a map failed).
    pub fn ready(&self) -> Result<bool> {
        self.check()?;
        let mut st = self.state.borrow_mut();
        if st.phase != Phase::Mapping {
            return Ok(st.phase == Phase::Mapped);
        }
        let m = self
            .maps
            .lock()
            .map_err(|_| Error::Gpu("map state poisoned".into()))?;
        if let Some(e) = &m.failed {
            return Err(Error::Gpu(format!("reading results back failed: {e}")));
        }
        if m.done == m.want {
            st.phase = Phase::Mapped;
        }
        Ok(m.done == m.want)
    }

    /// Resolves once the maps of the last [`Gpu::flush`] finished (or one failed): what the
    /// browser awaits between recording a pass and reading it.
    pub fn when_ready(&self) -> impl std::future::Future<Output = ()> + 'static {
        let maps = self.maps.clone();
        std::future::poll_fn(move |cx| match maps.lock() {
            Ok(mut m) if m.done < m.want && m.failed.is_none() => {
                m.waker = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
            _ => std::task::Poll::Ready(()),
        })
    }

    /// Waits until [`Gpu::ready`] (natively: drives the device; in the browser, waiting is the
    /// page's job, so a read before the map finished is an error).
    fn wait(&self) -> Result<()> {
        self.flush()?;
        #[cfg(not(target_arch = "wasm32"))]
        while !self.ready()? {
            self.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| gpu_err("waiting for the device", e))?;
        }
        if !self.ready()? {
            return Err(Error::Gpu("results read before the device finished".into()));
        }
        Ok(())
    }
}

impl Gpu {
    /// `x (T, cols)` rounded to 8 bits per 32-value block as the CPU backend does before a
    /// product: `(xq (T, cols/4) u32, xs (T, cols/32) (d, s))`; reused while `x` is the input.
    fn quantize(&self, x: &GpuTensor, q8_0: bool) -> Result<(GpuTensor, GpuTensor)> {
        if let Some((src, kind, xq, xs)) = &*self.quantized.borrow() {
            if Rc::ptr_eq(&src.buf, &x.buf) && *kind == q8_0 {
                return Ok((xq.clone(), xs.clone()));
            }
        }
        let blocks = x.rows * x.cols / 32;
        let xq = self.alloc(blocks, 8)?;
        let xs = self.alloc(blocks, 2)?;
        let p = words(&[blocks as u32, q8_0 as u32]);
        let b = [&x.buf.buffer, &xq.buf.buffer, &xs.buf.buffer];
        self.dispatch(&self.kernels.quantize, &p, &b, Self::grid(blocks));
        *self.quantized.borrow_mut() = Some((x.clone(), q8_0, xq.clone(), xs.clone()));
        Ok((xq, xs))
    }
}

/// Bytes of a parameter struct made of 32-bit words.
fn words(w: &[u32]) -> Vec<u8> {
    bytemuck::cast_slice(w).to_vec()
}

fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

impl Backend for Gpu {
    type Tensor = GpuTensor;
    type Matrix = GpuMatrix;
    type Cache = GpuCache;
    type Pending = Pending;

    fn name(&self) -> &'static str {
        "webgpu"
    }

    fn matrix(&self, w: QTensor) -> Result<GpuMatrix> {
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

    fn tensor(&self, values: &[f32], rows: usize, cols: usize) -> Result<GpuTensor> {
        if values.len() != rows * cols {
            return Err(Error::Tensor(format!(
                "{} values for a ({rows}, {cols}) tensor",
                values.len()
            )));
        }
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

    fn cache(&self) -> Result<GpuCache> {
        Ok(GpuCache {
            k: None,
            v: None,
            capacity: 0,
            len: 0,
        })
    }

    fn cache_len(&self, cache: &GpuCache) -> usize {
        cache.len
    }

    fn embed(&self, table: &GpuMatrix, ids: &[u32]) -> Result<GpuTensor> {
        let GpuMatrix::Q8_0 {
            qs,
            scale,
            rows,
            cols,
        } = table
        else {
            return Err(Error::Gpu("the token table must be Q8_0 on the GPU".into()));
        };
        if let Some(bad) = ids.iter().find(|&&i| i as usize >= *rows) {
            return Err(Error::Prompt(format!(
                "token id {bad} is outside the table"
            )));
        }
        let (t, d) = (ids.len(), *cols);
        let x = self.alloc(t, d)?;
        // The ids ride in the parameter ring, in the slots after the kernel's own.
        let mut p = words(&[d as u32]);
        p.resize(SLOT as usize, 0);
        p.extend_from_slice(bytemuck::cast_slice(ids));
        let mut st = self.state.borrow_mut();
        let at = self.slots(&mut st, &p);
        let ids_size = (SLOT * ((t * 4) as u64).div_ceil(SLOT)).max(SLOT);
        let k = &self.kernels.embed;
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &k.layout,
            entries: &[
                self.params_entry(),
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &self.params,
                        offset: at + SLOT,
                        size: wgpu::BufferSize::new(ids_size),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: qs.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: scale.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: x.buf.buffer.as_entire_binding(),
                },
            ],
        });
        let groups = (d.div_ceil(64) as u32, t as u32);
        self.record_dispatch(&mut st, k, &bind, at, groups);
        Ok(x)
    }

    fn rms_norm(&self, x: &GpuTensor, w: &GpuTensor, eps: f32) -> Result<GpuTensor> {
        let y = self.alloc(x.rows, x.cols)?;
        let p = words(&[x.cols as u32, eps.to_bits()]);
        let b = [&x.buf.buffer, &w.buf.buffer, &y.buf.buffer];
        self.dispatch(&self.kernels.rms_norm, &p, &b, (x.rows as u32, 1));
        Ok(y)
    }

    fn qmatmul(&self, x: &GpuTensor, w: &GpuMatrix) -> Result<GpuTensor> {
        let (k, qs, sc, rows, cols, q8_0) = match w {
            GpuMatrix::Q4_1 { qs, dm, rows, cols } => {
                (&self.kernels.q4_1, qs, dm, *rows, *cols, false)
            }
            GpuMatrix::Q8_0 {
                qs,
                scale,
                rows,
                cols,
            } => (&self.kernels.q8_0, qs, scale, *rows, *cols, true),
        };
        if x.cols != cols {
            return Err(Error::Tensor(format!(
                "({}, {}) times a ({rows}, {cols}) matrix",
                x.rows, x.cols
            )));
        }
        if !q8_0 && cols > 2048 {
            return Err(Error::Gpu(format!(
                "Q4_1 rows of {cols} values; the kernel takes 2048"
            )));
        }
        let (xq, xs) = self.quantize(x, q8_0)?;
        let y = self.alloc(x.rows, rows)?;
        let p = words(&[x.rows as u32, cols as u32, rows as u32]);
        let groups = (rows.div_ceil(64) as u32, x.rows.div_ceil(4) as u32);
        let b = [&xq.buf.buffer, &xs.buf.buffer, qs, sc, &y.buf.buffer];
        self.dispatch(k, &p, &b, groups);
        Ok(y)
    }

    fn rope(&self, x: &GpuTensor, heads: usize, pos: usize) -> Result<GpuTensor> {
        if pos + x.rows > self.context {
            return Err(Error::Prompt("positions past the context".into()));
        }
        let y = self.alloc(x.rows, x.cols)?;
        let half = self.head_dim / 2;
        let p = words(&[heads as u32, half as u32, pos as u32]);
        let b = [&x.buf.buffer, &self.cos, &self.sin, &y.buf.buffer];
        let groups = ((heads * half).div_ceil(64) as u32, x.rows as u32);
        self.dispatch(&self.kernels.rope, &p, &b, groups);
        Ok(y)
    }

    fn attention(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        cache: &mut GpuCache,
    ) -> Result<GpuTensor> {
        let t = q.rows;
        let kv_row = (self.n_kv_head * self.head_dim * 4) as u64;
        if cache.len + t > cache.capacity {
            let capacity = (cache.len + t).div_ceil(CACHE_CHUNK) * CACHE_CHUNK;
            let capacity = capacity.min(self.context).max(cache.len + t);
            self.check_size("the key/value cache", capacity as u64 * kv_row)?;
            let grow = |old: &Option<wgpu::Buffer>| {
                let new = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("kv cache"),
                    size: capacity as u64 * kv_row,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_SRC
                        | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                if let (Some(old), true) = (old, cache.len > 0) {
                    let mut st = self.state.borrow_mut();
                    let enc = self.recording(&mut st);
                    enc.copy_buffer_to_buffer(old, 0, &new, 0, cache.len as u64 * kv_row);
                }
                new
            };
            cache.k = Some(grow(&cache.k));
            cache.v = Some(grow(&cache.v));
            cache.capacity = capacity;
        }
        let (Some(kc), Some(vc)) = (&cache.k, &cache.v) else {
            return Err(Error::Gpu("key/value cache missing".into()));
        };
        {
            let mut st = self.state.borrow_mut();
            let enc = self.recording(&mut st);
            let at = cache.len as u64 * kv_row;
            enc.copy_buffer_to_buffer(&k.buf.buffer, 0, kc, at, t as u64 * kv_row);
            enc.copy_buffer_to_buffer(&v.buf.buffer, 0, vc, at, t as u64 * kv_row);
        }
        let y = self.alloc(t, q.cols)?;
        let scale = 1.0 / (self.head_dim as f32).sqrt();
        let p = words(&[
            t as u32,
            cache.len as u32,
            self.n_head as u32,
            self.n_kv_head as u32,
            scale.to_bits(),
        ]);
        let b = [&q.buf.buffer, kc, vc, &y.buf.buffer];
        self.dispatch(
            &self.kernels.attention,
            &p,
            &b,
            (self.n_head as u32, t as u32),
        );
        cache.len += t;
        Ok(y)
    }

    fn silu_mul(&self, gate: &GpuTensor, up: &GpuTensor) -> Result<GpuTensor> {
        let y = self.alloc(gate.rows, gate.cols)?;
        let n = gate.rows * gate.cols;
        let b = [&gate.buf.buffer, &up.buf.buffer, &y.buf.buffer];
        self.dispatch(
            &self.kernels.silu_mul,
            &words(&[n as u32]),
            &b,
            Self::grid(n),
        );
        Ok(y)
    }

    fn add_rms_norm(
        &self,
        a: &GpuTensor,
        b: &GpuTensor,
        w: &GpuTensor,
        eps: f32,
    ) -> Result<(GpuTensor, GpuTensor)> {
        if a.cols > 1024 {
            let sum = self.add(a, b)?;
            let normed = self.rms_norm(&sum, w, eps)?;
            return Ok((sum, normed));
        }
        let (s, y) = (self.alloc(a.rows, a.cols)?, self.alloc(a.rows, a.cols)?);
        let p = words(&[a.cols as u32, eps.to_bits()]);
        let bufs = [
            &a.buf.buffer,
            &b.buf.buffer,
            &w.buf.buffer,
            &s.buf.buffer,
            &y.buf.buffer,
        ];
        self.dispatch(&self.kernels.add_rms_norm, &p, &bufs, (a.rows as u32, 1));
        Ok((s, y))
    }

    fn swiglu(&self, h: &GpuTensor, gate: &GpuMatrix, up: &GpuMatrix) -> Result<GpuTensor> {
        let (
            GpuMatrix::Q4_1 {
                qs: gq,
                dm: gdm,
                rows,
                cols,
            },
            GpuMatrix::Q4_1 {
                qs: uq,
                dm: udm,
                rows: up_rows,
                cols: up_cols,
            },
        ) = (gate, up)
        else {
            return self.silu_mul(&self.qmatmul(h, gate)?, &self.qmatmul(h, up)?);
        };
        if (rows, cols) != (up_rows, up_cols) || h.cols != *cols {
            return Err(Error::Tensor(format!(
                "({}, {}) through gate ({rows}, {cols}) and up ({up_rows}, {up_cols})",
                h.rows, h.cols
            )));
        }
        let (xq, xs) = self.quantize(h, false)?;
        let y = self.alloc(h.rows, *rows)?;
        let p = words(&[h.rows as u32, *cols as u32, *rows as u32]);
        let b = [
            &xq.buf.buffer,
            &xs.buf.buffer,
            gq,
            gdm,
            uq,
            udm,
            &y.buf.buffer,
        ];
        let groups = (rows.div_ceil(64) as u32, h.rows.div_ceil(4) as u32);
        self.dispatch(&self.kernels.swiglu, &p, &b, groups);
        Ok(y)
    }

    fn add(&self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor> {
        let y = self.alloc(a.rows, a.cols)?;
        let n = a.rows * a.cols;
        let bufs = [&a.buf.buffer, &b.buf.buffer, &y.buf.buffer];
        self.dispatch(&self.kernels.add, &words(&[n as u32]), &bufs, Self::grid(n));
        Ok(y)
    }

    fn add_scaled(&self, x: &GpuTensor, v: &GpuTensor, alpha: f32) -> Result<GpuTensor> {
        let y = self.alloc(x.rows, x.cols)?;
        let n = x.rows * x.cols;
        let p = words(&[n as u32, x.cols as u32, alpha.to_bits()]);
        let b = [&x.buf.buffer, &v.buf.buffer, &y.buf.buffer];
        self.dispatch(&self.kernels.add_scaled, &p, &b, Self::grid(n));
        Ok(y)
    }

    fn project(&self, x: &GpuTensor, basis: &GpuTensor) -> Result<GpuTensor> {
        let y = self.alloc(x.rows, basis.rows)?;
        let p = words(&[x.rows as u32, x.cols as u32, basis.rows as u32]);
        let b = [&x.buf.buffer, &basis.buf.buffer, &y.buf.buffer];
        let groups = (basis.rows.div_ceil(64) as u32, x.rows as u32);
        self.dispatch(&self.kernels.project, &p, &b, groups);
        Ok(y)
    }

    fn last_row(&self, x: &GpuTensor) -> Result<GpuTensor> {
        let y = self.alloc(1, x.cols)?;
        let row = (x.cols * 4) as u64;
        let mut st = self.state.borrow_mut();
        let enc = self.recording(&mut st);
        enc.copy_buffer_to_buffer(
            &x.buf.buffer,
            (x.rows as u64 - 1) * row,
            &y.buf.buffer,
            0,
            row,
        );
        Ok(y)
    }

    fn read_start(&self, x: &GpuTensor) -> Result<Pending> {
        let size = x.bytes();
        let mut st = self.state.borrow_mut();
        self.recording(&mut st);
        let chunk = match st.staging.iter().position(|(b, u)| b.size() - u >= size) {
            Some(i) => i,
            None => {
                let b = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("staging"),
                    size: size.max(STAGING_CHUNK),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                st.staging.push((b, 0));
                st.staging.len() - 1
            }
        };
        let offset = st.staging[chunk].1;
        let staging = st.staging[chunk].0.clone();
        let enc = self.recording(&mut st);
        enc.copy_buffer_to_buffer(&x.buf.buffer, 0, &staging, offset, size);
        st.staging[chunk].1 += size.div_ceil(8) * 8;
        Ok(Pending {
            epoch: st.epoch,
            chunk,
            offset,
            len: x.rows * x.cols,
        })
    }

    fn read_finish(&self, p: Pending) -> Result<Vec<f32>> {
        if p.epoch != self.state.borrow().epoch {
            return Err(Error::Gpu("a read from an earlier pass".into()));
        }
        self.wait()?;
        let st = self.state.borrow();
        let (buf, _) = &st.staging[p.chunk];
        let view = buf
            .get_mapped_range(p.offset..p.offset + (p.len * 4) as u64)
            .map_err(|e| gpu_err("reading results", e))?;
        Ok(bytemuck::cast_slice(&view).to_vec())
    }
}
