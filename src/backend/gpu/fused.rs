//! One token's block in four dispatches and its logits in one, where a decode step spends its
//! dispatches: `attn` (norm, q/k/v, RoPE, the cache append and attention, a workgroup per
//! query head on a real GPU, per kv head on a CPU emulating one), `qmatvec_add` (output
//! projection and residual add), `ffn_in` (norm, gate·up·SiLU), `qmatvec_add` (down
//! projection and residual add), then `head` (final norm and the output matrix). Each kernel
//! does the arithmetic of the ops it replaces, so the results equal
//! [`crate::backend::block_by_ops`]'. Prompts (T > 1) and shapes these kernels do not take go
//! op by op.

use super::kernels::Kernel;
use super::{words, Gpu, GpuCache, GpuMatrix, GpuTensor};
use crate::backend::Block;
use crate::error::{Error, Result};
use crate::gguf::Config;

/// The widest input the fused kernels keep in workgroup memory (64 blocks).
const MAX_IN: usize = 2048;

/// A Q4_1 matrix's buffers and shape, when it is Q4_1 with rows the fused kernels take.
fn q4_1(m: &GpuMatrix) -> Option<(&wgpu::Buffer, &wgpu::Buffer, usize, usize)> {
    match m {
        GpuMatrix::Q4_1 { qs, dm, rows, cols } if *cols <= MAX_IN && cols.is_multiple_of(32) => {
            Some((qs, dm, *rows, *cols))
        }
        _ => None,
    }
}

