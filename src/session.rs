//! [`Session`]: the model on its backend, its tokenizer, its hooks and readout, and at most one
//! reply under way. The CLI, the wasm engine, validation and the tests all generate through it.
//!
//! Each call records work and returns; [`Session::finish`] reads its results. Natively `finish`
//! waits for the device; in the browser the page awaits [`Session::when_ready`] in between, so
//! the worker never blocks. When the GPU fails (a kernel rejected, the device lost mid-reply)
//! the session moves to the CPU, says why in [`Session::fallback`], and finishes the reply.

use std::collections::VecDeque;

use crate::backend::any::{copy_cache, Cache};
use crate::backend::{AnyBackend, Backend, PASSES_IN_FLIGHT};
use crate::emotions::EmotionSet;
use crate::error::{Error, Result};
pub use crate::generation::{Generation, Step};
use crate::gguf::{Config, Header};
use crate::hooks::{Capture, Captures, HookSet};
use crate::model::{Forward, Llama, Logits, Recorded};
use crate::readout::Readout;
use crate::sampler::{DeviceChoice, Sampler};
use crate::tokenizer::Tokenizer;

/// Longest slice of a prompt run in one forward call (bounds the attention matrix).
const PREFILL_CHUNK: usize = 512;
/// Greedy passes recorded ahead of the one being read, on the device's own choices.
const AHEAD: usize = PASSES_IN_FLIGHT - 1;

/// Passes recorded on the device, their results not yet read.
type Work = Vec<Recorded<AnyBackend>>;

/// What [`Session::finish`] completes.
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
        /// Whether the pass reads back only the device's greedy choice.
        on_device: bool,
        /// Whether the work is the whole sequence again (after a move to the CPU).
        whole: bool,
    },
}

/// The model, its hooks and readout, and at most one reply under way.
pub struct Session {
    model: Llama<AnyBackend>,
    pub tokenizer: Tokenizer,
    /// The model file, kept while on the GPU to rebuild the model on the CPU.
    bytes: Option<Vec<u8>>,
    /// The page's or caller's hooks (steers, captures), and the readout read after them.
    hooks: HookSet,
    readout: Option<Readout>,
    /// Why the GPU was left for the CPU, once it was.
    pub fallback: Option<String>,
    pub generation: Option<Generation>,
    pending: Pending,
    /// Greedy passes on a GPU recorded ahead, in order: each runs the token the pass before
    /// it chose on the device, its id not yet read back (see [`Session::step`]).
    ahead: VecDeque<Recorded<AnyBackend>>,
    /// How many passes to record ahead (at most [`AHEAD`]; 0 reads each token first).
    ahead_max: usize,
}

impl Session {
    /// A model file on `backend`, its weights read from `reader` (its header already read)
    /// one matrix at a time ([`Llama::load`]).
    pub fn load<R: std::io::Read + std::io::Seek>(
        header: Header,
        reader: &mut R,
        backend: AnyBackend,
    ) -> Result<Self> {
        let tokenizer = Tokenizer::new(&header.vocab)?;
        let ahead_max = default_ahead(&backend);
        Ok(Self {
            model: Llama::load(header, reader, backend)?,
            tokenizer,
            bytes: None,
            hooks: HookSet::new(),
            readout: None,
            fallback: None,
            generation: None,
            pending: Pending::Nothing,
            ahead: VecDeque::new(),
            ahead_max,
        })
    }

    /// A model file read from `reader`, on the backend `make` gives for its config.
    pub fn from_reader<R: std::io::Read + std::io::Seek>(
        reader: &mut R,
        make: impl FnOnce(&Config) -> Result<AnyBackend>,
    ) -> Result<Self> {
        let header = Header::read(reader)?;
        let backend = make(&header.config)?;
        Self::load(header, reader, backend)
    }

    /// A model file held in memory, on the CPU.
    pub fn cpu(bytes: &[u8]) -> Result<Self> {
        Self::from_reader(&mut std::io::Cursor::new(bytes), AnyBackend::cpu)
    }

