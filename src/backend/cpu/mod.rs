//! The CPU backend: activations are plain f32 rows, every op is ours (a few lines each, no
//! allocation beyond its output), and the quantized products are [`super::quant`]'s kernels.
//! candle stays only for the f32 matrix product of [`Cpu::new_f32`] (weights dequantized by
//! [`QWeight::dequantize`]).
//!
//! candle's tensor ops cost a few microseconds each in bookkeeping; a decode step runs ~500
//! small ops, so with candle they took more time than the matrix products themselves. The ops
//! here do the same arithmetic as candle's in the same order (RMSNorm, RoPE, SiLU), except
//! attention, whose dot products and sums run in our own fixed order.

use candle_core::{Device, Tensor};

use std::cell::OnceCell;
use std::sync::{Arc, OnceLock};

mod attend;
mod dot;
mod exp;

use super::quant::{QMatrix, Q8};
use super::share::Shared;
use super::{rope_rows, Backend, DType, Pieces, QWeight};
use crate::error::{Error, Result};
use crate::gguf::Config;
use attend::{attend, Heads, Past};
use dot::dot;
use exp::exp_in_place;

/// Positions a cache grows by: it starts empty (a loaded model holds no cache until it reads
/// text) and makes room a chunk at a time as positions are reached.
const CACHE_CHUNK: usize = 512;
/// Positions whose rope rows are made at once.
const ROPE_CHUNK: usize = 1024;

/// Activations `(rows, cols)`, row-major.
#[derive(Debug, Clone)]
pub struct Rows {
    pub data: Vec<f32>,
    pub cols: usize,
}

impl Rows {
    fn n(&self) -> usize {
        self.data.len() / self.cols.max(1)
    }

    /// An error unless `other` holds as many values.
    fn same_size(&self, other: &Rows) -> Result<()> {
        if self.data.len() != other.data.len() {
            return Err(Error::Tensor(format!(
                "shapes differ: {} vs {} values",
                self.data.len(),
                other.data.len()
            )));
        }
        Ok(())
    }

    fn map2(&self, other: &Rows, f: impl Fn(f32, f32) -> f32) -> Result<Rows> {
        self.same_size(other)?;
        let data = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(&a, &b)| f(a, b))
            .collect();
        Ok(Rows {
            data,
            cols: self.cols,
        })
    }
}

/// A weight matrix: quantized blocks read by our kernels, or f32 (dequantized; any other format).
pub enum Weight {
    /// `id`: the matrix's place in load order (see [`super::share`]).
    Quant { q: Arc<QMatrix>, id: usize },
    /// `(out, in)` f32 through candle's matrix product.
    F32(Tensor),
}

/// One block's keys and values, `(positions, n_kv_head·head_dim)` each.
#[derive(Clone)]
pub struct KvCache {
    k: Vec<f32>,
    v: Vec<f32>,
    width: usize,
}

/// Our ops on the host CPU.
pub struct Cpu {
    /// Keep weights as f32 instead of quantized blocks: more memory, faster batched passes.
    dequantize: bool,
    /// Rope's cos and sin `(ROPE_CHUNK, head_dim/2)` each per chunk of positions, made when a
    /// sequence first reaches it (Gemma's 32k context would take 67 MB and a third of a second
    /// at load); then the sliding-window layers' own, when the model has them.
    rope: Vec<Vec<OnceLock<(Vec<f32>, Vec<f32>)>>>,
    /// The model's shape: heads, context, rope (its tables are made from it; NEOX pairs
    /// dimension `i` with `i + head_dim/2`), the attention's scale.
    cfg: Config,
    /// The matrices by id, and the browser's co-worker.
    pub shared: Shared,
}

impl Cpu {
    /// Quantized weights, read as stored (the interactive path).
    pub fn new(cfg: &Config) -> Result<Self> {
        Self::build(cfg, false)
    }

    /// Weights dequantized to f32 once: ~4× the memory, but long prompts run through f32 matrix
    /// products, several times faster than quantized ones (used for corpus extraction).
    pub fn new_f32(cfg: &Config) -> Result<Self> {
        Self::build(cfg, true)
    }

    fn build(cfg: &Config, dequantize: bool) -> Result<Self> {
        let chunks = || {
            (0..cfg.context.div_ceil(ROPE_CHUNK))
                .map(|_| OnceLock::new())
                .collect()
        };
        let rope = match cfg.sliding {
            Some(_) => vec![chunks(), chunks()],
            None => vec![chunks()],
        };
        Ok(Self {
            dequantize,
            rope,
            cfg: cfg.clone(),
            shared: Shared::default(),
        })
    }

