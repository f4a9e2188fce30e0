//! Bringing the device up: the adapter, the device and its limits, every kernel compiled, the
//! rotary tables uploaded; and the faults a device reports outside any call (an uncaptured
//! validation error, a lost device), kept until the next call returns them as [`Error::Gpu`];
//! and taking it down: [`Gpu::destroy`] (also on drop) destroys the device and with it every
//! buffer made on it, and [`live_devices`] counts the devices not yet destroyed, so a test can
//! see that leaving the GPU left nothing behind.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wgpu::util::DeviceExt;

use super::kernels::Kernels;
use super::pool::Pool;
use super::recorder::{State, SLOT, SLOTS};
use super::{gpu_err, Fault, Gpu};
use crate::backend::rope_tables;
use crate::error::{Error, Result};
use crate::gguf::Config;

/// Devices opened by [`Gpu::create`] and not yet destroyed, in this process (wasm instance).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many GPU devices are open (made and not destroyed) in this process: 0 once every
/// [`Gpu`] was destroyed or dropped.
pub fn live_devices() -> usize {
    LIVE.load(Ordering::SeqCst)
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
        cfg.check_gpu_runnable()?;
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
        let kernels = Kernels::new(&device, cfg.head_dim).await?;
        let pairs = |local| {
            let (cos, sin) = rope_tables(cfg, local);
            cos.iter()
                .zip(&sin)
                .flat_map(|(&c, &s)| [c, s])
                .collect::<Vec<f32>>()
        };
        let upload = |label, data: &[f32]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let emulated = info.device_type == wgpu::DeviceType::Cpu;
        let gpu = Self {
            cs: upload("rope cos, sin", &pairs(false)),
            cs_local: cfg
                .sliding
                .is_some()
                .then(|| upload("local rope cos, sin", &pairs(true))),
            params: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: SLOTS * SLOT,
                usage: wgpu::BufferUsages::UNIFORM
                    | wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            adapter: adapter_name,
            // Emulations on the CPU (lavapipe, SwiftShader) run one invocation a row, with no
            // barriers, far faster; a real GPU wants a row's blocks read at once.
            emulated,
            row_lanes: (!emulated).into(),
            kernels,
            pool: Pool::default(),
            quantized: Default::default(),
            stacked: Default::default(),
            bind_groups: Default::default(),
            state: State::new().into(),
            fault,
            frames: Default::default(),
            n_head: cfg.n_head,
            n_kv_head: cfg.n_kv_head,
            head_dim: cfg.head_dim,
            attn_scale: cfg.attn_scale,
            context: cfg.context,
            neox: cfg.rope_neox,
            destroyed: false.into(),
            matrix_cap: None.into(),
            device,
            queue,
        };
        LIVE.fetch_add(1, Ordering::SeqCst);
        gpu.check()?;
        Ok(gpu)
    }

    /// Destroys the device and every buffer made on it, as a lost one would be (tests and the
    /// page use it to show the fallback; the session calls it when it leaves the GPU); every
    /// later call fails with [`Error::Gpu`]. Once only: later calls do nothing.
    pub fn destroy(&self) {
        if !self.destroyed.replace(true) {
            self.device.destroy();
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Whether the device is open (not destroyed by [`Gpu::destroy`]). A device the browser
    /// lost on its own still counts as open until destroyed.
    pub fn is_live(&self) -> bool {
        !self.destroyed.get()
    }

    /// An error recorded by the device since the last call, if any.
    pub(super) fn check(&self) -> Result<()> {
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
}

/// A dropped backend takes its device down at once rather than when the browser's garbage
/// collector gets to it (a device holds the model's weights, ~100 MB).
impl Drop for Gpu {
    fn drop(&mut self) {
        self.destroy();
    }
}