    /// A model file on disk, on the CPU (read as it is parsed, never whole in memory).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: &std::path::Path) -> Result<Self> {
        Self::from_reader(&mut crate::io::open_model(path)?, AnyBackend::cpu)
    }

    /// The model (`header`, read from `bytes`) on `gpu` when there is one, else on the CPU
    /// with the reason kept in [`Session::fallback`].
    pub fn gpu_or_cpu(header: Header, bytes: Vec<u8>, gpu: Result<AnyBackend>) -> Result<Self> {
        match gpu.and_then(|g| Self::load(header, &mut std::io::Cursor::new(&bytes), g)) {
            Ok(mut s) => {
                s.bytes = Some(bytes);
                Ok(s)
            }
            Err(e @ Error::Gpu(_)) => {
                let mut s = Self::cpu(&bytes)?;
                s.fallback = Some(e.to_string());
                Ok(s)
            }
            Err(e) => Err(e),
        }
    }

    /// The model file on the GPU (natively, blocking), or on the CPU when that fails.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu_native(bytes: Vec<u8>) -> Result<Self> {
        let header = Header::read(&mut std::io::Cursor::new(&bytes))?;
        let gpu = AnyBackend::gpu(&header.config);
        Self::gpu_or_cpu(header, bytes, gpu)
    }

    /// The backend running the model: "cpu" or "webgpu".
    pub fn backend_name(&self) -> &'static str {
        self.model.backend.name()
    }

    /// The backend (to flush, lose the device, attach a co-worker).
    pub fn backend(&self) -> &AnyBackend {
        &self.model.backend
    }

    /// The model's shape.
    pub fn config(&self) -> &Config {
        &self.model.config
    }

    /// The forward loop itself, for single passes outside a reply (tests, perplexity, logit lens).
    pub fn model(&mut self) -> &mut Llama<AnyBackend> {
        &mut self.model
    }

    /// The reply's whole sequence so far, prompt first (empty before a reply).
    pub fn ids(&self) -> &[u32] {
        self.generation.as_ref().map_or(&[], |g| &g.ids)
    }

    /// Tokenizes a prompt (BOS first when the model's tokenizer adds one) and checks it is
    /// neither empty nor longer than the context allows.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        if text.trim().is_empty() {
            return Err(Error::Prompt("the prompt is empty".into()));
        }
        let mut ids = self.tokenizer.encode(text)?;
        if self.tokenizer.add_bos {
            ids.insert(0, self.tokenizer.bos);
        }
        let ctx = self.model.config.context;
        if ids.len() >= ctx {
            return Err(Error::Prompt(format!(
                "the prompt has {} tokens; the context holds {ctx}",
                ids.len()
            )));
        }
        Ok(ids)
    }

    /// Sets the hooks of every later pass (checked first; on error nothing changes). The
    /// readout stays as it is and is not uploaded again.
    pub fn set_hooks(&mut self, hooks: HookSet) -> Result<()> {
        self.model.set_hooks(&hooks)?;
        self.hooks = hooks;
        Ok(())
    }

    /// Steers toward `(emotion, strength)` rows of `set` (at `layer`, or each emotion's own
    /// steering layers), replacing the hooks before: one check, one vector per layer steered.
    pub fn set_steers(
        &mut self,
        set: &EmotionSet,
        rows: &[(usize, f32)],
        layer: Option<usize>,
    ) -> Result<()> {
        self.set_hooks(set.steer_hooks(rows, layer)?)
    }

    /// Sets (or with `None` removes) the readout of every later pass; on error nothing changes.
    pub fn set_readout(&mut self, readout: Option<Readout>) -> Result<()> {
        self.model
            .set_readout(readout.as_ref().map(|r| (r.point(), &r.basis[..], r.n())))?;
        self.readout = readout;
        Ok(())
    }

    /// The readout set, if any.
    pub fn readout(&self) -> Option<&Readout> {
        self.readout.as_ref()
    }

    /// Readout scores `(T, n)` from a pass's captures (`None` without a readout).
    pub fn scores(&self, captures: &Captures) -> Option<Vec<f32>> {
        self.readout.as_ref()?.scores(captures)
    }

    /// Runs the whole of `ids` from an empty cache, in chunks so attention stays small, and
    /// waits for it: the last position's logits and the captures of every position.
    pub fn run(&mut self, ids: &[u32]) -> Result<Forward> {
        let work = self.guard(|s| s.prefill(ids))?;
        match self.read(work) {
            Err(e @ Error::Gpu(_)) => self.rerun_on_cpu(e, ids),
            other => other,
        }
    }

    /// Starts a reply after `ids`: records the prompt's passes. Then [`Session::finish`].
    pub fn start(&mut self, ids: Vec<u32>, sampler: &Sampler, max_tokens: usize) -> Result<()> {
        sampler.validate()?;
        if ids.is_empty() {
            return Err(Error::Prompt("nothing to run: no tokens".into()));
        }
        self.generation = None;
        self.pending = Pending::Nothing;
        self.ahead.clear();
        let work = self.guard(|s| s.prefill(&ids))?;
        self.pending = Pending::Prompt {
            ids,
            sampler: sampler.clone(),
            max_tokens,
            work,
        };
        Ok(())
    }

    /// Samples the next token and records its pass; `false` once the reply is over
    /// (end-of-turn token, `max_tokens`, or a full context). Then [`Session::finish`] gives the
    /// token with its captures.
    ///
    /// On a GPU the device chooses each token (see [`crate::sampler::Choice::on_device`]), and
    /// the passes of the next few are recorded at once on its choices (the embedding reads the
    /// id where the argmax wrote it), so the device never waits for the host: their ids are read
    /// back a few steps behind, and passes recorded past an end-of-turn token are dropped, their
    /// tokens never shown.
    pub fn step(&mut self) -> Result<bool> {
        let Some(mut g) = self.generation.take() else {
            return Ok(false);
        };
        let sampled = self.sample(&mut g);
        let more = g.wants_forward();
        // The last token runs too when something reads the stream, so it has its readout.
        let reads = self.hooks.reads() || self.readout.is_some();
        let ctx = self.model.config.context;
        let wants = g.pass_runs(g.generated().len().saturating_sub(1), reads, ctx);
        // On the GPU (every choice but a penalty over more recent tokens than it keeps): the
        // device picks the next token and only its id comes back.
        let device = g.choice.on_device().filter(|_| self.model.backend.is_gpu());
        let on_device = device.is_some();
        self.generation = Some(g);
        let Some((id, text)) = sampled? else {
            self.drop_ahead();
            return Ok(false);
        };
        let out = device_logits(device);
        let (mut work, mut on_device, mut whole) = (None, on_device, false);
        if wants {
            let ready = self.ahead.pop_front().filter(|_| on_device);
            let recorded = match ready {
                Some(rec) => Ok(vec![rec]),
                None => self.record(&[id], out),
            };
            work = Some(match recorded {
                Err(e @ Error::Gpu(_)) => {
                    // The whole sequence so far, on the CPU: its last position is this token's.
                    self.move_to_cpu(e)?;
                    (on_device, whole) = (false, true);
                    self.prefill(&self.ids().to_vec())?
                }
                other => other?,
            });
            if on_device {
                self.record_ahead(work.as_ref(), reads, out);
            }
        }
        self.pending = Pending::Token {
            id,
            text,
            work,
            more,
            on_device,
            whole,
        };
        Ok(true)
    }

    /// Sets how many greedy passes a GPU session records ahead of the one it reads (at most
    /// three; 0: each token is read back before the next pass is recorded, as a peer to time).
    /// By default three on a real GPU and none on a CPU emulating one (lavapipe, SwiftShader:
    /// its submit blocks until the queue has room, and recording ahead measured ~10 % slower).
    pub fn set_ahead(&mut self, n: usize) {
        self.ahead_max = n.min(AHEAD);
    }

    /// Says whether the GPU is a CPU emulating one, where the backend cannot tell (the
    /// browser's SwiftShader): its kernels' and [`Session::set_ahead`]'s defaults follow.
    pub fn set_emulated_gpu(&mut self, on: bool) {
        self.model.backend.set_emulated(on);
        self.ahead_max = default_ahead(&self.model.backend);
    }

    /// Greedy passes recorded ahead on the GPU (see [`Session::set_ahead`]).
    pub fn ahead(&self) -> usize {
        if self.model.backend.is_gpu() {
            self.ahead_max
        } else {
            0
        }
    }

    /// Tops up [`Session::ahead`] after `current`, the pass of the token just sampled: the
    /// passes of the tokens the device will choose next, as many as the reply can still want
    /// (the same rule as [`Session::step`]'s). A failure only stops the recording ahead.
    fn record_ahead(&mut self, current: Option<&Work>, reads: bool, out: Logits) {
        let Some(g) = &self.generation else { return };
        let (ctx, k) = (self.model.config.context, g.generated().len() - 1);
        while self.ahead.len() < self.ahead_max {
            if !g.pass_runs(k + 1 + self.ahead.len(), reads, ctx) {
                return;
            }
            let prev = self.ahead.back().or(current.and_then(|w| w.last()));
            let Some(chosen) = prev.and_then(|r| r.chosen.clone()) else {
                return;
            };
            let rec = self.model.record_chosen(&chosen, out);
            match rec.and_then(|r| self.model.backend.flush().map(|_| r)) {
                Ok(r) => self.ahead.push_back(r),
                Err(_) => return self.ahead.clear(),
            }
        }
    }

    /// Forgets the passes recorded ahead (the reply ended before them): the cache keeps the
    /// sequence's positions only.
    fn drop_ahead(&mut self) {
        if !self.ahead.is_empty() {
            self.ahead.clear();
            let n = self.ids().len();
            self.model.truncate(n);
        }
    }

    /// Resolves when [`Session::finish`] can read without waiting for the device (or a map
    /// failed, and `finish` moves to the CPU); borrows nothing, so the browser can await it.
    pub fn when_ready(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
        self.model.backend.when_ready()
    }

    /// Reads what [`Session::start`] or [`Session::step`] recorded: `None` after `start` (the
    /// reply is ready to step), the token after `step`.
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
                on_device,
                whole,
            } => {
                let mut captures = Captures::default();
                if let Some(work) = work {
                    let (fwd, chosen) = match self.read(work) {
                        Err(e @ Error::Gpu(_)) => {
                            // The whole sequence so far, on the CPU: its last position is ours.
                            let ids = self.generation.as_ref().map(|g| g.ids.clone());
                            let mut f = self.rerun_on_cpu(e, &ids.unwrap_or_default())?;
                            f.captures = last_rows(f.captures);
                            (f, false)
                        }
                        other => (other?, on_device),
                    };
                    let fwd = match whole {
                        true => Forward {
                            logits: fwd.logits,
                            captures: last_rows(fwd.captures),
                        },
                        false => fwd,
                    };
                    let vocab = self.model.config.vocab;
                    if let Some(g) = self.generation.as_mut().filter(|_| more) {
                        if chosen {
                            g.next_id = Some(device_choice(&fwd.logits, vocab)?);
                        } else {
                            g.next_logits = Some(fwd.logits);
                        }
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

    /// A whole reply after `ids`, waiting for the device: the ids generated.
    pub fn reply(
        &mut self,
        ids: Vec<u32>,
        sampler: &Sampler,
        max_tokens: usize,
    ) -> Result<Vec<u32>> {
        self.start_now(ids, sampler, max_tokens)?;
        while self.step_now()?.is_some() {}
        Ok(self
            .generation
            .as_ref()
            .map(|g| g.generated().to_vec())
            .unwrap_or_default())
    }

    /// Several whole replies at once on the CPU, one after each of `prompts` with the sampler
    /// beside it: `(the ids generated, their text)` each, the same tokens [`Session::reply`]
    /// gives one at a time for a quantized model (each prompt runs alone, then every reply's
    /// next token runs in one pass of all of them: [`Llama::forward_rows`]). With the hooks as
    /// set; captures are not kept. A sweep of many short replies runs faster this way; a GPU
    /// session refuses it.
    pub fn replies(
        &mut self,
        prompts: &[Vec<u32>],
        samplers: &[Sampler],
        max_tokens: usize,
    ) -> Result<Vec<(Vec<u32>, String)>> {
        if self.model.backend.is_gpu() {
            return Err(Error::Prompt(
                "replies at once run on the CPU only: reply one at a time".into(),
            ));
        }
        if prompts.len() != samplers.len() || prompts.iter().any(|p| p.is_empty()) {
            return Err(Error::Prompt(
                "replies: one sampler per prompt, and no empty prompt".into(),
            ));
        }
        self.generation = None;
        self.pending = Pending::Nothing;
        let mut gens = Vec::with_capacity(prompts.len());
        let mut caches: Vec<Vec<Cache>> = Vec::with_capacity(prompts.len());
        let mut firsts: Vec<Forward> = Vec::with_capacity(prompts.len());
        for (i, (ids, sampler)) in prompts.iter().zip(samplers).enumerate() {
            sampler.validate()?;
            // A prompt met before is not run again: its cache and logits are copied.
            let (fwd, cache) = match prompts[..i].iter().position(|p| p == ids) {
                Some(j) => (
                    firsts[j].clone(),
                    caches[j].iter().map(copy_cache).collect::<Result<_>>()?,
                ),
                None => {
                    let work = self.prefill(ids)?;
                    (self.read(work)?, self.model.take_caches()?)
                }
            };
            firsts.push(fwd.clone());
            gens.push(Generation::new(ids.clone(), fwd, sampler, max_tokens));
            caches.push(cache);
        }
        let mut texts = vec![String::new(); prompts.len()];
        let mut live: Vec<usize> = (0..prompts.len()).collect();
        let vocab = self.model.config.vocab;
        while !live.is_empty() {
            let (mut next, mut ids) = (Vec::new(), Vec::new());
            for &i in &live {
                if let Some((id, text)) = self.sample(&mut gens[i])? {
                    texts[i] += &text;
                    if gens[i].wants_forward() {
                        next.push(i);
                        ids.push(id);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            let mut batch: Vec<_> = next
                .iter()
                .map(|&i| std::mem::take(&mut caches[i]))
                .collect();
            let logits = self.model.forward_rows(&ids, &mut batch);
            for (&i, c) in next.iter().zip(batch) {
                caches[i] = c;
            }
            let logits = logits?;
            for (j, &i) in next.iter().enumerate() {
                gens[i].next_logits = Some(logits[j * vocab..(j + 1) * vocab].to_vec());
            }
            live = next;
        }
        Ok(gens
            .iter()
            .zip(texts)
            .map(|(g, t)| (g.generated().to_vec(), t))
            .collect())
    }

    /// Chooses the next token and appends it: `(id, its text)`, or `None` once the reply is
    /// over. The token still has to run through the model when [`Generation::wants_forward`].
    fn sample(&mut self, g: &mut Generation) -> Result<Option<(u32, String)>> {
        let id = match (g.next_id.take(), g.next_logits.take()) {
            (Some(id), _) => id,
            (None, Some(logits)) => g.choice.next(logits, &g.ids)?,
            (None, None) => return Ok(None),
        };
        if self.tokenizer.ends_reply(id) {
            return Ok(None);
        }
        g.ids.push(id);
        let text = g.stream.push(&self.tokenizer, id)?;
        g.room = g.ids.len() < self.model.config.context;
        Ok(Some((id, text)))
    }

    /// Runs `f`; a GPU failure moves the model to the CPU and runs `f` again there.
    fn guard<T>(&mut self, f: impl Fn(&mut Self) -> Result<T>) -> Result<T> {
        match f(self) {
            Err(e @ Error::Gpu(_)) => {
                self.move_to_cpu(e)?;
                f(self)
            }
            other => other,
        }
    }

    /// Records `ids` from an empty cache in chunks; the chunks extend the cache in order, so
    /// no chunk waits for one.
    fn prefill(&mut self, ids: &[u32]) -> Result<Work> {
        if ids.is_empty() {
            return Err(Error::Prompt("nothing to run: no tokens".into()));
        }
        self.model.reset()?;
        let work = ids
            .chunks(PREFILL_CHUNK)
            .map(|chunk| self.model.record(chunk, Logits::Last))
            .collect::<Result<_>>()?;
        self.model.backend.flush()?;
        Ok(work)
    }

    /// Records one pass of `ids` after the cached positions.
    /// (A device's draw with a repeat penalty reads the reply's recent tokens, `ids` last.)
    fn record(&mut self, ids: &[u32], out: Logits) -> Result<Work> {
        if let Some(slots) = match out {
            Logits::Sample(g) => g.recent(self.ids()),
            _ => None,
        } {
            self.model.set_recent(&slots)?;
        }
        let work = vec![self.model.record(ids, out)?];
        self.model.backend.flush()?;
        Ok(work)
    }

    /// The results of recorded passes: the last logits, every position's captures.
    fn read(&self, work: Work) -> Result<Forward> {
        let mut captures = Captures::default();
        let mut logits = Vec::new();
        for rec in work {
            let fwd = self.model.finish(rec)?;
            captures.append(fwd.captures);
            logits = fwd.logits;
        }
        Ok(Forward { logits, captures })
    }

    /// After `why`, moves to the CPU and runs `ids` there from an empty cache.
    fn rerun_on_cpu(&mut self, why: Error, ids: &[u32]) -> Result<Forward> {
        self.move_to_cpu(why)?;
        let work = self.prefill(ids)?;
        self.read(work)
    }

    /// Rebuilds the model on the CPU after `why`, with the same hooks and readout.
    fn move_to_cpu(&mut self, why: Error) -> Result<()> {
        let Some(bytes) = self.bytes.take() else {
            return Err(why);
        };
        let mut reader = std::io::Cursor::new(&bytes);
        let header = Header::read(&mut reader)?;
        let mut model = Llama::load(header, &mut reader, AnyBackend::cpu(&self.model.config)?)?;
        model.set_hooks(&self.hooks)?;
        if let Some(r) = &self.readout {
            model.set_readout(Some((r.point(), &r.basis, r.n())))?;
        }
        self.model.backend.lose_device();
        self.ahead.clear();
        self.model = model;
        self.fallback = Some(format!("{why}; finishing on the CPU"));
        Ok(())
    }
}

/// Passes recorded ahead by default: none on a CPU emulating a GPU, which blocks in each submit,
/// so recording ahead only costs there.
fn default_ahead(backend: &AnyBackend) -> usize {
    if backend.real_gpu() {
        AHEAD
    } else {
        0
    }
}

/// The token id a device's greedy choice read back as one value.
fn device_choice(read: &[f32], vocab: usize) -> Result<u32> {
    match read {
        [v] if v.fract() == 0.0 && *v >= 0.0 && (*v as usize) < vocab => Ok(*v as u32),
        _ => Err(Error::Gpu(format!(
            "the device's greedy choice came back as {read:?}"
        ))),
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

/// What a pass reads back when the device chooses the token (its id) or the host does (logits).
fn device_logits(device: Option<DeviceChoice>) -> Logits {
    match device {
        Some(DeviceChoice::Greedy) => Logits::Argmax,
        Some(DeviceChoice::Sample(g)) => Logits::Sample(g),
        None => Logits::Last,
    }
}