    /// `x · wᵀ`; `xq` holds `x` quantized, made on first use (f32 weights don't need it), so
    /// products of the same input can share it.
    fn product(&self, x: &Rows, w: &Weight, xq: &OnceCell<Vec<Q8>>) -> Result<Rows> {
        match w {
            Weight::Quant { q, id } => Ok(Rows {
                data: self
                    .shared
                    .product(q, *id, &x.data, xq.get_or_init(|| quantize(x))),
                cols: q.rows,
            }),
            Weight::F32(w) => {
                let xt = Tensor::from_slice(&x.data, (x.n(), x.cols), &Device::Cpu)?;
                let y = xt.matmul(&w.t()?)?;
                let cols = y.dim(1)?;
                Ok(Rows {
                    data: y.flatten_all()?.to_vec1()?,
                    cols,
                })
            }
        }
    }
}

/// `(g / (1 + e^{arg(g)})) · u` for each gate `g` and `u`: SiLU's gate with `arg(g) = −g`,
/// GELU's with `−2z` (below); the exponentials over the whole row at once.
fn sigmoid_gate(gate: &Rows, up: &Rows, arg: impl Fn(f32) -> f32) -> Result<Rows> {
    gate.same_size(up)?;
    let mut e: Vec<f32> = gate.data.iter().map(|&g| arg(g)).collect();
    exp_in_place(&mut e);
    // The gate g / (1 + e), rounded, then times u: in place, one buffer.
    for ((e, g), u) in e.iter_mut().zip(&gate.data).zip(&up.data) {
        *e = g / (1.0 + *e) * u;
    }
    Ok(Rows {
        data: e,
        cols: gate.cols,
    })
}

/// GELU's tanh approximation, as Gemma and llama.cpp use it: `0.5·v·(1 + tanh(z))`, written
/// as `v·sigmoid(2z)` (the same function) with one `exp`, a third of `tanh`'s cost: the
/// argument of that `exp`, `−2z`.
fn gelu_arg(v: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    -2.0 * (SQRT_2_OVER_PI * v * (1.0 + 0.044_715 * v * v))
}

fn quantize(x: &Rows) -> Vec<Q8> {
    x.data.chunks_exact(x.cols).map(Q8::new).collect()
}

impl Backend for Cpu {
    type Tensor = Rows;
    type Matrix = Weight;
    type Cache = KvCache;
    type Pending = Vec<f32>; // nothing to wait for on the host

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn matrix(&self, w: QWeight) -> Result<Weight> {
        if !self.dequantize {
            if let Some(q) = QMatrix::new(&w)? {
                let q = Arc::new(q);
                let id = self.shared.register(&q);
                return Ok(Weight::Quant { q, id });
            }
        }
        let values = w.dequantize();
        Ok(Weight::F32(Tensor::from_vec(
            values,
            w.shape(),
            &Device::Cpu,
        )?))
    }

    /// Each piece repacked as it comes and appended (a repacked matrix is 8-row groups one
    /// after the other), so the stored matrix is never held whole.
    fn matrix_in_pieces(&self, mut pieces: Pieces<'_>) -> Result<Weight> {
        if self.dequantize || matches!(pieces.dtype, DType::F32 | DType::F16) {
            return self.matrix(pieces.join()?);
        }
        let Some(first) = pieces.next_piece()? else {
            return Err(Error::Model("a matrix of no rows".into()));
        };
        let Some(mut q) = QMatrix::new(&first)? else {
            return Err(Error::Model(format!("no kernel for {:?}", pieces.dtype)));
        };
        drop(first);
        q.reserve_rows(pieces.shape.0);
        while let Some(w) = pieces.next_piece()? {
            if let Some(more) = QMatrix::new(&w)? {
                q.append(more)?;
            }
        }
        if q.rows != pieces.shape.0 {
            return Err(Error::Model(format!(
                "a matrix of {} rows read as {}",
                pieces.shape.0, q.rows
            )));
        }
        let q = Arc::new(q);
        let id = self.shared.register(&q);
        Ok(Weight::Quant { q, id })
    }

    fn tensor(&self, values: &[f32], rows: usize, cols: usize) -> Result<Rows> {
        if cols == 0 || values.len() != rows * cols {
            return Err(Error::Tensor(format!(
                "{} values do not make a ({rows}, {cols}) matrix",
                values.len()
            )));
        }
        Ok(Rows {
            data: values.to_vec(),
            cols,
        })
    }

    fn cache(&self) -> Result<KvCache> {
        let width = self.cfg.n_kv_head * self.cfg.head_dim;
        Ok(KvCache {
            k: Vec::new(),
            v: Vec::new(),
            width,
        })
    }

    fn cache_len(&self, cache: &KvCache) -> usize {
        cache.k.len() / cache.width
    }

    fn truncate(&self, cache: &mut KvCache, len: usize) {
        let n = len.min(self.cache_len(cache)) * cache.width;
        cache.k.truncate(n);
        cache.v.truncate(n);
    }

