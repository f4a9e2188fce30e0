//! The [`Backend`] ops: each checks its shapes, takes its output from the pool and records one
//! dispatch of its kernel (a copy for `last_row` and the key/value cache). Products quantize
//! their input once and reuse it while the same tensor is multiplied again (q, k, v; gate, up).

use std::rc::Rc;

use super::kernels::Kernel;
use super::parts::table_parts;
use super::readback::Pending;
use super::recorder::SLOT;
use super::{words, Gpu, GpuCache, GpuMatrix, GpuTensor};
use crate::backend::{block_by_ops, Backend, Block, QWeight};
use crate::error::{Error, Result};
use crate::gguf::Config;

/// Positions a key/value cache grows by.
const CACHE_CHUNK: usize = 512;

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

    /// `y = f(a, b)` value by value, by an elementwise kernel of two inputs whose parameters
    /// are the count and `flag` (`gated`: 1 for GELU, 0 for SiLU; `add` reads only the count).
    fn elementwise(
        &self,
        k: &Kernel,
        a: &GpuTensor,
        b: &GpuTensor,
        flag: u32,
    ) -> Result<GpuTensor> {
        let y = self.alloc(a.rows, a.cols)?;
        let n = a.rows * a.cols;
        let bufs = [&a.buf.buffer, &b.buf.buffer, &y.buf.buffer];
        self.dispatch(k, &words(&[n as u32, flag]), &bufs, Self::grid(n));
        Ok(y)
    }

    /// `x (T, cols) · wᵀ` with `w (rows, cols)` in f32 (`qmatmul_f32`).
    fn matmul_f32(
        &self,
        x: &GpuTensor,
        w: &wgpu::Buffer,
        rows: usize,
        cols: usize,
    ) -> Result<GpuTensor> {
        if x.cols != cols {
            return Err(Error::Tensor(format!(
                "({}, {}) times a ({rows}, {cols}) matrix",
                x.rows, x.cols
            )));
        }
        let y = self.alloc(x.rows, rows)?;
        let p = words(&[x.rows as u32, cols as u32, rows as u32]);
        let b = [&x.buf.buffer, w, &y.buf.buffer];
        let groups = (rows.div_ceil(64) as u32, x.rows.div_ceil(4) as u32);
        self.dispatch(&self.kernels.qmatmul_f32, &p, &b, groups);
        Ok(y)
    }

    /// Rows `ids` that part `part` (rows `row0 ..` of a `total`-row table) holds, into `x`.
    /// The host's ids ride in the parameter ring, in slots of this dispatch's own, so passes
    /// recorded into one submission each read theirs without a buffer made per step (a choice
    /// made on the device is read where the argmax wrote it instead: `embed_chosen`).
    fn embed_part(
        &self,
        part: &GpuMatrix,
        row0: usize,
        total: usize,
        ids: &[u32],
        x: &GpuTensor,
    ) -> Result<()> {
        let (qs, scale, rows, d, f32) = token_table(part)?;
        let t = ids.len();
        // The ids ride in the parameter ring as f32 (exact below 2^24), in the slots after the
        // kernel's own.
        let mut p = words(&[d as u32, rows as u32, f32 as u32, row0 as u32, total as u32]);
        p.resize(SLOT as usize, 0);
        let ids: Vec<f32> = ids.iter().map(|&i| i as f32).collect();
        p.extend_from_slice(bytemuck::cast_slice(&ids));
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
        Ok(())
    }
}

