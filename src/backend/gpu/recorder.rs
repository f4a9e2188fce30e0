//! The recorder: ops become dispatches in one open compute pass of one command encoder, until a
//! copy needs the encoder or a read submits it. Kernel parameters go into a ring of 256-byte
//! uniform slots (bound with dynamic offsets, written once per submit); bind groups are cached
//! by kernel and buffers, since a decode step binds the same pooled buffers as the step before.

use super::kernels::Kernel;
use super::Gpu;
use crate::backend::GpuCounts as Counts;

/// Bytes of one kernel-parameter slot (WebGPU's largest uniform offset alignment).
pub(super) const SLOT: u64 = 256;
/// Slots in the parameter ring; a recording that needs more is submitted in parts.
pub(super) const SLOTS: u64 = 2048;
/// Bind groups kept for reuse; past this many the cache starts over.
const BIND_GROUPS: usize = 4096;

pub(super) struct State {
    /// The open compute pass: dispatches share it until a copy needs the encoder.
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: Option<wgpu::CommandEncoder>,
    /// Parameter bytes of the slots used since the last submit.
    params: Vec<u8>,
    /// What was recorded and submitted so far.
    pub(super) counts: Counts,
}

impl State {
    /// Nothing recorded.
    pub(super) fn new() -> Self {
        Self {
            pass: None,
            encoder: None,
            params: Vec::new(),
            counts: Counts::default(),
        }
    }
}

impl Gpu {
    /// The encoder, for a copy: ends the open compute pass.
    pub(super) fn recording<'a>(&self, st: &'a mut State) -> &'a mut wgpu::CommandEncoder {
        st.pass = None;
        st.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        })
    }

    /// Records a copy of `size` bytes from `src` at `from` to `dst` at `to`.
    pub(super) fn copy(
        &self,
        st: &mut State,
        (src, from): (&wgpu::Buffer, u64),
        (dst, to): (&wgpu::Buffer, u64),
        size: u64,
    ) {
        self.recording(st)
            .copy_buffer_to_buffer(src, from, dst, to, size);
        st.counts.copies += 1;
    }

    /// What was recorded and submitted so far.
    pub fn counts(&self) -> Counts {
        self.state.borrow().counts
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
    pub(super) fn submit(&self, st: &mut State) {
        st.pass = None;
        if let Some(enc) = st.encoder.take() {
            if !st.params.is_empty() {
                self.queue.write_buffer(&self.params, 0, &st.params);
                st.params.clear();
            }
            let cmd = enc.finish();
            #[cfg(not(target_arch = "wasm32"))]
            let t = std::time::Instant::now();
            self.queue.submit([cmd]);
            #[cfg(not(target_arch = "wasm32"))]
            {
                st.counts.submit_ns += t.elapsed().as_nanos() as u64;
            }
            st.counts.submits += 1;
        }
    }

    /// Reserves `n` consecutive parameter slots holding `bytes`; returns the first slot's
    /// byte offset. Submits first when the ring is full.
    pub(super) fn slots(&self, st: &mut State, bytes: &[u8]) -> u64 {
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
    pub(super) fn dispatch(
        &self,
        k: &Kernel,
        params: &[u8],
        bufs: &[&wgpu::Buffer],
        groups: (u32, u32),
    ) {
        self.dispatch_on(k, &k.pipeline, params, bufs, groups)
    }

    /// [`Gpu::dispatch`] of one of `k`'s pipelines.
    pub(super) fn dispatch_on(
        &self,
        k: &Kernel,
        pipeline: &wgpu::ComputePipeline,
        params: &[u8],
        bufs: &[&wgpu::Buffer],
        groups: (u32, u32),
    ) {
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
        self.record_on(&mut st, pipeline, bind, at, groups);
    }

    /// Binding 0 of every kernel: one parameter slot, placed by the dynamic offset.
    pub(super) fn params_entry(&self) -> wgpu::BindGroupEntry<'_> {
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
    pub(super) fn record_dispatch(
        &self,
        st: &mut State,
        k: &Kernel,
        bind: &wgpu::BindGroup,
        at: u64,
        groups: (u32, u32),
    ) {
        self.record_on(st, &k.pipeline, bind, at, groups)
    }

    fn record_on(
        &self,
        st: &mut State,
        pipeline: &wgpu::ComputePipeline,
        bind: &wgpu::BindGroup,
        at: u64,
        groups: (u32, u32),
    ) {
        let pass = self.pass(st);
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, bind, &[at as u32]);
        pass.dispatch_workgroups(groups.0, groups.1, 1);
        st.counts.dispatches += 1;
    }

    /// An elementwise dispatch over `n` values in workgroups of 64, as a 2-D grid.
    pub(super) fn grid(n: usize) -> (u32, u32) {
        let groups = n.div_ceil(64).max(1) as u32;
        let x = groups.min(65535);
        (x, groups.div_ceil(x))
    }
}
