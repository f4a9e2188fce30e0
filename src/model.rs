//! `Llama<B>`: the weights and THE forward loop, with hook sites in the residual stream.

use crate::backend::{self, Backend};
use crate::error::{Error, Result};
use crate::gguf::{Config, Header, RawWeights};
use crate::hooks::{Capture, Captures, HookPoint, HookSet, Intervention};
use crate::sampler::Gumbel;

/// One block's weights on the device.
struct Block<B: Backend> {
    attn_norm: B::Tensor,               // (1, d)
    wq: B::Matrix,                      // (n_head*hd, d)
    wk: B::Matrix,                      // (n_kv_head*hd, d)
    wv: B::Matrix,                      // (n_kv_head*hd, d)
    wo: B::Matrix,                      // (d, n_head*hd)
    ffn_norm: B::Tensor,                // (1, d)
    w_gate: B::Matrix,                  // (d_ff, d)
    w_up: B::Matrix,                    // (d_ff, d)
    w_down: B::Matrix,                  // (d, d_ff)
    qkv_bias: Option<[B::Tensor; 3]>,   // (1, n_head*hd), (1, n_kv_head*hd) twice
    qk_norm: Option<[B::Tensor; 2]>,    // (1, hd) twice
    post_norms: Option<[B::Tensor; 2]>, // (1, d) twice
    layer: usize,
}

impl<B: Backend> Block<B> {
    /// The weights as [`Backend::block`] takes them.
    fn weights(&self) -> backend::Block<'_, B> {
        backend::Block {
            attn_norm: &self.attn_norm,
            wq: &self.wq,
            wk: &self.wk,
            wv: &self.wv,
            wo: &self.wo,
            ffn_norm: &self.ffn_norm,
            w_gate: &self.w_gate,
            w_up: &self.w_up,
            w_down: &self.w_down,
            qkv_bias: self.qkv_bias.as_ref().map(|[q, k, v]| [q, k, v]),
            qk_norm: self.qk_norm.as_ref().map(|[q, k]| [q, k]),
            post_norms: self.post_norms.as_ref().map(|[a, f]| [a, f]),
            layer: self.layer,
        }
    }
}

/// A hook made ready on the device.
enum Ready<B: Backend> {
    Capture,
    Add { vector: B::Tensor, alpha: f32 },  // vector (1, d)
    Project { basis: B::Tensor, n: usize }, // basis (n, d)
}

/// The model with its key/value caches: a sequence grows by [`Llama::forward`] calls.
pub struct Llama<B: Backend> {
    pub config: Config,
    pub backend: B,
    embd: B::Matrix,           // (vocab, d), also the output matrix when tied
    output: Option<B::Matrix>, // (vocab, d), the separate output matrix when the file has one
    output_norm: B::Tensor,    // (1, d)
    blocks: Vec<Block<B>>,
    caches: Vec<B::Cache>, // one per block
    hooks: Vec<(HookPoint, Ready<B>)>,
    /// The readout's projection, applied after the hooks at its point: `Ready::Project`.
    readout: Option<(HookPoint, Ready<B>)>,
    /// Hook vectors and bases uploaded so far (each costs a validation and a copy to the device).
    uploads: usize,
    /// The recent tokens a device's repeat penalty reads in the next pass of host ids (see
    /// [`Llama::set_recent`]); a pass of a chosen token reads its chooser's.
    recent: Option<B::Tensor>,
}

/// A forward pass recorded with its reads under way (see [`Llama::record`]).
pub struct Recorded<B: Backend> {
    /// The greedy choice on the device, for [`Llama::record_chosen`] (with [`Logits::Argmax`]).
    pub chosen: Option<B::Tensor>,
    logits: B::Pending,
    /// What the hooks read: point, columns, the read.
    reads: Vec<(HookPoint, usize, B::Pending)>,
}

/// What a pass reads back of its logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Logits {
    /// The last position's `(vocab)`.
    Last,
    /// Every position's `(T, vocab)`.
    All,
    /// Only the index of the last position's largest logit (the greedy choice), as one value:
    /// on a GPU 4 bytes go back instead of the whole row.
    Argmax,
    /// Only the index of a token drawn from the last position's logits ([`Gumbel`], its
    /// counter set to that position), as one value. With a repeat penalty, a pass of host ids
    /// needs [`Llama::set_recent`] first.
    Sample(Gumbel),
}

