//! The CPU backend: candle tensors for activations; our Q4_1 matrix product
//! ([`super::quant`]) and candle's for the Q8_0 token table.

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::kv_cache::KvCache;

use super::quant::QMatrix;
use super::{rope_tables, Backend};
use crate::error::Result;
use crate::gguf::Config;

/// Positions a cache grows by; it starts this large and grows as needed up to the context.
const CACHE_CHUNK: usize = 512;

/// candle on the host CPU.
pub struct Cpu {
    /// Keep weights as f32 instead of quantized blocks: more memory, faster batched passes.
    dequantize: bool,
    cos: Tensor, // (context, head_dim/2)
    sin: Tensor, // (context, head_dim/2)
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
}

impl Cpu {
    /// Quantized weights, read as stored (the interactive path).
    pub fn new(cfg: &Config) -> Result<Self> {
        Self::build(cfg, false)
    }

    /// Weights dequantized to f32 once: ~4× the memory, but long prompts run through f32 matrix
    /// products, several times faster than candle's Q4_1 path (used for corpus extraction).
    pub fn new_f32(cfg: &Config) -> Result<Self> {
        Self::build(cfg, true)
    }

    fn build(cfg: &Config, dequantize: bool) -> Result<Self> {
        let half = cfg.head_dim / 2;
        let (cos, sin) = rope_tables(cfg);
        Ok(Self {
            dequantize,
            cos: Tensor::from_vec(cos, (cfg.context, half), &Device::Cpu)?,
            sin: Tensor::from_vec(sin, (cfg.context, half), &Device::Cpu)?,
            n_head: cfg.n_head,
            n_kv_head: cfg.n_kv_head,
            head_dim: cfg.head_dim,
        })
    }
}

/// A weight matrix: left to candle, or (Q4_1 in the browser) repacked for our kernel.
pub enum Weight {
    Candle(QMatMul),
    /// Candle's wasm build has no SIMD Q4_1 kernel and, like ours, quantizes activations to
    /// Q8_1 for every product there; ours keeps the Q8_1 scales in f32 instead of f16.
    Ours(QMatrix),
}

impl Backend for Cpu {
    type Tensor = Tensor;
    type Matrix = Weight;
    type Cache = KvCache; // k, v: (n_kv_head, positions, head_dim)
    type Pending = Vec<f32>; // nothing to wait for on the host

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn matrix(&self, w: QTensor) -> Result<Weight> {
        if self.dequantize {
            return Ok(Weight::Candle(QMatMul::Tensor(w.dequantize(&Device::Cpu)?)));
        }
        // Ours everywhere: bit-identical on every CPU and in the browser, and the GPU kernels
        // do the same arithmetic, so all backends pick the same greedy tokens.
        if let Some(q) = QMatrix::new(&w)? {
            return Ok(Weight::Ours(q));
        }
        Ok(Weight::Candle(QMatMul::from_qtensor(w)?))
    }

    fn tensor(&self, values: &[f32], rows: usize, cols: usize) -> Result<Tensor> {
        Ok(Tensor::from_slice(values, (rows, cols), &Device::Cpu)?)
    }

    fn cache(&self) -> Result<KvCache> {
        Ok(KvCache::new(1, CACHE_CHUNK))
    }

    fn cache_len(&self, cache: &KvCache) -> usize {
        cache.current_seq_len()
    }

    fn embed(&self, table: &Weight, ids: &[u32]) -> Result<Tensor> {
        match table {
            Weight::Candle(m) => {
                Ok(m.embedding(&Tensor::from_slice(ids, ids.len(), &Device::Cpu)?)?)
            }
            Weight::Ours(q) => {
                let rows: Vec<f32> = ids
                    .iter()
                    .flat_map(|&i| q.dequantize_row(i as usize))
                    .collect();
                Ok(Tensor::from_vec(rows, (ids.len(), q.cols), &Device::Cpu)?)
            }
        }
    }

