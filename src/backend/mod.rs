//! The op-level interface the forward loop is written against, and its implementations.
//!
//! One forward loop ([`crate::model::Llama`]) runs on every backend; a backend only
//! supplies the ops below. [`AnyBackend`] is the one chosen at run time (the CPU, or the GPU with
//! the `gpu` feature): the rest of the crate names no other and never sees the feature. Activations are row-major matrices `(T, cols)` of f32.

pub mod any;
pub mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod quant;
pub mod share;
pub mod weight;

pub use weight::{DType, Nibbles, Pieces, QWeight};

use crate::error::Result;

use crate::gguf::{Act, Config};
use crate::numerics::{powf, sin_cos};
pub use any::AnyBackend;

/// The ops of one forward pass. Shapes: `T` positions, `d` model width.
pub trait Backend {
    /// Activations `(rows, cols)` f32 on the device.
    type Tensor: Clone;
    /// A weight matrix `(out, in)` in its stored (quantized) form.
    type Matrix;
    /// One block's key/value cache.
    type Cache;
    /// A read from the device under way (see [`Backend::read_start`]).
    type Pending;

    /// Short name shown to people ("cpu", "webgpu").
    fn name(&self) -> &'static str;
    /// Uploads a stored weight matrix `(out, in)`.
    fn matrix(&self, w: QWeight) -> Result<Self::Matrix>;
    /// The same from a matrix read in pieces; by default they are joined first.
    fn matrix_in_pieces(&self, pieces: Pieces<'_>) -> Result<Self::Matrix> {
        self.matrix(pieces.join()?)
    }
    /// Uploads `values` as a `(rows, cols)` matrix.
    fn tensor(&self, values: &[f32], rows: usize, cols: usize) -> Result<Self::Tensor>;
    /// An empty key/value cache for one block.
    fn cache(&self) -> Result<Self::Cache>;
    /// Number of positions held in a cache.
    fn cache_len(&self, cache: &Self::Cache) -> usize;

    /// Keeps the first `len` positions of a cache (no more than it holds): passes recorded
    /// ahead past the end of a reply are dropped.
    fn truncate(&self, cache: &mut Self::Cache, len: usize);