impl Gpu {
    /// A fused kernel's pipeline: on a real GPU its wide one (256 invocations a workgroup),
    /// else a row per invocation, 64 a workgroup (see `shaders/lib/rows.wgsl`).
    fn rows_pipeline<'k>(&self, k: &'k Kernel) -> Option<&'k wgpu::ComputePipeline> {
        self.row_lanes.get().then(|| k.wide(&self.device)).flatten()
    }

    /// Records a fused kernel over `rows` rows: on a real GPU 32 lanes a row, 8 rows a
    /// workgroup; else a row per invocation, 64 rows a workgroup.
    fn dispatch_rows(&self, k: &Kernel, params: &[u8], bufs: &[&wgpu::Buffer], rows: usize) {
        let (pipeline, per_group) = match self.rows_pipeline(k) {
            Some(wide) => (wide, 8),
            None => (&k.pipeline, 64),
        };
        let groups = (rows.div_ceil(per_group) as u32, 1);
        self.dispatch_on(k, pipeline, params, bufs, groups);
    }

    /// wq, wk and wv with their rows stacked in one matrix (made on the device once per block,
    /// then kept: attn binds one matrix where three would pass the eight storage buffers
    /// WebGPU promises a kernel).
    fn stacked(&self, w: [&GpuMatrix; 3]) -> Result<Option<(wgpu::Buffer, wgpu::Buffer)>> {
        let [Some(q), Some(k), Some(v)] = w.map(q4_1) else {
            return Ok(None);
        };
        if let Some(found) = self.stacked.borrow().get(q.0) {
            return Ok(Some(found.clone()));
        }
        let made = (
            self.stack("stacked q, k, v", [q.0, k.0, v.0])?,
            self.stack("stacked q, k, v scales", [q.1, k.1, v.1])?,
        );
        // Made on the first pass (the prompt's); so are the wide pipelines, where they run,
        // so that the first decode step compiles nothing.
        if self.row_lanes.get() {
            for k in [
                &self.kernels.attn,
                &self.kernels.ffn_in,
                &self.kernels.qmatvec_add,
            ] {
                k.wide(&self.device);
            }
        }
        self.stacked.borrow_mut().insert(q.0.clone(), made.clone());
        Ok(Some(made))
    }

    /// One buffer holding `parts` one after another, copied on the device.
    fn stack(&self, what: &str, parts: [&wgpu::Buffer; 3]) -> Result<wgpu::Buffer> {
        let size = parts.iter().map(|p| p.size()).sum();
        self.check_size(what, size)?;
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut st = self.state.borrow_mut();
        let mut at = 0;
        for p in parts {
            self.copy(&mut st, (p, 0), (&buf, at), p.size());
            at += p.size();
        }
        Ok(buf)
    }

    /// [`crate::backend::Backend::block`] for one token in four dispatches; `None` where the
    /// fused kernels do not take the shapes (more tokens, other formats, wider rows).
    pub(super) fn block_token(
        &self,
        x: &GpuTensor,
        w: &Block<Self>,
        cache: &mut GpuCache,
        c: &Config,
        pos: usize,
    ) -> Result<Option<GpuTensor>> {
        let (n_q, n_kv) = (c.n_head * c.head_dim, c.n_kv_head * c.head_dim);
        let (Some(o), Some(gate), Some(up), Some(down)) =
            (q4_1(w.wo), q4_1(w.w_gate), q4_1(w.w_up), q4_1(w.w_down))
        else {
            return Ok(None);
        };
        // Stacked on the first pass (the prompt's), so decode steps copy nothing.
        let Some((qs, dm)) = self.stacked([w.wq, w.wk, w.wv])? else {
            return Ok(None);
        };
        let d = x.cols;
        // The fused kernels are llama's block: no biases, norms of q/k or outputs, NEOX rope.
        let plain =
            w.qkv_bias.is_none() && w.qk_norm.is_none() && w.post_norms.is_none() && !c.rope_neox;
        if x.rows != 1
            || !plain
            || d > MAX_IN
            || !d.is_multiple_of(32)
            || self.head_dim != 64
            || (o.2, o.3, gate.3, up.3, down.2) != (d, n_q, d, d, d)
            || (gate.2, up.2) != (down.3, down.3)
        {
            return Ok(None);
        }
        if pos + 1 > self.context {
            return Err(Error::Prompt("positions past the context".into()));
        }
        if pos != cache.len {
            return Err(Error::Tensor(format!(
                "a token at position {pos} after a cache of {} positions",
                cache.len
            )));
        }
        self.reserve(cache, 1)?;
        let (Some(kc), Some(vc)) = (&cache.k, &cache.v) else {
            return Err(Error::Gpu("key/value cache missing".into()));
        };
        let eps = c.rms_eps.to_bits();
        let [d32, n_q32, n_kv32, half, pos32, group] =
            [d, n_q, n_kv, self.head_dim / 2, pos, c.n_head / c.n_kv_head].map(|v| v as u32);
        let scale = (1.0 / (self.head_dim as f32).sqrt()).to_bits();

        // q, then the attention's output written over it.
        let att = self.alloc(1, n_q)?;
        let p = words(&[d32, eps, n_q32, n_kv32, half, pos32, group, scale]);
        let b = [
            &x.buf.buffer,
            &w.attn_norm.buf.buffer,
            &qs,
            &dm,
            &self.cs,
            &att.buf.buffer,
            kc,
            vc,
        ];
        // A workgroup a query head on a real GPU (its kv head's k and v made by each of the
        // head's group; the wide pipeline's QH = 1, kernels.rs's `wide_constants`), a
        // workgroup a kv head on a CPU emulating one.
        let k = &self.kernels.attn;
        let (pipeline, groups) = match self.rows_pipeline(k) {
            Some(wide) => (wide, c.n_head),
            None => (&k.pipeline, c.n_kv_head),
        };
        self.dispatch_on(k, pipeline, &p, &b, (groups as u32, 1));
        cache.len += 1;

        let x1 = self.matvec_add(&att, o, x)?;
        let ff = self.alloc(1, gate.2)?;
        let p = words(&[d32, eps, gate.2 as u32]);
        let b = [
            &x1.buf.buffer,
            &w.ffn_norm.buf.buffer,
            gate.0,
            gate.1,
            up.0,
            up.1,
            &ff.buf.buffer,
        ];
        self.dispatch_rows(&self.kernels.ffn_in, &p, &b, gate.2);
        Ok(Some(self.matvec_add(&ff, down, &x1)?))
    }

    /// `r + a · mᵀ` for one token (`qmatvec_add`).
    fn matvec_add(
        &self,
        a: &GpuTensor,
        (qs, dm, rows, cols): (&wgpu::Buffer, &wgpu::Buffer, usize, usize),
        r: &GpuTensor,
    ) -> Result<GpuTensor> {
        let y = self.alloc(1, rows)?;
        let p = words(&[cols as u32, rows as u32]);
        let b = [&a.buf.buffer, qs, dm, &r.buf.buffer, &y.buf.buffer];
        self.dispatch_rows(&self.kernels.qmatvec_add, &p, &b, rows);
        Ok(y)
    }

    /// One token's logits through a Q8_0 output matrix in one dispatch (`head`); `None` for
    /// more tokens or other shapes.
    pub(super) fn head_token(
        &self,
        x: &GpuTensor,
        w_norm: &GpuTensor,
        eps: f32,
        m: &GpuMatrix,
    ) -> Result<Option<GpuTensor>> {
        let GpuMatrix::Q8_0 {
            qs,
            scale,
            rows,
            cols,
        } = m
        else {
            return Ok(None);
        };
        if x.rows != 1 || x.cols != *cols || *cols > MAX_IN || !cols.is_multiple_of(32) {
            return Ok(None);
        }
        let y = self.alloc(1, *rows)?;
        let p = words(&[*cols as u32, eps.to_bits(), *rows as u32]);
        let b = [&x.buf.buffer, &w_norm.buf.buffer, qs, scale, &y.buf.buffer];
        self.dispatch(&self.kernels.head, &p, &b, (rows.div_ceil(64) as u32, 1));
        Ok(Some(y))
    }
}