/// What a pass runs: ids from the host, the token an earlier pass chose on the device, or a
/// residual stream `(T, d)` that blocks from the given one on read.
enum Input<'a, B: Backend> {
    Ids(&'a [u32]),
    Chosen(&'a B::Tensor),
    Stream(&'a [f32], usize),
}

/// What one forward call returns.
#[derive(Clone)]
pub struct Forward {
    /// Logits of the last position `(vocab)`, of every position `(T, vocab)`, or the greedy
    /// choice `(1)`, as [`Logits`] asked.
    pub logits: Vec<f32>,
    /// What the hooks kept, each `(T, cols)`.
    pub captures: Captures,
}

impl<B: Backend> Llama<B> {
    /// Reads a model's weights from `reader` (its header already read) onto `backend`, one
    /// matrix at a time: the stored copy of each is dropped once the backend has made its own.
    pub fn load<R: std::io::Read + std::io::Seek>(
        header: Header,
        reader: &mut R,
        backend: B,
    ) -> Result<Self> {
        // The vocabulary is not the model's: it goes before the weights come.
        let (c, w) = header.into_weights(reader, |p| backend.matrix_in_pieces(p))?;
        Self::new(c, w, backend)
    }

    /// A model whose matrices `backend` made ([`Llama::load`]).
    fn new(c: Config, w: RawWeights<B::Matrix>, backend: B) -> Result<Self> {
        let d = c.d_model;
        let mut blocks = Vec::with_capacity(c.n_layer);
        let pair = |v: Option<[Vec<f32>; 2]>| -> Result<Option<[B::Tensor; 2]>> {
            v.map(|[a, b]| {
                Ok([
                    backend.tensor(&a, 1, a.len())?,
                    backend.tensor(&b, 1, b.len())?,
                ])
            })
            .transpose()
        };
        for (layer, b) in w.blocks.into_iter().enumerate() {
            blocks.push(Block {
                qk_norm: pair(b.qk_norm)?,
                post_norms: pair(b.post_norms)?,
                layer,
                attn_norm: backend.tensor(&b.attn_norm, 1, d)?,
                ffn_norm: backend.tensor(&b.ffn_norm, 1, d)?,
                wq: b.wq,
                wk: b.wk,
                wv: b.wv,
                wo: b.wo,
                w_gate: b.w_gate,
                w_up: b.w_up,
                w_down: b.w_down,
                qkv_bias: match b.qkv_bias {
                    Some([q, k, v]) => Some([
                        backend.tensor(&q, 1, q.len())?,
                        backend.tensor(&k, 1, k.len())?,
                        backend.tensor(&v, 1, v.len())?,
                    ]),
                    None => None,
                },
            });
        }
        let caches = (0..c.n_layer)
            .map(|_| backend.cache())
            .collect::<Result<_>>()?;
        Ok(Self {
            embd: w.token_embd,
            output: w.output,
            output_norm: backend.tensor(&w.output_norm, 1, d)?,
            blocks,
            caches,
            hooks: Vec::new(),
            readout: None,
            uploads: 0,
            recent: None,
            config: c,
            backend,
        })
    }

    /// Positions already in the cache.
    pub fn pos(&self) -> usize {
        self.caches.first().map_or(0, |c| self.backend.cache_len(c))
    }

    /// Keeps the first `pos` positions of the caches: passes recorded past the end of a reply
    /// are forgotten.
    pub fn truncate(&mut self, pos: usize) {
        for c in &mut self.caches {
            self.backend.truncate(c, pos);
        }
    }

    /// Drops every block after the first `n`: a reader of the residual stream up to block
    /// `n − 1` runs only those blocks (a third fewer at two-thirds depth), every value it reads
    /// the same bits as the whole model's. Hooks on later blocks never fire, and the logits are
    /// then block `n − 1`'s stream through the output (a logit lens), not the model's.
    pub fn keep_blocks(&mut self, n: usize) {
        self.blocks.truncate(n);
    }

    /// Empties the key/value caches: the next forward starts a new sequence.
    pub fn reset(&mut self) -> Result<()> {
        self.caches = (0..self.config.n_layer)
            .map(|_| self.backend.cache())
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// Hands over the key/value caches of the sequence run so far and starts an empty one: a
    /// caller keeping several sequences gives them back to [`Llama::forward_rows`].
    pub fn take_caches(&mut self) -> Result<Vec<B::Cache>> {
        let taken = std::mem::take(&mut self.caches);
        self.reset()?;
        Ok(taken)
    }

    /// The next token of several sequences in one pass: row `i` runs `ids[i]` after the
    /// positions of `caches[i]` (one cache per block, as [`Llama::take_caches`] gave them), with
    /// the hooks as set (what they read is dropped). Returns the rows' logits `(n, vocab)`. On
    /// the CPU, with weights our kernels read (every quantized format), each row's are the bits
    /// a pass of that sequence alone gives: the kernels compute every row as they would by
    /// itself (f32 and f16 weights go through candle's product, whose rounding can depend on
    /// the number of rows). Several replies decode for the price of reading the weights once.
    pub fn forward_rows(&mut self, ids: &[u32], caches: &mut [Vec<B::Cache>]) -> Result<Vec<f32>> {
        let c = &self.config;
        if ids.is_empty() || ids.len() != caches.len() {
            return Err(Error::Prompt(format!(
                "{} tokens for {} sequences",
                ids.len(),
                caches.len()
            )));
        }
        in_vocabulary(c, ids)?;
        let be = &self.backend;
        let pos: Vec<usize> = caches
            .iter()
            .map(|cs| cs.first().map_or(0, |x| be.cache_len(x)))
            .collect();
        if caches.iter().any(|cs| cs.len() != self.blocks.len())
            || pos.iter().any(|&p| p + 1 > c.context)
        {
            return Err(Error::Prompt(
                "a sequence's caches do not fit the model, or its context is full".into(),
            ));
        }
        let mut x = scaled(be, c, be.embed(&self.embd, ids)?)?;
        let hooks = (&self.hooks[..], &self.readout);
        x = through_blocks(
            be,
            &self.blocks,
            hooks,
            c.d_model,
            x,
            &mut Vec::new(),
            |l, x, w| {
                let mut layer: Vec<&mut B::Cache> =
                    caches.iter_mut().map(|cs| &mut cs[l]).collect();
                backend::block_rows(be, x, w, &mut layer, c, &pos)
            },
        )?;
        let logits = be.norm_qmatmul(&x, &self.output_norm, c.rms_eps, self.unembedding())?;
        be.read(&logits)
    }

    /// Sets the hooks applied by every later forward call (checked first; on error nothing changes).
    /// Hooks that change the stream make the cached keys/values stale: callers reset first.
    pub fn set_hooks(&mut self, hooks: &HookSet) -> Result<()> {
        hooks.validate(self.config.n_layer, self.config.d_model)?;
        let ready = hooks
            .hooks
            .iter()
            .map(|(point, what)| Ok((*point, self.ready(what)?)))
            .collect::<Result<_>>()?;
        self.hooks = ready;
        Ok(())
    }

    /// Sets (or with `None` removes) the readout: `x · basisᵀ` of `n` rows read at `point` after
    /// the hooks there, on every later forward call. Checked first; on error nothing changes.
    pub fn set_readout(&mut self, readout: Option<(HookPoint, &[f32], usize)>) -> Result<()> {
        let Some((point, basis, n)) = readout else {
            self.readout = None;
            return Ok(());
        };
        let project = Intervention::Project {
            basis: basis.to_vec(),
            n,
        };
        let mut check = HookSet::new();
        check.push(point, project.clone());
        check.validate(self.config.n_layer, self.config.d_model)?;
        self.readout = Some((point, self.ready(&project)?));
        Ok(())
    }

    /// Hook vectors and readout bases uploaded to the device so far.
    pub fn uploads(&self) -> usize {
        self.uploads
    }

    /// A checked hook made ready on the device.
    fn ready(&mut self, what: &Intervention) -> Result<Ready<B>> {
        let d = self.config.d_model;
        Ok(match what {
            Intervention::Capture => Ready::Capture,
            Intervention::Add { vector, alpha } => {
                self.uploads += 1;
                Ready::Add {
                    vector: self.backend.tensor(vector, 1, d)?,
                    alpha: *alpha,
                }
            }
            Intervention::Project { basis, n } => {
                self.uploads += 1;
                Ready::Project {
                    basis: self.backend.tensor(basis, *n, d)?,
                    n: *n,
                }
            }
        })
    }

    /// Runs `ids` (T ≥ 1) after the cached positions; returns the last position's logits and
    /// what the hooks kept.
    pub fn forward(&mut self, ids: &[u32]) -> Result<Forward> {
        self.forward_with(ids, false)
    }

    /// Like [`Llama::forward`], with the logits of every position `(T, vocab)` when `all_logits`.
    pub fn forward_with(&mut self, ids: &[u32], all_logits: bool) -> Result<Forward> {
        let out = if all_logits {
            Logits::All
        } else {
            Logits::Last
        };
        let rec = self.record(ids, out)?;
        self.finish(rec)
    }

    /// Records a forward pass of `ids` (T ≥ 1) after the cached positions, its reads started
    /// but not finished: on the GPU nothing has run yet. Passes recorded one after another
    /// extend the cache in order; [`Llama::finish`] each in the same order.
    pub fn record(&mut self, ids: &[u32], out: Logits) -> Result<Recorded<B>> {
        self.record_input(Input::Ids(ids), out)
    }

    /// Runs blocks `from..` on `x (T, d)`, a sequence's residual stream after block `from − 1`
    /// (what `hook_resid_post` of that block captured, every position from the first): from
    /// empty caches (it resets them), so every later value has the bits the whole pass gave.
    /// The caches of earlier blocks stay empty: reset before the next pass.
    pub fn forward_stream(&mut self, x: &[f32], from: usize) -> Result<Forward> {
        self.reset()?;
        let rec = self.record_input(Input::Stream(x, from), Logits::Last)?;
        self.finish(rec)
    }

    /// Records a pass of the token an earlier pass chose on the device (its
    /// [`Recorded::chosen`]), without reading that choice first: on a GPU the host records
    /// greedy steps ahead of the device and reads their ids back later.
    pub fn record_chosen(&mut self, chosen: &B::Tensor, out: Logits) -> Result<Recorded<B>> {
        self.record_input(Input::Chosen(chosen), out)
    }

    /// Gives the device's repeat penalty the recent tokens (`slots`, from
    /// [`Gumbel::recent`]) for the next pass of host ids.
    pub fn set_recent(&mut self, slots: &[f32]) -> Result<()> {
        self.recent = Some(self.backend.tensor(slots, 1, slots.len())?);
        Ok(())
    }

    fn record_input(&mut self, input: Input<B>, out: Logits) -> Result<Recorded<B>> {
        let recent = match input {
            Input::Ids(_) => self.recent.take(),
            Input::Chosen(chosen) => Some(chosen.clone()),
            Input::Stream(..) => None,
        };
        let c = &self.config;
        // A chosen token is one the device picked from the vocabulary: nothing to check.
        let t = match input {
            Input::Ids(ids) => {
                if ids.is_empty() {
                    return Err(Error::Prompt("nothing to run: no tokens".into()));
                }
                in_vocabulary(c, ids)?;
                ids.len()
            }
            Input::Chosen(_) => 1,
            Input::Stream(x, from) => {
                if x.is_empty() || !x.len().is_multiple_of(c.d_model) || from > c.n_layer {
                    return Err(Error::Tensor(format!(
                        "a stream of {} values into block {from} does not fit the model",
                        x.len()
                    )));
                }
                x.len() / c.d_model
            }
        };
        let pos = self.pos();
        if pos + t > c.context {
            return Err(Error::Prompt(format!(
                "{t} tokens after {pos} would pass the context of {} tokens",
                c.context
            )));
        }
        let be = &self.backend;
        let mut reads = Vec::new();
        let hooks = (&self.hooks[..], &self.readout);
        let scaled = |x| scaled(be, c, x);
        let (mut x, from) = match input {
            Input::Ids(ids) => (scaled(be.embed(&self.embd, ids)?)?, 0), // (T, d)
            Input::Chosen(chosen) => (scaled(be.embed_chosen(&self.embd, chosen)?)?, 0),
            Input::Stream(x, from) => (be.tensor(x, t, c.d_model)?, from),
        };
        let caches = &mut self.caches;
        x = through_blocks(
            be,
            self.blocks.get(from..).unwrap_or_default(),
            hooks,
            c.d_model,
            x,
            &mut reads,
            |l, x, w| be.block(x, w, &mut caches[l], c, pos),
        )?;
        let rows = if out == Logits::All || t == 1 {
            x
        } else {
            be.last_row(&x)?
        };
        let mut logits =
            be.norm_qmatmul(&rows, &self.output_norm, c.rms_eps, self.unembedding())?;
        let chosen = match out {
            Logits::Argmax => Some(be.argmax(&logits)?),
            Logits::Sample(g) => {
                let counter = (pos + t - 1) as u32;
                Some(be.sample(&logits, recent.as_ref(), Gumbel { counter, ..g })?)
            }
            Logits::Last | Logits::All => None,
        };
        if let Some(c) = &chosen {
            logits = c.clone();
        }
        let logits = be.read_start(&logits)?;
        Ok(Recorded {
            chosen,
            logits,
            reads,
        })
    }

    /// Finishes the reads of a recorded pass (on the GPU: submits and waits if still needed).
    pub fn finish(&self, rec: Recorded<B>) -> Result<Forward> {
        let mut captures = Captures::default();
        for (point, cols, pending) in rec.reads {
            captures.entries.push(Capture {
                point,
                cols,
                values: self.backend.read_finish(pending)?,
            });
        }
        let logits = self.backend.read_finish(rec.logits)?;
        Ok(Forward { logits, captures })
    }

    /// Logit lens of a direction `v (d)` over the vocabulary: the final norm, then the output
    /// matrix, as the model reads out its last residual; what the direction promotes. (The norm
    /// scales `v` by a positive number, so the tokens rank as by `E · (γ ⊙ v)`.)
    pub fn logit_lens(&self, v: &[f32]) -> Result<Vec<f32>> {
        let pending = self.logit_lens_start(v)?;
        self.backend.read_finish(pending)
    }

    /// [`Llama::logit_lens`] recorded, its read started (on a GPU in the browser: read it with
    /// the backend's `read_finish` once the backend is ready).
    pub fn logit_lens_start(&self, v: &[f32]) -> Result<B::Pending> {
        let be = &self.backend;
        let x = be.tensor(v, 1, self.config.d_model)?;
        be.read_start(&be.norm_qmatmul(
            &x,
            &self.output_norm,
            self.config.rms_eps,
            self.unembedding(),
        )?)
    }

    /// The output matrix `(vocab, d)`: the file's own, or the token embedding when tied.
    fn unembedding(&self) -> &B::Matrix {
        self.output.as_ref().unwrap_or(&self.embd)
    }
}

/// The hooks of a pass, and the readout read after them.
type Hooks<'a, B> = (
    &'a [(HookPoint, Ready<B>)],
    &'a Option<(HookPoint, Ready<B>)>,
);

/// Every id of a host's pass must be in the vocabulary.
fn in_vocabulary(c: &Config, ids: &[u32]) -> Result<()> {
    match ids.iter().find(|&&i| i as usize >= c.vocab) {
        Some(bad) => Err(Error::Prompt(format!(
            "token id {bad} is outside the vocabulary ({})",
            c.vocab
        ))),
        None => Ok(()),
    }
}

/// Gemma's √d on the embeddings `x`: the stream the hooks see (others' scale is 1).
fn scaled<B: Backend>(be: &B, c: &Config, x: B::Tensor) -> Result<B::Tensor> {
    if c.embd_scale == 1.0 {
        Ok(x)
    } else {
        be.scale(&x, c.embd_scale)
    }
}

/// THE loop of every pass: `blocks` in order over `x`, each with the hooks at its input and
/// output; `block(l, x, weights)` runs block `l` (of the whole model) on its cache(s).
fn through_blocks<B: Backend>(
    be: &B,
    blocks: &[Block<B>],
    hooks: Hooks<B>,
    d: usize,
    mut x: B::Tensor,
    reads: &mut Vec<(HookPoint, usize, B::Pending)>,
    mut block: impl FnMut(usize, &B::Tensor, &backend::Block<B>) -> Result<B::Tensor>,
) -> Result<B::Tensor> {
    for blk in blocks {
        let l = blk.layer;
        x = apply_hooks(be, hooks, HookPoint::ResidPre(l), x, d, reads)?;
        x = block(l, &x, &blk.weights())?;
        x = apply_hooks(be, hooks, HookPoint::ResidPost(l), x, d, reads)?;
    }
    Ok(x)
}

/// Applies every hook at `point` to `x (T, d)` in order, then the readout if it reads there; with
/// no hooks there, `x` is untouched. Captures and projections start reads, kept in `reads`.
fn apply_hooks<B: Backend>(
    be: &B,
    (hooks, readout): Hooks<B>,
    point: HookPoint,
    mut x: B::Tensor,
    d: usize,
    reads: &mut Vec<(HookPoint, usize, B::Pending)>,
) -> Result<B::Tensor> {
    let at_point = |(p, _): &&(HookPoint, Ready<B>)| *p == point;
    for (_, what) in hooks
        .iter()
        .filter(at_point)
        .chain(readout.iter().filter(at_point))
    {
        match what {
            Ready::Capture => reads.push((point, d, be.read_start(&x)?)),
            Ready::Add { vector, alpha } => x = be.add_scaled(&x, vector, *alpha)?,
            Ready::Project { basis, n } => {
                reads.push((point, *n, be.read_start(&be.project(&x, basis)?)?))
            }
        }
    }
    Ok(x)
}