impl Gpu {
    /// Makes room in `cache` for `t` more positions (growing it by [`CACHE_CHUNK`]s, the
    /// positions held copied over).
    pub(super) fn reserve(&self, cache: &mut GpuCache, t: usize) -> Result<()> {
        let kv_row = (self.n_kv_head * self.head_dim * 4) as u64;
        if cache.len + t <= cache.capacity {
            return Ok(());
        }
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
                self.copy(&mut st, (old, 0), (&new, 0), cache.len as u64 * kv_row);
            }
            new
        };
        cache.k = Some(grow(&cache.k));
        cache.v = Some(grow(&cache.v));
        cache.capacity = capacity;
        Ok(())
    }

    /// Whether Q4_1 products of `x` take tiles (qmatmul_tiled.wgsl): many tokens, on a real
    /// GPU (the kernels chosen for one, see [`Gpu::set_row_lanes`]).
    fn tiled(&self, x: &GpuTensor) -> bool {
        x.rows > 1 && self.row_lanes.get()
    }

    /// Attention of `q (T, n_head·hd)` over the cache, which then holds `T` more positions:
    /// the pass's keys and values `k`, `v` appended by the kernel itself (no copy ends the
    /// compute pass).
    fn attend(
        &self,
        q: &GpuTensor,
        [k, v]: [&GpuTensor; 2],
        cache: &mut GpuCache,
        window: Option<usize>,
    ) -> Result<GpuTensor> {
        let t = q.rows;
        self.reserve(cache, t)?;
        let (Some(kc), Some(vc)) = (&cache.k, &cache.v) else {
            return Err(Error::Gpu("key/value cache missing".into()));
        };
        let y = self.alloc(t, q.cols)?;
        let p = words(&[
            t as u32,
            cache.len as u32,
            self.n_head as u32,
            self.n_kv_head as u32,
            self.attn_scale.to_bits(),
            window.unwrap_or(0) as u32,
        ]);
        let b = [
            &q.buf.buffer,
            &k.buf.buffer,
            &v.buf.buffer,
            kc,
            vc,
            &y.buf.buffer,
        ];
        let groups = (self.n_head as u32, t as u32);
        self.dispatch(&self.kernels.attention, &p, &b, groups);
        cache.len += t;
        Ok(y)
    }
}

/// The token table's buffers, shape and kind `(qs, scale, rows, cols, f32)`: Q8_0 or f32 on
/// the GPU (an f32 table is bound as both).
fn token_table(table: &GpuMatrix) -> Result<(&wgpu::Buffer, &wgpu::Buffer, usize, usize, bool)> {
    match table {
        GpuMatrix::Q8_0 {
            qs,
            scale,
            rows,
            cols,
        } => Ok((qs, scale, *rows, *cols, false)),
        GpuMatrix::F32 { w, rows, cols } => Ok((w, w, *rows, *cols, true)),
        _ => Err(Error::Gpu(
            "the token table must be Q8_0, f16 or f32 on the GPU".into(),
        )),
    }
}

impl Backend for Gpu {
    type Tensor = GpuTensor;
    type Matrix = GpuMatrix;
    type Cache = GpuCache;
    type Pending = Pending;

