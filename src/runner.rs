//! `Runner`: the engine on the GPU when there is one and on the CPU otherwise, with its hooks
//! and the reply under way. When the GPU fails (no adapter, a kernel rejected, the device lost
//! mid-reply) it moves to the CPU, says why in [`Runner::fallback`], and finishes the reply.
//!
//! Each call records work and returns; [`Runner::finish`] reads its results. Natively `finish`
//! waits for the device; in the browser the page awaits [`Runner::when_ready`] in between, so
//! the worker never blocks. The CLI and the wasm engine both drive generation through here.

use crate::backend::cpu::Cpu;
#[cfg(feature = "gpu")]
use crate::backend::gpu::Gpu;
use crate::error::{Error, Result};
#[cfg(feature = "gpu")]
use crate::gguf::ModelFile;
use crate::hooks::{Capture, Captures, HookSet};
use crate::model::Recorded;
use crate::session::{Engine, Generation, Sampler, Step};

/// The engine on one backend (one lives per runner, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
pub enum Model {
    Cpu(Engine<Cpu>),
    #[cfg(feature = "gpu")]
    Gpu(Engine<Gpu>),
}

/// Work recorded on one backend, its results not yet read.
enum Work {
    Cpu(Vec<Recorded<Cpu>>),
    #[cfg(feature = "gpu")]
    Gpu(Vec<Recorded<Gpu>>),
}

/// What [`Runner::finish`] completes.
enum Pending {
    Nothing,
    Prompt {
        ids: Vec<u32>,
        sampler: Sampler,
        max_tokens: usize,
        work: Work,
    },
    Token {
        id: u32,
        text: String,
        work: Option<Work>,
        /// Whether more tokens follow (the pass's logits are kept for them).
        more: bool,
    },
}

/// One engine, its hooks, and at most one reply under way.
pub struct Runner {
    pub model: Model,
    /// The model file, kept while on the GPU to rebuild the engine on the CPU.
    bytes: Option<Vec<u8>>,
    hooks: HookSet,
    /// Why the GPU was left for the CPU, once it was.
    pub fallback: Option<String>,
    pub generation: Option<Generation>,
    pending: Pending,
}

/// Runs `$body` with `$e` bound to the engine of whichever backend `$model` is on.
macro_rules! with_engine {
    ($model:expr, $e:ident => $body:expr) => {
        match $model {
            Model::Cpu($e) => $body,
            #[cfg(feature = "gpu")]
            Model::Gpu($e) => $body,
        }
    };
}

impl Runner {
    /// The model file on the CPU.
    pub fn cpu(bytes: &[u8]) -> Result<Self> {
        Ok(Self::with(Model::Cpu(crate::load_cpu(bytes)?), None))
    }

    /// The model (`file`, parsed from `bytes`) on `gpu` when there is one, else on the CPU
    /// with the reason kept in [`Runner::fallback`].
    #[cfg(feature = "gpu")]
    pub fn gpu(file: ModelFile, bytes: Vec<u8>, gpu: Result<Gpu>) -> Result<Self> {
        match gpu.and_then(|g| Engine::new(file, g)) {
            Ok(engine) => Ok(Self::with(Model::Gpu(engine), Some(bytes))),
            Err(e @ Error::Gpu(_)) => {
                let mut r = Self::cpu(&bytes)?;
                r.fallback = Some(e.to_string());
                Ok(r)
            }
            Err(e) => Err(e),
        }
    }

    fn with(model: Model, bytes: Option<Vec<u8>>) -> Self {
        Self {
            model,
            bytes,
            hooks: HookSet::new(),
            fallback: None,
            generation: None,
            pending: Pending::Nothing,
        }
    }

    /// The model file on the GPU (natively, blocking), or on the CPU when that fails.
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    pub fn gpu_native(bytes: Vec<u8>) -> Result<Self> {
        let file = ModelFile::from_bytes(&bytes)?;
        let gpu = Gpu::new(&file.config);
        Self::gpu(file, bytes, gpu)
    }

    /// The backend running the model: "cpu" or "webgpu".
    pub fn name(&self) -> &'static str {
        use crate::backend::Backend;
        with_engine!(&self.model, e => e.model.backend.name())
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> &crate::tokenizer::Tokenizer {
        with_engine!(&self.model, e => &e.tokenizer)
    }

    /// The model's shape.
    pub fn config(&self) -> &crate::Config {
        with_engine!(&self.model, e => &e.model.config)
    }

