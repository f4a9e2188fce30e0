//! [`AnyBackend`]: the CPU or the GPU chosen at run time, itself a [`Backend`], so the forward
//! loop and the session above it are written once and never name a backend. The `gpu` feature
//! is seen here and in the modules below only: built without it, [`AnyBackend`] is the CPU and
//! asking for the GPU is an [`Error::Gpu`].
//!
//! Each op passes its operands to the backend they were made on; tensors of one model are made
//! by one backend, so a mismatch is a bug and says so rather than panicking.

use super::cpu::Cpu;
#[cfg(feature = "gpu")]
use super::gpu::Gpu;
use super::{Backend, Block, GpuCounts, Pieces, QWeight};
use crate::error::{Error, Result};
use crate::gguf::Config;

/// The backend a model runs on (one per model, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
pub enum AnyBackend {
    Cpu(Cpu),
    #[cfg(feature = "gpu")]
    Gpu(Gpu),
}

/// A value made by one backend: a tensor, matrix, cache or pending read.
pub enum On<C, G> {
    Cpu(C),
    #[cfg(feature = "gpu")]
    Gpu(G),
    #[doc(hidden)]
    #[cfg(not(feature = "gpu"))]
    _Unused(std::marker::PhantomData<G>, std::convert::Infallible),
}

impl<C: Clone, G: Clone> Clone for On<C, G> {
    fn clone(&self) -> Self {
        match self {
            On::Cpu(c) => On::Cpu(c.clone()),
            #[cfg(feature = "gpu")]
            On::Gpu(g) => On::Gpu(g.clone()),
            #[cfg(not(feature = "gpu"))]
            On::_Unused(_, never) => match *never {},
        }
    }
}

/// A copy of a cache on the CPU (a second sequence from the same prefix); the GPU's caches are
/// not copied (an error).
pub fn copy_cache(c: &Cache) -> Result<Cache> {
    Ok(On::Cpu(c.cpu()?.clone()))
}

fn mismatch() -> Error {
    Error::Gpu("a tensor made on one backend was handed to another".into())
}

impl<C, G> On<C, G> {
    fn cpu(&self) -> Result<&C> {
        match self {
            On::Cpu(c) => Ok(c),
            #[allow(unreachable_patterns)]
            _ => Err(mismatch()),
        }
    }
    fn cpu_mut(&mut self) -> Result<&mut C> {
        match self {
            On::Cpu(c) => Ok(c),
            #[allow(unreachable_patterns)]
            _ => Err(mismatch()),
        }
    }
    fn into_cpu(self) -> Result<C> {
        match self {
            On::Cpu(c) => Ok(c),
            #[allow(unreachable_patterns)]
            _ => Err(mismatch()),
        }
    }
    #[cfg(feature = "gpu")]
    fn gpu(&self) -> Result<&G> {
        match self {
            On::Gpu(g) => Ok(g),
            _ => Err(mismatch()),
        }
    }
    #[cfg(feature = "gpu")]
    fn gpu_mut(&mut self) -> Result<&mut G> {
        match self {
            On::Gpu(g) => Ok(g),
            _ => Err(mismatch()),
        }
    }
    #[cfg(feature = "gpu")]
    fn into_gpu(self) -> Result<G> {
        match self {
            On::Gpu(g) => Ok(g),
            _ => Err(mismatch()),
        }
    }
}

/// The GPU's types; without the GPU, `()` stands in for them (no value of them is ever made).
#[cfg(feature = "gpu")]
mod gpu_types {
    use super::{Backend, Gpu};
    pub type Tensor = <Gpu as Backend>::Tensor;
    pub type Matrix = <Gpu as Backend>::Matrix;
    pub type Cache = <Gpu as Backend>::Cache;
    pub type Pending = <Gpu as Backend>::Pending;
}
#[cfg(not(feature = "gpu"))]
mod gpu_types {
    pub type Tensor = ();
    pub type Matrix = ();
    pub type Cache = ();
    pub type Pending = ();
}

/// Runs `$body` with `$b` the backend and `$k` the module of helpers for its side: `$k::W`
/// wraps a value made there; `$k::t`, `m`, `c` (`cl` shared) and `p` unwrap a tensor, matrix,
/// cache and pending read made there.
macro_rules! each {
    ($self:expr, $b:ident, $k:ident => $body:expr) => {
        match $self {
            AnyBackend::Cpu($b) => {
                use self::side_cpu as $k;
                $body
            }
            #[cfg(feature = "gpu")]
            AnyBackend::Gpu($b) => {
                use self::side_gpu as $k;
                $body
            }
        }
    };
}