    fn name(&self) -> &'static str {
        "webgpu"
    }

    fn matrix(&self, w: QWeight) -> Result<GpuMatrix> {
        self.upload_matrix(w)
    }

    fn tensor(&self, values: &[f32], rows: usize, cols: usize) -> Result<GpuTensor> {
        if values.len() != rows * cols {
            return Err(Error::Tensor(format!(
                "{} values for a ({rows}, {cols}) tensor",
                values.len()
            )));
        }
        self.upload_tensor(values, rows, cols)
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

    fn truncate(&self, cache: &mut GpuCache, len: usize) {
        cache.len = cache.len.min(len);
    }

    fn embed(&self, table: &GpuMatrix, ids: &[u32]) -> Result<GpuTensor> {
        let total = table.rows();
        if let Some(bad) = ids.iter().find(|&&i| i as usize >= total) {
            return Err(Error::Prompt(format!(
                "token id {bad} is outside the table"
            )));
        }
        let parts = table_parts(table);
        let (_, _, _, d, _) = token_table(parts[0].1)?;
        let x = self.alloc(ids.len(), d)?;
        for (row0, part) in parts {
            self.embed_part(part, row0, total, ids, &x)?;
        }
        Ok(x)
    }

    fn embed_chosen(&self, table: &GpuMatrix, chosen: &GpuTensor) -> Result<GpuTensor> {
        let total = table.rows();
        let parts = table_parts(table);
        let (_, _, _, cols, _) = token_table(parts[0].1)?;
        let x = self.alloc(1, cols)?;
        for (row0, part) in parts {
            let (qs, scale, rows, cols, f32) = token_table(part)?;
            let b = [&chosen.buf.buffer, qs, scale, &x.buf.buffer];
            let p = words(&[
                cols as u32,
                rows as u32,
                f32 as u32,
                row0 as u32,
                total as u32,
            ]);
            self.dispatch(&self.kernels.embed, &p, &b, (cols.div_ceil(64) as u32, 1));
        }
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
                (&self.kernels.qmatmul_q4_1, qs, dm, *rows, *cols, false)
            }
            GpuMatrix::Q8_0 {
                qs,
                scale,
                rows,
                cols,
            } => (&self.kernels.qmatmul_q8_0, qs, scale, *rows, *cols, true),
            GpuMatrix::Q5 { qs, dm, rows, cols } => {
                (&self.kernels.qmatmul_q5, qs, dm, *rows, *cols, false)
            }
            GpuMatrix::Q8_16 { qs, sc, rows, cols } => {
                (&self.kernels.qmatmul_q8_16, qs, sc, *rows, *cols, false)
            }
            GpuMatrix::F32 { w, rows, cols } => return self.matmul_f32(x, w, *rows, *cols),
            GpuMatrix::Parts { parts, rows, .. } => return self.qmatmul_parts(x, parts, *rows),
        };
        let q4_1 = matches!(w, GpuMatrix::Q4_1 { .. });
        if x.cols != cols {
            return Err(Error::Tensor(format!(
                "({}, {}) times a ({rows}, {cols}) matrix",
                x.rows, x.cols
            )));
        }
        let (xq, xs) = self.quantize(x, q8_0)?;
        let y = self.alloc(x.rows, rows)?;
        let b = [&xq.buf.buffer, &xs.buf.buffer, qs, sc, &y.buf.buffer];
        let p = words(&[x.rows as u32, cols as u32, rows as u32]);
        // Many tokens on a real GPU: tiles of 64 rows × 32 tokens in workgroup memory.
        let (k, toks) = match self.tiled(x) && q4_1 {
            true => (&self.kernels.qmatmul_tiled, 32),
            false => (k, 4),
        };
        let groups = (rows.div_ceil(64) as u32, x.rows.div_ceil(toks) as u32);
        self.dispatch(k, &p, &b, groups);
        Ok(y)
    }

    fn rope(&self, x: &GpuTensor, heads: usize, pos: usize, local: bool) -> Result<GpuTensor> {
        let cs = match (local, &self.cs_local) {
            (false, _) => &self.cs,
            (true, Some(cs)) => cs,
            (true, None) => return Err(Error::Gpu("no sliding-window layers here".into())),
        };
        if pos + x.rows > self.context {
            return Err(Error::Prompt("positions past the context".into()));
        }
        let y = self.alloc(x.rows, x.cols)?;
        let half = self.head_dim / 2;
        let p = words(&[heads as u32, half as u32, pos as u32, self.neox as u32]);
        let b = [&x.buf.buffer, cs, &y.buf.buffer];
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
        window: Option<usize>,
    ) -> Result<GpuTensor> {
        let (t, kv) = (q.rows, self.n_kv_head * self.head_dim);
        if (k.rows, k.cols, v.rows, v.cols) != (t, kv, t, kv)
            || q.cols != self.n_head * self.head_dim
        {
            return Err(Error::Tensor(
                "attention: q, k, v shapes do not fit the model".into(),
            ));
        }
        self.attend(q, [k, v], cache, window)
    }

    fn gelu_mul(&self, gate: &GpuTensor, up: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(&self.kernels.gated, gate, up, 1)
    }

    fn head_norm(&self, x: &GpuTensor, w: &GpuTensor, eps: f32) -> Result<GpuTensor> {
        let hd = self.head_dim;
        if w.rows * w.cols != hd || !x.cols.is_multiple_of(hd) {
            return Err(Error::Tensor(
                "head_norm: widths do not fit the heads".into(),
            ));
        }
        // Each head a row of its own: the same buffer, viewed (T·heads, hd).
        let heads = GpuTensor {
            buf: x.buf.clone(),
            rows: x.rows * x.cols / hd,
            cols: hd,
        };
        let y = self.rms_norm(&heads, w, eps)?;
        Ok(GpuTensor {
            buf: y.buf,
            rows: x.rows,
            cols: x.cols,
        })
    }

    fn scale(&self, x: &GpuTensor, s: f32) -> Result<GpuTensor> {
        let y = self.alloc(x.rows, x.cols)?;
        let n = x.rows * x.cols;
        let b = [&x.buf.buffer, &y.buf.buffer];
        let p = words(&[n as u32, s.to_bits()]);
        self.dispatch(&self.kernels.scale, &p, &b, Self::grid(n));
        Ok(y)
    }

    fn silu_mul(&self, gate: &GpuTensor, up: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(&self.kernels.gated, gate, up, 0)
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
        if *cols > 2048 || self.tiled(h) {
            return self.silu_mul(&self.qmatmul(h, gate)?, &self.qmatmul(h, up)?);
        }
        if (rows, cols) != (up_rows, up_cols) || h.cols != *cols {
            return Err(Error::Tensor(format!(
                "({}, {}) through gate ({rows}, {cols}) and up ({up_rows}, {up_cols})",
                h.rows, h.cols
            )));
        }
        let (xq, xs) = self.quantize(h, false)?;
        let y = self.alloc(h.rows, *rows)?;
        let b = [
            &xq.buf.buffer,
            &xs.buf.buffer,
            gq,
            gdm,
            uq,
            udm,
            &y.buf.buffer,
        ];
        let p = words(&[h.rows as u32, *cols as u32, *rows as u32]);
        let groups = (rows.div_ceil(64) as u32, h.rows.div_ceil(4) as u32);
        self.dispatch(&self.kernels.swiglu, &p, &b, groups);
        Ok(y)
    }

    fn block(
        &self,
        x: &GpuTensor,
        w: &Block<Self>,
        cache: &mut GpuCache,
        c: &Config,
        pos: usize,
    ) -> Result<GpuTensor> {
        match self.block_token(x, w, cache, c, pos)? {
            Some(y) => Ok(y),
            None => block_by_ops(self, x, w, cache, c, pos),
        }
    }

    fn norm_qmatmul(
        &self,
        x: &GpuTensor,
        w_norm: &GpuTensor,
        eps: f32,
        m: &GpuMatrix,
    ) -> Result<GpuTensor> {
        match self.head_token(x, w_norm, eps, m)? {
            Some(y) => Ok(y),
            None => self.qmatmul(&self.rms_norm(x, w_norm, eps)?, m),
        }
    }

    fn add(&self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(&self.kernels.add, a, b, 0)
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

    fn argmax(&self, x: &GpuTensor) -> Result<GpuTensor> {
        self.choose(x, None, crate::sampler::Gumbel::new(0.0, 0))
    }

    fn sample(
        &self,
        x: &GpuTensor,
        recent: Option<&GpuTensor>,
        g: crate::sampler::Gumbel,
    ) -> Result<GpuTensor> {
        let last_n = g.last_n as usize;
        let bad = if !(g.temperature.is_finite() && g.temperature >= 0.0) {
            Some(format!("temperature {} is not ≥ 0", g.temperature))
        } else if !(g.top_p > 0.0 && g.top_p <= 1.0) {
            Some(format!("top-p {} is not in (0, 1]", g.top_p))
        } else if !(g.penalty.is_finite() && g.penalty > 0.0) {
            Some(format!("repeat penalty {} is not > 0", g.penalty))
        } else if g.penalty != 1.0 && !(1..=crate::sampler::DEVICE_LAST_N).contains(&last_n) {
            Some(format!("a penalty over {last_n} recent tokens"))
        } else if g.penalty != 1.0
            && recent.is_none_or(|r| r.buf.buffer.size() < 4 * (1 + last_n as u64))
        {
            Some("a penalty without its recent tokens".into())
        } else {
            None
        };
        if let Some(bad) = bad {
            return Err(Error::Sampling(bad));
        }
        self.choose(x, recent, g)
    }

    fn last_row(&self, x: &GpuTensor) -> Result<GpuTensor> {
        let y = self.alloc(1, x.cols)?;
        let row = (x.cols * 4) as u64;
        let mut st = self.state.borrow_mut();
        let last = (x.rows as u64 - 1) * row;
        self.copy(&mut st, (&x.buf.buffer, last), (&y.buf.buffer, 0), row);
        Ok(y)
    }

    fn read_start(&self, x: &GpuTensor) -> Result<Pending> {
        self.start_read(x)
    }

    fn read_finish(&self, p: Pending) -> Result<Vec<f32>> {
        self.finish_read(p)
    }
}
