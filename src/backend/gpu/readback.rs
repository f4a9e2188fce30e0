//! Reading results back: [`Backend::read_start`] records a copy into a staging buffer, a
//! [`Gpu::flush`] submits the pass and maps every staging buffer it used at once, and
//! [`Backend::read_finish`] reads the mapped bytes. Natively the read waits for the device; in
//! the browser the page awaits [`Gpu::when_ready`] first, so nothing blocks.
//!
//! Each flush maps its own *frame* of staging buffers, and the next recording goes to the next
//! frame of a ring of [`FRAMES`]: so several passes can be in flight, each read back when its
//! own maps finish (the session records greedy steps ahead of the one it reads).

#[cfg(doc)]
use super::super::Backend;
use super::{gpu_err, Gpu, GpuTensor};
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// Smallest staging buffer for reads.
const STAGING_CHUNK: u64 = 1 << 20;
/// Frames of staging buffers: at most this many flushed passes can wait to be read.
const FRAMES: usize = crate::backend::PASSES_IN_FLIGHT;

/// A read recorded by [`Backend::read_start`]: `len` floats at `offset` of staging buffer
/// `chunk` of frame `frame`, recorded while that frame was at `epoch`.
pub struct Pending {
    frame: usize,
    epoch: u64,
    chunk: usize,
    offset: u64,
    len: usize,
}

/// Where one frame's reads stand.
#[derive(PartialEq, Clone, Copy)]
pub(super) enum Phase {
    /// Nothing to read: the frame can be recorded into.
    Free,
    /// Submitted; the staging buffers are being mapped.
    Mapping,
    /// The staging buffers are mapped and can be read.
    Mapped,
}

/// Staging maps under way: how many finished, the first failure, who waits for them.
#[derive(Default)]
pub(super) struct Maps {
    want: usize,
    done: usize,
    failed: Option<String>,
    waker: Option<std::task::Waker>,
}

/// One flush's staging buffers and their maps.
pub(super) struct Frame {
    /// Staging buffers (MAP_READ) with the bytes used in each.
    staging: Vec<(wgpu::Buffer, u64)>,
    phase: Phase,
    /// Counts the recordings into this frame, so a read from an older one is refused.
    epoch: u64,
    maps: Arc<Mutex<Maps>>,
}

/// The ring of frames and the one being recorded into. Frames are flushed in ring order, so
/// from `cur` on they run from the oldest flush to the newest.
pub(super) struct Frames {
    frames: Vec<Frame>,
    cur: usize,
}

impl Default for Frames {
    fn default() -> Self {
        let frame = || Frame {
            staging: Vec::new(),
            phase: Phase::Free,
            epoch: 0,
            maps: Arc::default(),
        };
        Self {
            frames: (0..FRAMES).map(|_| frame()).collect(),
            cur: 0,
        }
    }
}

impl Frames {
    /// The frame being recorded into, freed first if a read of it was left behind (its maps
    /// abort; reads of it are refused as earlier passes').
    fn current(&mut self) -> &mut Frame {
        let f = &mut self.frames[self.cur];
        if f.phase != Phase::Free {
            for (b, used) in &mut f.staging {
                if *used > 0 {
                    b.unmap();
                }
                *used = 0;
            }
            f.phase = Phase::Free;
            f.epoch += 1;
        }
        f
    }