    /// Tokenizes a prompt, refusing an empty or over-long one.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        with_engine!(&self.model, e => e.encode_prompt(text))
    }

    /// Sets the hooks of every later pass (checked first; on error nothing changes).
    pub fn set_hooks(&mut self, hooks: HookSet) -> Result<()> {
        with_engine!(&mut self.model, e => e.model.set_hooks(&hooks))?;
        self.hooks = hooks;
        Ok(())
    }

    /// Starts a reply after `ids`: records the prompt's passes. Then [`Runner::finish`].
    pub fn start(&mut self, ids: Vec<u32>, sampler: &Sampler, max_tokens: usize) -> Result<()> {
        sampler.validate()?;
        self.generation = None;
        self.pending = Pending::Nothing;
        let work = self.guard(|r| r.prefill(&ids))?;
        self.pending = Pending::Prompt {
            ids,
            sampler: sampler.clone(),
            max_tokens,
            work,
        };
        Ok(())
    }

    /// Samples the next token and records its pass; `false` once the reply is over. Then
    /// [`Runner::finish`] gives the token with its captures.
    pub fn step(&mut self) -> Result<bool> {
        let Some(mut g) = self.generation.take() else {
            return Ok(false);
        };
        let sampled = with_engine!(&mut self.model, e => e.sample(&mut g));
        let more = g.wants_forward();
        // The last token runs too when hooks read the stream, so it has its readout.
        let wants = more || (self.hooks.reads() && g.has_room());
        self.generation = Some(g);
        let Some((id, text)) = sampled? else {
            return Ok(false);
        };
        let work = if wants {
            Some(self.guard(|r| r.record_token(id))?)
        } else {
            None
        };
        self.pending = Pending::Token {
            id,
            text,
            work,
            more,
        };
        Ok(true)
    }

    /// Resolves when [`Runner::finish`] can read without waiting for the device (or a map
    /// failed, and `finish` moves to the CPU); borrows nothing, so the browser can await it.
    pub fn when_ready(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
        #[cfg(feature = "gpu")]
        if let Model::Gpu(e) = &self.model {
            return Box::pin(e.model.backend.when_ready());
        }
        Box::pin(std::future::ready(()))
    }

    /// Reads what [`Runner::start`] or [`Runner::step`] recorded: `None` after `start`
    /// (the reply is ready to step), the token after `step`.
    pub fn finish(&mut self) -> Result<Option<Step>> {
        match std::mem::replace(&mut self.pending, Pending::Nothing) {
            Pending::Nothing => Ok(None),
            Pending::Prompt {
                ids,
                sampler,
                max_tokens,
                work,
            } => {
                let fwd = match self.read(work) {
                    Err(e @ Error::Gpu(_)) => self.rerun_on_cpu(e, &ids)?,
                    other => other?,
                };
                self.generation = Some(Generation::new(ids, fwd, &sampler, max_tokens));
                Ok(None)
            }
            Pending::Token {
                id,
                text,
                work,
                more,
            } => {
                let mut captures = Captures::default();
                if let Some(work) = work {
                    let fwd = match self.read(work) {
                        Err(e @ Error::Gpu(_)) => {
                            // The whole sequence so far, on the CPU: its last position is ours.
                            let ids = self.generation.as_ref().map(|g| g.ids.clone());
                            let mut f = self.rerun_on_cpu(e, &ids.unwrap_or_default())?;
                            f.captures = last_rows(f.captures);
                            f
                        }
                        other => other?,
                    };
                    if let Some(g) = self.generation.as_mut().filter(|_| more) {
                        g.next_logits = Some(fwd.logits);
                    }
                    captures = fwd.captures;
                }
                Ok(Some(Step { id, text, captures }))
            }
        }
    }

    /// `start` then `finish`, waiting for the device (native callers).
    pub fn start_now(&mut self, ids: Vec<u32>, sampler: &Sampler, max_tokens: usize) -> Result<()> {
        self.start(ids, sampler, max_tokens)?;
        self.finish().map(|_| ())
    }

    /// `step` then `finish`: the next token, or `None` once the reply is over.
    pub fn step_now(&mut self) -> Result<Option<Step>> {
        if !self.step()? {
            return Ok(None);
        }
        self.finish()
    }

    /// Runs `f`; a GPU failure moves the engine to the CPU and runs `f` again there.
    fn guard<T>(&mut self, f: impl Fn(&mut Self) -> Result<T>) -> Result<T> {
        match f(self) {
            Err(e @ Error::Gpu(_)) => {
                self.move_to_cpu(e)?;
                f(self)
            }
            other => other,
        }
    }

    fn prefill(&mut self, ids: &[u32]) -> Result<Work> {
        Ok(match &mut self.model {
            Model::Cpu(e) => Work::Cpu(e.prefill(ids)?),
            #[cfg(feature = "gpu")]
            Model::Gpu(e) => {
                let work = e.prefill(ids)?;
                e.model.backend.flush()?;
                Work::Gpu(work)
            }
        })
    }

    fn record_token(&mut self, id: u32) -> Result<Work> {
        Ok(match &mut self.model {
            Model::Cpu(e) => Work::Cpu(vec![e.model.record(&[id], false)?]),
            #[cfg(feature = "gpu")]
            Model::Gpu(e) => {
                let work = e.model.record(&[id], false)?;
                e.model.backend.flush()?;
                Work::Gpu(vec![work])
            }
        })
    }

    fn read(&mut self, work: Work) -> Result<crate::model::Forward> {
        match (&self.model, work) {
            (Model::Cpu(e), Work::Cpu(w)) => e.prefilled(w),
            #[cfg(feature = "gpu")]
            (Model::Gpu(e), Work::Gpu(w)) => e.prefilled(w),
            #[cfg(feature = "gpu")]
            _ => Err(Error::Gpu("work recorded on another backend".into())),
        }
    }

    /// After `why`, moves to the CPU and runs `ids` there from an empty cache.
    fn rerun_on_cpu(&mut self, why: Error, ids: &[u32]) -> Result<crate::model::Forward> {
        self.move_to_cpu(why)?;
        let work = self.prefill(ids)?;
        self.read(work)
    }

    /// Rebuilds the engine on the CPU after `why`, with the same hooks.
    fn move_to_cpu(&mut self, why: Error) -> Result<()> {
        let Some(bytes) = self.bytes.take() else {
            return Err(why);
        };
        let mut engine = crate::load_cpu(&bytes)?;
        engine.model.set_hooks(&self.hooks)?;
        self.model = Model::Cpu(engine);
        self.fallback = Some(format!("{why}; finishing on the CPU"));
        Ok(())
    }
}

/// Each capture cut to its last row.
fn last_rows(c: Captures) -> Captures {
    Captures {
        entries: c
            .entries
            .into_iter()
            .map(|e| Capture {
                point: e.point,
                cols: e.cols,
                values: e.values[e.values.len().saturating_sub(e.cols)..].to_vec(),
            })
            .collect(),
    }
}
