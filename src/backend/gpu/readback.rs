//! Reading results back: [`Backend::read_start`] records a copy into a staging buffer, a
//! [`Gpu::flush`] submits the pass and maps every staging buffer it used at once, and
//! [`Backend::read_finish`] reads the mapped bytes. Natively the read waits for the device; in
//! the browser the page awaits [`Gpu::when_ready`] first, so nothing blocks.

#[cfg(doc)]
use super::super::Backend;
use super::recorder::Phase;
use super::{gpu_err, Gpu, GpuTensor};
use crate::error::{Error, Result};

/// Smallest staging buffer for reads.
const STAGING_CHUNK: u64 = 1 << 20;

/// A read recorded by [`Backend::read_start`]: `len` floats at `offset` of staging buffer `chunk`.
pub struct Pending {
    epoch: u64,
    chunk: usize,
    offset: u64,
    len: usize,
}

/// Staging maps under way: how many finished, the first failure, who waits for them.
#[derive(Default)]
pub(super) struct Maps {
    want: usize,
    done: usize,
    failed: Option<String>,
    waker: Option<std::task::Waker>,
}

fn poisoned<T>(_: T) -> Error {
    Error::Gpu("map state poisoned".into())
}

impl Gpu {
    /// Submits the recorded pass and starts mapping its staging buffers; in the browser,
    /// [`Gpu::ready`] then tells when [`Backend::read_finish`] can run without waiting.
    pub fn flush(&self) -> Result<()> {
        let mut st = self.state.borrow_mut();
        if st.phase != Phase::Recording {
            return Ok(());
        }
        self.submit(&mut st);
        let used: Vec<_> = st.staging.iter().filter(|(_, u)| *u > 0).collect();
        *self.maps.lock().map_err(poisoned)? = Maps {
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
        let m = self.maps.lock().map_err(poisoned)?;
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

    /// Records a copy of `x` into a staging buffer (see [`Backend::read_start`]).
    pub(super) fn start_read(&self, x: &GpuTensor) -> Result<Pending> {
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
        self.copy(&mut st, (&x.buf.buffer, 0), (&staging, offset), size);
        st.counts.readback_bytes += size;
        st.staging[chunk].1 += size.div_ceil(8) * 8;
        Ok(Pending {
            epoch: st.epoch,
            chunk,
            offset,
            len: x.rows * x.cols,
        })
    }

    /// The values of a started read (see [`Backend::read_finish`]).
    pub(super) fn finish_read(&self, p: Pending) -> Result<Vec<f32>> {
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