/// The helpers of one side for [`each!`].
macro_rules! side {
    ($m:ident, $B:ty, $V:ident, $get:ident, $get_mut:ident, $into:ident) => {
        mod $m {
            use super::*;
            pub use On::$V as W;
            pub fn t(x: &Tensor) -> Result<&<$B as Backend>::Tensor> {
                x.$get()
            }
            pub fn m(x: &Matrix) -> Result<&<$B as Backend>::Matrix> {
                x.$get()
            }
            pub fn c(x: &mut Cache) -> Result<&mut <$B as Backend>::Cache> {
                x.$get_mut()
            }
            pub fn cl(x: &Cache) -> Result<&<$B as Backend>::Cache> {
                x.$get()
            }
            pub fn p(x: Pending) -> Result<<$B as Backend>::Pending> {
                x.$into()
            }
        }
    };
}
side!(side_cpu, Cpu, Cpu, cpu, cpu_mut, into_cpu);
#[cfg(feature = "gpu")]
side!(side_gpu, Gpu, Gpu, gpu, gpu_mut, into_gpu);

pub type Tensor = On<<Cpu as Backend>::Tensor, gpu_types::Tensor>;
pub type Matrix = On<<Cpu as Backend>::Matrix, gpu_types::Matrix>;
pub type Cache = On<<Cpu as Backend>::Cache, gpu_types::Cache>;
pub type Pending = On<<Cpu as Backend>::Pending, gpu_types::Pending>;

impl AnyBackend {
    /// The CPU backend for a model of shape `cfg`.
    pub fn cpu(cfg: &Config) -> Result<Self> {
        Ok(Self::Cpu(Cpu::new(cfg)?))
    }

    /// The GPU backend (natively, blocking): an [`Error::Gpu`] when there is no usable adapter
    /// or the build has no GPU.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu(cfg: &Config) -> Result<Self> {
        #[cfg(feature = "gpu")]
        return Ok(Self::Gpu(Gpu::new(cfg)?));
        #[cfg(not(feature = "gpu"))]
        {
            let _ = cfg;
            Err(Error::Gpu("this build has no GPU backend".into()))
        }
    }

    /// The browser's WebGPU backend: an [`Error::Gpu`] when there is no usable adapter.
    #[cfg(target_arch = "wasm32")]
    pub async fn webgpu(cfg: &Config) -> Result<Self> {
        #[cfg(feature = "gpu")]
        return Ok(Self::Gpu(Gpu::create(cfg).await?));
        #[cfg(not(feature = "gpu"))]
        {
            let _ = cfg;
            Err(Error::Gpu("this build has no WebGPU backend".into()))
        }
    }

    /// Whether this is the GPU.
    pub fn is_gpu(&self) -> bool {
        !matches!(self, Self::Cpu(_))
    }

    /// A description of the device (the GPU adapter, or "cpu").
    pub fn adapter(&self) -> String {
        match self {
            Self::Cpu(_) => "cpu".into(),
            #[cfg(feature = "gpu")]
            Self::Gpu(g) => g.adapter.clone(),
        }
    }

    /// The work sent to the GPU so far (`None` on the CPU).
    pub fn gpu_counts(&self) -> Option<GpuCounts> {
        match self {
            Self::Cpu(_) => None,
            #[cfg(feature = "gpu")]
            Self::Gpu(g) => Some(g.counts()),
        }
    }

    /// Submits the work recorded so far (the GPU runs it while the caller goes on).
    pub fn flush(&self) -> Result<()> {
        match self {
            Self::Cpu(_) => Ok(()),
            #[cfg(feature = "gpu")]
            Self::Gpu(g) => g.flush(),
        }
    }

    /// Resolves when the submitted work can be read without waiting (at once on the CPU).
    pub fn when_ready(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
        match self {
            Self::Cpu(_) => Box::pin(std::future::ready(())),
            #[cfg(feature = "gpu")]
            Self::Gpu(g) => Box::pin(g.when_ready()),
        }
    }

    /// Destroys the GPU device as a lost one would be (nothing on the CPU).
    pub fn lose_device(&self) {
        #[cfg(feature = "gpu")]
        if let Self::Gpu(g) = self {
            g.destroy();
        }
    }

    /// Whether this is a real GPU, not the CPU or a CPU emulating a GPU (lavapipe, SwiftShader).
    pub fn real_gpu(&self) -> bool {
        match self {
            Self::Cpu(_) => false,
            #[cfg(feature = "gpu")]
            Self::Gpu(g) => !g.emulated,
        }
    }

    /// Says whether the GPU is a CPU emulating one (see [`AnyBackend::real_gpu`]); nothing on
    /// the CPU.
    pub fn set_emulated(&mut self, on: bool) {
        #[cfg(feature = "gpu")]
        if let Self::Gpu(g) = self {
            g.set_emulated(on);
        }
        #[cfg(not(feature = "gpu"))]
        let _ = on;
    }

    /// Whether this backend holds an open GPU device (false on the CPU and once destroyed).
    pub fn gpu_live(&self) -> bool {
        match self {
            Self::Cpu(_) => false,
            #[cfg(feature = "gpu")]
            Self::Gpu(g) => g.is_live(),
        }
    }

    /// GPU devices open in this process, whichever backend holds them (0 without the `gpu`
    /// feature): after a session leaves the GPU, 0 unless something still holds one.
    pub fn live_gpu_devices() -> usize {
        #[cfg(feature = "gpu")]
        return super::gpu::live_devices();
        #[cfg(not(feature = "gpu"))]
        0
    }

    /// Shares large single-row products with a co-worker thread (CPU only; `None` stops
    /// sharing). Returns whether it will be used.
    #[cfg(target_arch = "wasm32")]
    pub fn set_co_worker(&self, co: Option<Box<dyn super::share::CoWorker>>) -> bool {
        match self {
            Self::Cpu(c) => {
                let on = co.is_some();
                c.shared.set(co);
                on
            }
            #[cfg(feature = "gpu")]
            Self::Gpu(_) => false,
        }
    }
}