    /// Rows `ids` of `table (vocab, d)` → `(T, d)`.
    fn embed(&self, table: &Self::Matrix, ids: &[u32]) -> Result<Self::Tensor>;
    /// The row of `table (vocab, d)` at the id held in `chosen (1, 1)`, an [`Backend::argmax`]
    /// result → `(1, d)`. On a GPU the id never leaves the device: the next pass is recorded
    /// before the last one's choice is read back.
    fn embed_chosen(&self, table: &Self::Matrix, chosen: &Self::Tensor) -> Result<Self::Tensor> {
        match self.read(chosen)?[..] {
            [v] if v >= 0.0 && v.fract() == 0.0 => self.embed(table, &[v as u32]),
            _ => Err(crate::error::Error::Tensor(
                "embed_chosen: the choice is not one token id".into(),
            )),
        }
    }
    /// `x (T, d)` scaled to unit RMS, times `w (1, d)`.
    fn rms_norm(&self, x: &Self::Tensor, w: &Self::Tensor, eps: f32) -> Result<Self::Tensor>;
    /// The residual add and the next norm: `(a + b, rms_norm(a + b) · w)`. A backend may fuse
    /// it; the results must equal the two ops'.
    fn add_rms_norm(
        &self,
        a: &Self::Tensor,
        b: &Self::Tensor,
        w: &Self::Tensor,
        eps: f32,
    ) -> Result<(Self::Tensor, Self::Tensor)> {
        let sum = self.add(a, b)?;
        let normed = self.rms_norm(&sum, w, eps)?;
        Ok((sum, normed))
    }
    /// `x (T, in) · wᵀ` → `(T, out)`.
    fn qmatmul(&self, x: &Self::Tensor, w: &Self::Matrix) -> Result<Self::Tensor>;
    /// Rotary position embedding of `x (T, heads*head_dim)`; row `t` is at position `pos + t`.
    /// `local`: with a sliding-window layer's rope base ([`Config::sliding`]).
    fn rope(&self, x: &Self::Tensor, heads: usize, pos: usize, local: bool)
        -> Result<Self::Tensor>;
    /// Causal grouped-query attention of `q (T, n_head*hd)` over the cache after appending
    /// `k, v (T, n_kv_head*hd)`; returns `(T, n_head*hd)`. With a `window`, each position
    /// attends to the last `window` positions only (itself included).
    fn attention(
        &self,
        q: &Self::Tensor,
        k: &Self::Tensor,
        v: &Self::Tensor,
        cache: &mut Self::Cache,
        window: Option<usize>,
    ) -> Result<Self::Tensor>;
    /// `silu(gate) * up`, both `(T, d_ff)`.
    fn silu_mul(&self, gate: &Self::Tensor, up: &Self::Tensor) -> Result<Self::Tensor>;
    /// `gelu(gate) * up` (GELU's tanh approximation), both `(T, d_ff)`. Only a backend that
    /// runs Gemma has it.
    fn gelu_mul(&self, _gate: &Self::Tensor, _up: &Self::Tensor) -> Result<Self::Tensor> {
        Err(unsupported("GELU"))
    }
    /// The FFN's input half with GELU: `gelu(h · gateᵀ) * (h · upᵀ)`.
    fn geglu(
        &self,
        h: &Self::Tensor,
        gate: &Self::Matrix,
        up: &Self::Matrix,
    ) -> Result<Self::Tensor> {
        self.gelu_mul(&self.qmatmul(h, gate)?, &self.qmatmul(h, up)?)
    }
    /// `x (T, heads*hd)` with each head RMS-normed and times `w (1, hd)`. Only a backend that
    /// runs Gemma has it.
    fn head_norm(&self, _x: &Self::Tensor, _w: &Self::Tensor, _eps: f32) -> Result<Self::Tensor> {
        Err(unsupported("per-head norms"))
    }
    /// `x · s`. Only a backend that runs Gemma has it.
    fn scale(&self, _x: &Self::Tensor, _s: f32) -> Result<Self::Tensor> {
        Err(unsupported("scaling"))
    }
    /// The FFN's input half: `silu(h · gateᵀ) * (h · upᵀ)`, `h (T, d)` → `(T, d_ff)`. A
    /// backend may fuse it; the result must equal the three ops'.
    fn swiglu(
        &self,
        h: &Self::Tensor,
        gate: &Self::Matrix,
        up: &Self::Matrix,
    ) -> Result<Self::Tensor> {
        self.silu_mul(&self.qmatmul(h, gate)?, &self.qmatmul(h, up)?)
    }
    /// The attention's three products of one input: `h · wᵀ` for `w` in `[q, k, v]`. A backend
    /// may share work between them; the results must equal three `qmatmul`s'.
    fn qkv(
        &self,
        h: &Self::Tensor,
        w: [&Self::Matrix; 3],
    ) -> Result<(Self::Tensor, Self::Tensor, Self::Tensor)> {
        Ok((
            self.qmatmul(h, w[0])?,
            self.qmatmul(h, w[1])?,
            self.qmatmul(h, w[2])?,
        ))
    }
    /// One transformer block of `x (T, d)` at positions `pos..`: `x` plus the attention's output,
    /// plus the FFN's; the cache grows by `T`. A backend may fuse its ops (a GPU runs one token's
    /// block in four dispatches); the result must equal [`block_by_ops`]'.
    fn block(
        &self,
        x: &Self::Tensor,
        w: &Block<Self>,
        cache: &mut Self::Cache,
        c: &Config,
        pos: usize,
    ) -> Result<Self::Tensor>
    where
        Self: Sized,
    {
        block_by_ops(self, x, w, cache, c, pos)
    }
    /// The logits: `rms_norm(x) · w_norm`, times `m (out, d)`ᵀ. A backend may fuse them; the
    /// result must equal the two ops'.
    fn norm_qmatmul(
        &self,
        x: &Self::Tensor,
        w_norm: &Self::Tensor,
        eps: f32,
        m: &Self::Matrix,
    ) -> Result<Self::Tensor> {
        self.qmatmul(&self.rms_norm(x, w_norm, eps)?, m)
    }
    /// `a + b`, same shape.
    fn add(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `x (T, d) + alpha * v (1, d)` on every row.
    fn add_scaled(&self, x: &Self::Tensor, v: &Self::Tensor, alpha: f32) -> Result<Self::Tensor>;
    /// `x (T, d) · basisᵀ` with `basis (n, d)` → `(T, n)`.
    fn project(&self, x: &Self::Tensor, basis: &Self::Tensor) -> Result<Self::Tensor>;
    /// The index of the largest value of `x (1, c)` as `(1, 1)`: the first of equal values; NaN
    /// never wins (a row of NaN gives 0). The greedy choice made where the logits are, so only
    /// the id is read back.
    fn argmax(&self, x: &Self::Tensor) -> Result<Self::Tensor>;
    /// The index of a token drawn from one row by `g` (see [`crate::sampler::Gumbel`]), as one
    /// value like [`Backend::argmax`]'s. With a repeat penalty, `recent` is an earlier draw's
    /// result or the host's slots ([`crate::sampler::Gumbel::recent`]), and the result carries
    /// them on with its own id. Only a device that chooses tokens itself has it.
    fn sample(
        &self,
        _x: &Self::Tensor,
        _recent: Option<&Self::Tensor>,
        _g: crate::sampler::Gumbel,
    ) -> Result<Self::Tensor> {
        Err(crate::error::Error::Tensor(
            "this backend leaves sampling to the host".into(),
        ))
    }
    /// The last row of `x (T, c)` → `(1, c)`.
    fn last_row(&self, x: &Self::Tensor) -> Result<Self::Tensor>;
    /// Starts copying `x` back to the host. Reads started in one forward pass finish
    /// together, so a GPU pass is submitted and read back once.
    fn read_start(&self, x: &Self::Tensor) -> Result<Self::Pending>;
    /// The values of a started read, row-major (waits for the device where it must).
    fn read_finish(&self, pending: Self::Pending) -> Result<Vec<f32>>;
    /// Copies `x` back to the host, row-major.
    fn read(&self, x: &Self::Tensor) -> Result<Vec<f32>> {
        let pending = self.read_start(x)?;
        self.read_finish(pending)
    }
}

/// One block's weights on a backend, as [`Backend::block`] takes them.
pub struct Block<'a, B: Backend> {
    pub attn_norm: &'a B::Tensor, // (1, d)
    pub wq: &'a B::Matrix,        // (n_head*hd, d)
    pub wk: &'a B::Matrix,        // (n_kv_head*hd, d)
    pub wv: &'a B::Matrix,        // (n_kv_head*hd, d)
    pub wo: &'a B::Matrix,        // (d, n_head*hd)
    pub ffn_norm: &'a B::Tensor,  // (1, d)
    pub w_gate: &'a B::Matrix,    // (d_ff, d)
    pub w_up: &'a B::Matrix,      // (d_ff, d)
    pub w_down: &'a B::Matrix,    // (d, d_ff)
    /// The q, k, v biases `(1, width)`, when the model has them (qwen2).
    pub qkv_bias: Option<[&'a B::Tensor; 3]>,
    /// The per-head q and k norms `(1, hd)`, when the model has them (Gemma 3).
    pub qk_norm: Option<[&'a B::Tensor; 2]>,
    /// The attention's and the FFN's output norms `(1, d)`, when the model has them (Gemma 3).
    pub post_norms: Option<[&'a B::Tensor; 2]>,
    /// The block's index: whether it is a sliding-window layer ([`Config::is_local`]).
    pub layer: usize,
}

/// An op the backend does not have (it runs llama and qwen2 only).
fn unsupported(what: &str) -> crate::error::Error {
    crate::error::Error::Tensor(format!("{what}: this backend runs llama and qwen2 only"))
}

/// [`Backend::block`] op by op: norm, q/k/v (plus their biases, when the model has them), RoPE,
/// attention, output projection and residual add with the next norm, SwiGLU, down projection
/// and residual add. Gemma 3 adds per-head q/k norms before RoPE, norms of both outputs before
/// their adds, GELU for SiLU, and a sliding window in most layers.
pub fn block_by_ops<B: Backend>(
    be: &B,
    x: &B::Tensor,
    w: &Block<B>,
    cache: &mut B::Cache,
    c: &Config,
    pos: usize,
) -> Result<B::Tensor> {
    block_around(be, x, w, c, |q, k, v, local, window| {
        let (q, k) = (
            be.rope(&q, c.n_head, pos, local)?,
            be.rope(&k, c.n_kv_head, pos, local)?,
        );
        be.attention(&q, &k, &v, cache, window)
    })
}

/// The same block for several sequences at once, one token each: row `i` of `x (n, d)` is the
/// next token of the sequence whose block cache is `caches[i]`, at position `pos[i]`. Each row
/// gets the bits [`block_by_ops`] gives it alone where the backend's products and row-wise ops
/// compute each row as they would by itself (the CPU's quantized kernels do); the weights are
/// read once for all.
pub fn block_rows<B: Backend>(
    be: &B,
    x: &B::Tensor,
    w: &Block<B>,
    caches: &mut [&mut B::Cache],
    c: &Config,
    pos: &[usize],
) -> Result<B::Tensor> {
    let n = caches.len();
    if pos.len() != n {
        return Err(crate::error::Error::Tensor(format!(
            "{n} caches for {} positions",
            pos.len()
        )));
    }
    block_around(be, x, w, c, |q, k, v, local, window| {
        let (q, k, v) = (be.read(&q)?, be.read(&k)?, be.read(&v)?);
        let (wq, wk) = (q.len() / n.max(1), k.len() / n.max(1));
        let mut out = Vec::with_capacity(q.len());
        for (i, cache) in caches.iter_mut().enumerate() {
            let row = |h: &[f32], w: usize| be.tensor(&h[i * w..(i + 1) * w], 1, w);
            let qi = be.rope(&row(&q, wq)?, c.n_head, pos[i], local)?;
            let ki = be.rope(&row(&k, wk)?, c.n_kv_head, pos[i], local)?;
            out.extend(be.read(&be.attention(&qi, &ki, &row(&v, wk)?, cache, window)?)?);
        }
        be.tensor(&out, n, wq)
    })
}

/// A block's ops around its attention: `attend(q, k, v, local, window)` ropes q and k, appends
/// k and v to the cache and attends (one sequence, or one row per sequence).
fn block_around<B: Backend>(
    be: &B,
    x: &B::Tensor,
    w: &Block<B>,
    c: &Config,
    mut attend: impl FnMut(B::Tensor, B::Tensor, B::Tensor, bool, Option<usize>) -> Result<B::Tensor>,
) -> Result<B::Tensor> {
    let h = be.rms_norm(x, w.attn_norm, c.rms_eps)?;
    let (mut q, mut k, mut v) = be.qkv(&h, [w.wq, w.wk, w.wv])?;
    if let Some([bq, bk, bv]) = w.qkv_bias {
        (q, k, v) = (
            be.add_scaled(&q, bq, 1.0)?,
            be.add_scaled(&k, bk, 1.0)?,
            be.add_scaled(&v, bv, 1.0)?,
        );
    }
    if let Some([nq, nk]) = w.qk_norm {
        (q, k) = (
            be.head_norm(&q, nq, c.rms_eps)?,
            be.head_norm(&k, nk, c.rms_eps)?,
        );
    }
    let att = attend(q, k, v, c.is_local(w.layer), c.window(w.layer))?;
    let post = |y: B::Tensor, i: usize| match w.post_norms {
        Some(n) => be.rms_norm(&y, n[i], c.rms_eps),
        None => Ok(y),
    };
    let (x, h) = be.add_rms_norm(x, &post(be.qmatmul(&att, w.wo)?, 0)?, w.ffn_norm, c.rms_eps)?;
    let ff = match c.ffn_act {
        Act::Silu => be.swiglu(&h, w.w_gate, w.w_up)?,
        Act::GeluTanh => be.geglu(&h, w.w_gate, w.w_up)?,
    };
    be.add(&x, &post(be.qmatmul(&ff, w.w_down)?, 1)?)
}

/// Passes whose reads a backend keeps apart at once: a GPU session records this many greedy
/// steps (less the one being read) ahead of the device.
pub const PASSES_IN_FLIGHT: usize = 4;

/// Work sent to the GPU since its backend was made: what a decode step costs, counted
/// (`limbic bench --backend gpu --json` reports it per token).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuCounts {
    /// Kernel dispatches.
    pub dispatches: u64,
    /// Buffer-to-buffer copies (the key/value cache append, the last row, read-backs).
    pub copies: u64,
    /// Command buffers submitted to the queue.
    pub submits: u64,
    /// Bytes copied into staging buffers to be read back.
    pub readback_bytes: u64,
    /// Nanoseconds the host spent inside the driver's submit (natively; 0 in the browser).
    /// Mesa's lavapipe runs the queue on the CPU and blocks here until it has room.
    pub submit_ns: u64,
}

/// Threads a single decode row's work is split over natively: 1 unless `LIMBIC_THREADS` says
/// more (read once). On the 2-vCPU build machine a 2-way split of each product through
/// rayon's pool made decode ~12 % slower (waking the other thread ~150 times a token costs
/// more than half a 20–60 µs product saves); prompts always use the whole pool.
#[cfg(not(target_arch = "wasm32"))]
pub fn decode_threads() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("LIMBIC_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
            .clamp(1, 64)
    })
}