    fn embed(&self, table: &Weight, ids: &[u32]) -> Result<Rows> {
        match table {
            Weight::Quant { q, .. } => Ok(Rows {
                data: ids
                    .iter()
                    .flat_map(|&i| q.dequantize_row(i as usize))
                    .collect(),
                cols: q.cols,
            }),
            Weight::F32(w) => {
                let rows = w.embedding(&Tensor::from_slice(ids, ids.len(), &Device::Cpu)?)?;
                let cols = rows.dim(1)?;
                Ok(Rows {
                    data: rows.flatten_all()?.to_vec1()?,
                    cols,
                })
            }
        }
    }

    fn rms_norm(&self, x: &Rows, w: &Rows, eps: f32) -> Result<Rows> {
        let mut data = Vec::with_capacity(x.data.len());
        for row in x.data.chunks_exact(x.cols) {
            let sum2 = crate::numerics::sum_sq(row);
            let m = (sum2 / x.cols as f32 + eps).sqrt();
            data.extend(row.iter().zip(&w.data).map(|(v, g)| v / m * g));
        }
        Ok(Rows { data, cols: x.cols })
    }

    fn qmatmul(&self, x: &Rows, w: &Weight) -> Result<Rows> {
        self.product(x, w, &OnceCell::new())
    }

    fn qkv(&self, h: &Rows, w: [&Weight; 3]) -> Result<(Rows, Rows, Rows)> {
        let hq = OnceCell::new(); // quantized once for the three products
        Ok((
            self.product(h, w[0], &hq)?,
            self.product(h, w[1], &hq)?,
            self.product(h, w[2], &hq)?,
        ))
    }

    fn swiglu(&self, h: &Rows, gate: &Weight, up: &Weight) -> Result<Rows> {
        let hq = OnceCell::new(); // quantized once for both products
        self.silu_mul(&self.product(h, gate, &hq)?, &self.product(h, up, &hq)?)
    }

    fn rope(&self, x: &Rows, heads: usize, pos: usize, local: bool) -> Result<Rows> {
        let Some(table) = self.rope.get(usize::from(local)) else {
            return Err(Error::Tensor(
                "rope: the model has no sliding-window layers".into(),
            ));
        };
        let (t, half) = (x.n(), self.cfg.head_dim / 2);
        if pos + t > self.cfg.context {
            return Err(Error::Prompt(format!(
                "positions {pos}..{} pass the context of {} tokens",
                pos + t,
                self.cfg.context
            )));
        }
        let mut data = x.data.clone();
        for (i, row) in data.chunks_exact_mut(x.cols).enumerate() {
            let (chunk, at) = ((pos + i) / ROPE_CHUNK, (pos + i) % ROPE_CHUNK * half);
            let (cos, sin) = table[chunk].get_or_init(|| {
                let from = chunk * ROPE_CHUNK;
                let to = (from + ROPE_CHUNK).min(self.cfg.context);
                rope_rows(&self.cfg, local, from..to)
            });
            let (cos, sin) = (&cos[at..at + half], &sin[at..at + half]);
            for head in row.chunks_exact_mut(self.cfg.head_dim).take(heads) {
                if self.cfg.rope_neox {
                    let (lo, hi) = head.split_at_mut(half);
                    for ((a, b), (c, s)) in lo.iter_mut().zip(hi).zip(cos.iter().zip(sin)) {
                        (*a, *b) = (*a * c - *b * s, *a * s + *b * c);
                    }
                    continue;
                }
                for (p, (c, s)) in head.chunks_exact_mut(2).zip(cos.iter().zip(sin)) {
                    let (a, b) = (p[0], p[1]);
                    p[0] = a * c - b * s;
                    p[1] = a * s + b * c;
                }
            }
        }
        Ok(Rows { data, cols: x.cols })
    }

    fn attention(
        &self,
        q: &Rows,
        k: &Rows,
        v: &Rows,
        cache: &mut KvCache,
        window: Option<usize>,
    ) -> Result<Rows> {
        let (t, hd) = (q.n(), self.cfg.head_dim);
        if k.cols != cache.width || v.cols != cache.width || q.cols != self.cfg.n_head * hd {
            return Err(Error::Tensor(
                "attention: q, k, v widths do not fit the model".into(),
            ));
        }
        let room = (cache.k.len() + k.data.len()).div_ceil(CACHE_CHUNK * cache.width)
            * (CACHE_CHUNK * cache.width);
        for (c, new) in [(&mut cache.k, &k.data), (&mut cache.v, &v.data)] {
            c.reserve_exact(room - c.len());
            c.extend_from_slice(new);
        }
        let pos = self.cache_len(cache) - t;
        let mut out = vec![0.0f32; t * q.cols];
        let heads = Heads {
            n_head: self.cfg.n_head,
            n_kv_head: self.cfg.n_kv_head,
            head_dim: hd,
            scale: self.cfg.attn_scale,
        };
        let past = Past {
            k: &cache.k,
            v: &cache.v,
            width: cache.width,
        };
        // Natively, a prompt's rows are spread over the pool.
        attend(
            heads,
            &q.data,
            &past,
            pos,
            window,
            &mut out,
            |o, size, f| each_chunk(o, size, t > 1, f),
        );
        Ok(Rows {
            data: out,
            cols: q.cols,
        })
    }