impl Backend for AnyBackend {
    type Tensor = Tensor;
    type Matrix = Matrix;
    type Cache = Cache;
    type Pending = Pending;

    fn name(&self) -> &'static str {
        match self {
            Self::Cpu(b) => b.name(),
            #[cfg(feature = "gpu")]
            Self::Gpu(b) => b.name(),
        }
    }
    fn matrix(&self, w: QWeight) -> Result<Matrix> {
        each!(self, b, k => Ok(k::W(b.matrix(w)?)))
    }
    fn matrix_in_pieces(&self, pieces: Pieces<'_>) -> Result<Matrix> {
        each!(self, b, k => Ok(k::W(b.matrix_in_pieces(pieces)?)))
    }
    fn tensor(&self, values: &[f32], rows: usize, cols: usize) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.tensor(values, rows, cols)?)))
    }
    fn cache(&self) -> Result<Cache> {
        each!(self, b, k => Ok(k::W(b.cache()?)))
    }
    fn cache_len(&self, cache: &Cache) -> usize {
        each!(self, b, k => k::cl(cache).map_or(0, |c| b.cache_len(c)))
    }
    fn truncate(&self, cache: &mut Cache, len: usize) {
        each!(self, b, k => if let Ok(c) = k::c(cache) { b.truncate(c, len) })
    }
    fn embed(&self, table: &Matrix, ids: &[u32]) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.embed(k::m(table)?, ids)?)))
    }
    fn embed_chosen(&self, table: &Matrix, chosen: &Tensor) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.embed_chosen(k::m(table)?, k::t(chosen)?)?)))
    }
    fn rms_norm(&self, x: &Tensor, w: &Tensor, eps: f32) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.rms_norm(k::t(x)?, k::t(w)?, eps)?)))
    }
    fn add_rms_norm(
        &self,
        a: &Tensor,
        x: &Tensor,
        w: &Tensor,
        eps: f32,
    ) -> Result<(Tensor, Tensor)> {
        each!(self, b, k => {
            let (s, n) = b.add_rms_norm(k::t(a)?, k::t(x)?, k::t(w)?, eps)?;
            Ok((k::W(s), k::W(n)))
        })
    }
    fn qmatmul(&self, x: &Tensor, w: &Matrix) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.qmatmul(k::t(x)?, k::m(w)?)?)))
    }
    fn rope(&self, x: &Tensor, heads: usize, pos: usize, local: bool) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.rope(k::t(x)?, heads, pos, local)?)))
    }
    fn attention(
        &self,
        q: &Tensor,
        kk: &Tensor,
        v: &Tensor,
        cache: &mut Cache,
        window: Option<usize>,
    ) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.attention(k::t(q)?, k::t(kk)?, k::t(v)?, k::c(cache)?, window)?)))
    }
    fn silu_mul(&self, gate: &Tensor, up: &Tensor) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.silu_mul(k::t(gate)?, k::t(up)?)?)))
    }
    fn gelu_mul(&self, gate: &Tensor, up: &Tensor) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.gelu_mul(k::t(gate)?, k::t(up)?)?)))
    }
    fn geglu(&self, h: &Tensor, gate: &Matrix, up: &Matrix) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.geglu(k::t(h)?, k::m(gate)?, k::m(up)?)?)))
    }
    fn head_norm(&self, x: &Tensor, w: &Tensor, eps: f32) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.head_norm(k::t(x)?, k::t(w)?, eps)?)))
    }
    fn scale(&self, x: &Tensor, s: f32) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.scale(k::t(x)?, s)?)))
    }
    fn swiglu(&self, h: &Tensor, gate: &Matrix, up: &Matrix) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.swiglu(k::t(h)?, k::m(gate)?, k::m(up)?)?)))
    }
    fn qkv(&self, h: &Tensor, w: [&Matrix; 3]) -> Result<(Tensor, Tensor, Tensor)> {
        each!(self, b, k => {
            let (q, kk, v) = b.qkv(k::t(h)?, [k::m(w[0])?, k::m(w[1])?, k::m(w[2])?])?;
            Ok((k::W(q), k::W(kk), k::W(v)))
        })
    }
    fn block(
        &self,
        x: &Tensor,
        w: &Block<Self>,
        cache: &mut Cache,
        c: &Config,
        pos: usize,
    ) -> Result<Tensor> {
        each!(self, b, k => {
            let w = Block {
                attn_norm: k::t(w.attn_norm)?,
                wq: k::m(w.wq)?,
                wk: k::m(w.wk)?,
                wv: k::m(w.wv)?,
                wo: k::m(w.wo)?,
                ffn_norm: k::t(w.ffn_norm)?,
                w_gate: k::m(w.w_gate)?,
                w_up: k::m(w.w_up)?,
                w_down: k::m(w.w_down)?,
                qkv_bias: match w.qkv_bias {
                    Some([q, kk, v]) => Some([k::t(q)?, k::t(kk)?, k::t(v)?]),
                    None => None,
                },
                qk_norm: match w.qk_norm {
                    Some([q, kk]) => Some([k::t(q)?, k::t(kk)?]),
                    None => None,
                },
                post_norms: match w.post_norms {
                    Some([a, f]) => Some([k::t(a)?, k::t(f)?]),
                    None => None,
                },
                layer: w.layer,
            };
            Ok(k::W(b.block(k::t(x)?, &w, k::c(cache)?, c, pos)?))
        })
    }
    fn norm_qmatmul(&self, x: &Tensor, w_norm: &Tensor, eps: f32, m: &Matrix) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.norm_qmatmul(k::t(x)?, k::t(w_norm)?, eps, k::m(m)?)?)))
    }
    fn add(&self, a: &Tensor, x: &Tensor) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.add(k::t(a)?, k::t(x)?)?)))
    }
    fn add_scaled(&self, x: &Tensor, v: &Tensor, alpha: f32) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.add_scaled(k::t(x)?, k::t(v)?, alpha)?)))
    }
    fn project(&self, x: &Tensor, basis: &Tensor) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.project(k::t(x)?, k::t(basis)?)?)))
    }
    fn argmax(&self, x: &Tensor) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.argmax(k::t(x)?)?)))
    }
    fn sample(
        &self,
        x: &Tensor,
        recent: Option<&Tensor>,
        g: crate::sampler::Gumbel,
    ) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.sample(
            k::t(x)?,
            recent.map(k::t).transpose()?,
            g,
        )?)))
    }
    fn last_row(&self, x: &Tensor) -> Result<Tensor> {
        each!(self, b, k => Ok(k::W(b.last_row(k::t(x)?)?)))
    }
    fn read_start(&self, x: &Tensor) -> Result<Pending> {
        each!(self, b, k => Ok(k::W(b.read_start(k::t(x)?)?)))
    }
    fn read_finish(&self, pending: Pending) -> Result<Vec<f32>> {
        each!(self, b, k => b.read_finish(k::p(pending)?))
    }
}