/// Rotary tables `(positions, head_dim/2)` for cos and sin of the whole context, as llama
/// computes them (each frequency divided by its factor when the file has `rope_freqs.weight`);
/// `local`: with the sliding-window layers' base.
pub fn rope_tables(cfg: &Config, local: bool) -> (Vec<f32>, Vec<f32>) {
    rope_rows(cfg, local, 0..cfg.context)
}

/// [`rope_tables`]' rows for `positions` only.
pub fn rope_rows(
    cfg: &Config,
    local: bool,
    positions: std::ops::Range<usize>,
) -> (Vec<f32>, Vec<f32>) {
    let base = match &cfg.sliding {
        Some(s) if local => s.rope_base,
        _ => cfg.rope_base,
    };
    let half = cfg.head_dim / 2;
    let mut cos = Vec::with_capacity(positions.len() * half);
    let mut sin = Vec::with_capacity(positions.len() * half);
    let freqs: Vec<f32> = (0..half)
        .map(|i| {
            let factor = cfg.rope_freq_factors.as_ref().map_or(1.0, |f| f[i]);
            1.0 / powf(base, 2.0 * i as f32 / cfg.head_dim as f32) / factor
        })
        .collect();
    for p in positions {
        for freq in &freqs {
            let (s, c) = sin_cos(p as f32 * freq);
            cos.push(c);
            sin.push(s);
        }
    }
    (cos, sin)
}