    fn silu_mul(&self, gate: &Rows, up: &Rows) -> Result<Rows> {
        sigmoid_gate(gate, up, |g| -g)
    }

    fn gelu_mul(&self, gate: &Rows, up: &Rows) -> Result<Rows> {
        sigmoid_gate(gate, up, gelu_arg)
    }

    fn geglu(&self, h: &Rows, gate: &Weight, up: &Weight) -> Result<Rows> {
        let hq = OnceCell::new(); // quantized once for both products
        self.gelu_mul(&self.product(h, gate, &hq)?, &self.product(h, up, &hq)?)
    }

    fn head_norm(&self, x: &Rows, w: &Rows, eps: f32) -> Result<Rows> {
        if w.data.len() != self.cfg.head_dim || !x.cols.is_multiple_of(self.cfg.head_dim) {
            return Err(Error::Tensor(
                "head_norm: widths do not fit the heads".into(),
            ));
        }
        let heads = Rows {
            data: x.data.clone(),
            cols: self.cfg.head_dim,
        };
        let data = self.rms_norm(&heads, w, eps)?.data;
        Ok(Rows { data, cols: x.cols })
    }

    fn scale(&self, x: &Rows, s: f32) -> Result<Rows> {
        let data = x.data.iter().map(|v| v * s).collect();
        Ok(Rows { data, cols: x.cols })
    }

    fn add(&self, a: &Rows, b: &Rows) -> Result<Rows> {
        a.map2(b, |x, y| x + y)
    }

    fn add_scaled(&self, x: &Rows, v: &Rows, alpha: f32) -> Result<Rows> {
        if v.data.len() != x.cols {
            return Err(Error::Tensor(
                "add_scaled: the vector's width is not the rows'".into(),
            ));
        }
        let mut data = x.data.clone();
        for row in data.chunks_exact_mut(x.cols) {
            for (a, b) in row.iter_mut().zip(&v.data) {
                *a += b * alpha;
            }
        }
        Ok(Rows { data, cols: x.cols })
    }

    fn project(&self, x: &Rows, basis: &Rows) -> Result<Rows> {
        if basis.cols != x.cols {
            return Err(Error::Tensor(
                "project: the basis width is not the rows'".into(),
            ));
        }
        let data = x
            .data
            .chunks_exact(x.cols)
            .flat_map(|r| basis.data.chunks_exact(basis.cols).map(move |b| dot(r, b)))
            .collect();
        Ok(Rows {
            data,
            cols: basis.n(),
        })
    }

    fn argmax(&self, x: &Rows) -> Result<Rows> {
        let (mut best, mut at) = (f32::NAN, 0usize);
        for (i, &v) in x.data.iter().enumerate() {
            if !v.is_nan() && (best.is_nan() || v > best) {
                (best, at) = (v, i);
            }
        }
        Ok(Rows {
            data: vec![at as f32],
            cols: 1,
        })
    }

    fn last_row(&self, x: &Rows) -> Result<Rows> {
        let start = x.data.len().saturating_sub(x.cols);
        Ok(Rows {
            data: x.data[start..].to_vec(),
            cols: x.cols,
        })
    }

    fn read_start(&self, x: &Rows) -> Result<Vec<f32>> {
        Ok(x.data.clone())
    }

    fn read_finish(&self, pending: Vec<f32>) -> Result<Vec<f32>> {
        Ok(pending)
    }
}

/// Runs `f` on each `size`-long chunk of `buf` with its index, over rayon's pool when
/// `parallel`.
#[cfg(not(target_arch = "wasm32"))]
fn each_chunk(
    buf: &mut [f32],
    size: usize,
    parallel: bool,
    f: impl Fn((usize, &mut [f32])) + Sync + Send,
) {
    use rayon::prelude::*;
    if parallel {
        buf.par_chunks_mut(size).enumerate().for_each(f);
    } else {
        buf.chunks_mut(size).enumerate().for_each(f);
    }
}

/// The browser's build runs every chunk on the calling thread.
#[cfg(target_arch = "wasm32")]
fn each_chunk(buf: &mut [f32], size: usize, _parallel: bool, f: impl Fn((usize, &mut [f32]))) {
    buf.chunks_mut(size).enumerate().for_each(f);
}