    fn rms_norm(&self, x: &Tensor, w: &Tensor, eps: f32) -> Result<Tensor> {
        Ok(candle_nn::ops::rms_norm(x, &w.flatten_all()?, eps)?)
    }

    fn qmatmul(&self, x: &Tensor, w: &Weight) -> Result<Tensor> {
        match w {
            Weight::Ours(q) => {
                let t = x.dim(0)?;
                let xs: Vec<f32> = x.flatten_all()?.to_vec1()?;
                Ok(Tensor::from_vec(
                    q.matmul(&xs, t),
                    (t, q.rows),
                    &Device::Cpu,
                )?)
            }
            Weight::Candle(m) => Ok(m.forward(x)?),
        }
    }

    fn rope(&self, x: &Tensor, heads: usize, pos: usize) -> Result<Tensor> {
        let t = x.dim(0)?;
        let half = self.head_dim / 2;
        // Each position is its own "batch" so the flat (T, heads*hd) layout needs no copy.
        let cos = self.cos.narrow(0, pos, t)?.reshape((t, 1, half))?;
        let sin = self.sin.narrow(0, pos, t)?.reshape((t, 1, half))?;
        let y =
            candle_nn::rotary_emb::rope_i(&x.reshape((t, heads, 1, self.head_dim))?, &cos, &sin)?;
        Ok(y.reshape((t, heads * self.head_dim))?)
    }

    fn attention(&self, q: &Tensor, k: &Tensor, v: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let (t, hd, kv, rep) = (
            q.dim(0)?,
            self.head_dim,
            self.n_kv_head,
            self.n_head / self.n_kv_head,
        );
        let heads_first =
            |x: &Tensor, h: usize| x.reshape((t, h, hd))?.transpose(0, 1)?.contiguous();
        let (k_all, v_all) = cache.append(&heads_first(k, kv)?, &heads_first(v, kv)?)?;
        let s = k_all.dim(1)?;
        let pos = s - t;
        // Query heads h = g*rep + r share kv head g: group them so no key or value is copied.
        let q = heads_first(q, self.n_head)?.reshape((kv, rep * t, hd))?;
        let scores = (q.matmul(&k_all.t()?)? / (hd as f64).sqrt())?; // (kv, rep*t, s)
        let scores = if t > 1 {
            let mask: Vec<f32> = (0..t)
                .flat_map(|i| {
                    (0..s).map(move |j| if j <= pos + i { 0.0 } else { f32::NEG_INFINITY })
                })
                .collect();
            let mask = Tensor::from_vec(mask, (t, s), &Device::Cpu)?;
            scores
                .reshape((kv, rep, t, s))?
                .broadcast_add(&mask)?
                .reshape((kv, rep * t, s))?
        } else {
            scores
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let y = probs.matmul(&v_all.contiguous()?)?; // (kv, rep*t, hd)
        Ok(y.reshape((self.n_head, t, hd))?
            .transpose(0, 1)?
            .reshape((t, self.n_head * hd))?)
    }

    fn silu_mul(&self, gate: &Tensor, up: &Tensor) -> Result<Tensor> {
        Ok((gate.silu()? * up)?)
    }

    fn add(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok((a + b)?)
    }

    fn add_scaled(&self, x: &Tensor, v: &Tensor, alpha: f32) -> Result<Tensor> {
        Ok(x.broadcast_add(&(v * alpha as f64)?)?)
    }

    fn project(&self, x: &Tensor, basis: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&basis.t()?)?)
    }

    fn last_row(&self, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(0)?;
        Ok(x.narrow(0, t - 1, 1)?)
    }

    fn read_start(&self, x: &Tensor) -> Result<Vec<f32>> {
        Ok(x.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?)
    }

    fn read_finish(&self, pending: Vec<f32>) -> Result<Vec<f32>> {
        Ok(pending)
    }
}