    /// The oldest frame still mapping: the first one from `cur` on.
    fn oldest_mapping(&self) -> Option<&Frame> {
        (0..FRAMES)
            .map(|i| &self.frames[(self.cur + i) % FRAMES])
            .find(|f| f.phase == Phase::Mapping)
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::Gpu("map state poisoned".into())
}

impl Gpu {
    /// Submits the recorded pass and starts mapping its staging buffers; the next recording
    /// goes to the next frame. In the browser, [`Gpu::when_ready`] then tells when
    /// [`Backend::read_finish`] can run without waiting.
    pub fn flush(&self) -> Result<()> {
        let mut st = self.state.borrow_mut();
        self.submit(&mut st);
        let mut frames = self.frames.borrow_mut();
        let cur = frames.cur;
        let f = &mut frames.frames[cur];
        if f.phase != Phase::Free {
            // Nothing read since this frame was last flushed.
            return self.check();
        }
        let used: Vec<_> = f.staging.iter().filter(|(_, u)| *u > 0).collect();
        if used.is_empty() {
            return self.check();
        }
        f.maps = Arc::new(Mutex::new(Maps {
            want: used.len(),
            ..Maps::default()
        }));
        for (b, u) in &used {
            let maps = f.maps.clone();
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
        f.phase = Phase::Mapping;
        frames.cur = (frames.cur + 1) % FRAMES;
        self.check()
    }

    /// Whether frame `i`'s reads are mapped (errors once a map failed).
    fn ready(&self, i: usize) -> Result<bool> {
        self.check()?;
        let mut frames = self.frames.borrow_mut();
        let f = &mut frames.frames[i];
        if f.phase != Phase::Mapping {
            return Ok(f.phase == Phase::Mapped);
        }
        let m = f.maps.lock().map_err(poisoned)?;
        if let Some(e) = &m.failed {
            return Err(Error::Gpu(format!("reading results back failed: {e}")));
        }
        let done = m.done == m.want;
        drop(m);
        if done {
            f.phase = Phase::Mapped;
        }
        Ok(done)
    }

    /// Resolves once the maps of the oldest flush still mapping finished (or one failed): what
    /// the browser awaits between recording a pass and reading it.
    pub fn when_ready(&self) -> impl std::future::Future<Output = ()> + 'static {
        let maps = self
            .frames
            .borrow()
            .oldest_mapping()
            .map(|f| f.maps.clone());
        std::future::poll_fn(move |cx| match maps.as_ref().map(|m| m.lock()) {
            Some(Ok(mut m)) if m.done < m.want && m.failed.is_none() => {
                m.waker = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
            _ => std::task::Poll::Ready(()),
        })
    }

    /// Waits until frame `i` is mapped (natively: drives the device; in the browser, waiting
    /// is the page's job, so a read before the map finished is an error).
    fn wait(&self, i: usize) -> Result<()> {
        if self.frames.borrow().frames[i].phase == Phase::Free {
            self.flush()?;
        }
        #[cfg(not(target_arch = "wasm32"))]
        while !self.ready(i)? {
            self.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| gpu_err("waiting for the device", e))?;
        }
        if !self.ready(i)? {
            return Err(Error::Gpu("results read before the device finished".into()));
        }
        Ok(())
    }

    /// Records a copy of `x` into a staging buffer of the current frame (see
    /// [`Backend::read_start`]).
    pub(super) fn start_read(&self, x: &GpuTensor) -> Result<Pending> {
        let size = x.bytes();
        let mut st = self.state.borrow_mut();
        let mut frames = self.frames.borrow_mut();
        let frame = frames.cur;
        let f = frames.current();
        let chunk = match f.staging.iter().position(|(b, u)| b.size() - u >= size) {
            Some(i) => i,
            None => {
                let b = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("staging"),
                    size: size.max(STAGING_CHUNK),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                f.staging.push((b, 0));
                f.staging.len() - 1
            }
        };
        let offset = f.staging[chunk].1;
        let staging = f.staging[chunk].0.clone();
        f.staging[chunk].1 += size.div_ceil(8) * 8;
        let epoch = f.epoch;
        drop(frames);
        self.copy(&mut st, (&x.buf.buffer, 0), (&staging, offset), size);
        st.counts.readback_bytes += size;
        Ok(Pending {
            frame,
            epoch,
            chunk,
            offset,
            len: x.rows * x.cols,
        })
    }

    /// The values of a started read (see [`Backend::read_finish`]).
    pub(super) fn finish_read(&self, p: Pending) -> Result<Vec<f32>> {
        if p.epoch != self.frames.borrow().frames[p.frame].epoch {
            return Err(Error::Gpu("a read from an earlier pass".into()));
        }
        self.wait(p.frame)?;
        let frames = self.frames.borrow();
        let (buf, _) = &frames.frames[p.frame].staging[p.chunk];
        let view = buf
            .get_mapped_range(p.offset..p.offset + (p.len * 4) as u64)
            .map_err(|e| gpu_err("reading results", e))?;
        Ok(bytemuck::cast_slice(&view).to_vec())
    }
}
