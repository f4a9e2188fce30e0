//! `Engine<B>` (model + tokenizer) and one generation at a time: prompt, sampler, step().
//! The CLI and the wasm wrapper both drive generation through this module.

use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::gguf::ModelFile;
use crate::hooks::Captures;
use crate::model::{Forward, Llama, Recorded};

/// Longest slice of a prompt run in one forward call (bounds the attention matrix).
const PREFILL_CHUNK: usize = 512;
use crate::tokenizer::{TextStream, Tokenizer};

/// How the next token is chosen. `temperature == 0` is greedy.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampler {
    pub temperature: f64,
    /// Nucleus mass in (0, 1]; 1 keeps every token.
    pub top_p: f64,
    /// Divides the logits of recently seen tokens (1 = off).
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: 1.0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 299792458,
        }
    }
}

impl Sampler {
    /// Checks the numbers a person typed.
    pub fn validate(&self) -> Result<()> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(Error::Sampling(format!(
                "temperature must be ≥ 0, got {}",
                self.temperature
            )));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::Sampling(format!(
                "top-p must be in (0, 1], got {}",
                self.top_p
            )));
        }
        if !self.repeat_penalty.is_finite() || self.repeat_penalty <= 0.0 {
            return Err(Error::Sampling(format!(
                "repeat penalty must be > 0, got {}",
                self.repeat_penalty
            )));
        }
        Ok(())
    }

    fn processor(&self) -> LogitsProcessor {
        let sampling = if self.temperature == 0.0 {
            Sampling::ArgMax
        } else if self.top_p < 1.0 {
            Sampling::TopP {
                p: self.top_p,
                temperature: self.temperature,
            }
        } else {
            Sampling::All {
                temperature: self.temperature,
            }
        };
        LogitsProcessor::from_sampling(self.seed, sampling)
    }
}

/// The model and its tokenizer.
pub struct Engine<B: Backend> {
    pub model: Llama<B>,
    pub tokenizer: Tokenizer,
}

/// One generated token.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: u32,
    /// Text that became complete with this token (may be empty mid-character).
    pub text: String,
    /// What the hooks kept at this token's position (empty once generation ended).
    pub captures: Captures,
}

/// A generation under way: the sequence so far and the logits for the next token.
pub struct Generation {
    pub ids: Vec<u32>,
    pub prompt_len: usize,
    /// What the hooks kept over the prompt, `(prompt_len, cols)` each.
    pub prompt_captures: Captures,
    max_tokens: usize,
    /// Logits for the next token; `None` once no further token will be sampled.
    pub next_logits: Option<Vec<f32>>,
    processor: LogitsProcessor,
    sampler: Sampler,
    stream: TextStream,
    /// Whether the context has room after the last token.
    room: bool,
}

impl Generation {
    /// A generation whose prompt `ids` gave `prompt` (its last logits and captures).
    pub fn new(ids: Vec<u32>, prompt: Forward, sampler: &Sampler, max_tokens: usize) -> Self {
        Self {
            prompt_len: ids.len(),
            ids,
            prompt_captures: prompt.captures,
            max_tokens,
            next_logits: (max_tokens > 0).then_some(prompt.logits),
            processor: sampler.processor(),
            sampler: sampler.clone(),
            stream: TextStream::default(),
            room: true,
        }
    }

    /// Whether the token just sampled must run through the model (more tokens will follow).
    pub fn wants_forward(&self) -> bool {
        self.generated().len() < self.max_tokens && self.room
    }

    /// Whether the context has room for the token just sampled to run through the model.
    pub fn has_room(&self) -> bool {
        self.room
    }

    /// Tokens generated so far.
    pub fn generated(&self) -> &[u32] {
        &self.ids[self.prompt_len..]
    }
    pub fn is_done(&self) -> bool {
        self.next_logits.is_none()
    }

    /// The probability (softmax at temperature 1, whatever the sampler's) of each of `ids` being
    /// the next token: after the prompt or a step, before the next token is sampled.
    pub fn next_probs(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let logits = self.next_logits.as_ref().ok_or_else(|| {
            Error::Prompt(
                "no next-token logits: the reply is over or was asked for 0 tokens".into(),
            )
        })?;
        let logp = crate::numerics::log_softmax(logits);
        ids.iter()
            .map(|&id| match logp.get(id as usize) {
                Some(&l) => Ok(l.exp()),
                None => Err(Error::Prompt(format!(
                    "token id {id} is outside the vocabulary"
                ))),
            })
            .collect()
    }
}

impl<B: Backend> Engine<B> {
    /// Builds the engine from a parsed model file.
    pub fn new(file: ModelFile, backend: B) -> Result<Self> {
        let tokenizer = Tokenizer::new(&file.vocab)?;
        Ok(Self {
            model: Llama::new(file, backend)?,
            tokenizer,
        })
    }

    /// Tokenizes a prompt and checks it is neither empty nor longer than the context allows.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        if text.trim().is_empty() {
            return Err(Error::Prompt("the prompt is empty".into()));
        }
        let ids = self.tokenizer.encode(text)?;
        let ctx = self.model.config.context;
        if ids.len() >= ctx {
            return Err(Error::Prompt(format!(
                "the prompt has {} tokens; the context holds {ctx}",
                ids.len()
            )));
        }
        Ok(ids)
    }

    /// Runs the whole of `ids` from an empty cache, in chunks so attention stays small;
    /// returns the last position's logits and the captures of every position.
    pub fn run(&mut self, ids: &[u32]) -> Result<Forward> {
        let recorded = self.prefill(ids)?;
        self.prefilled(recorded)
    }

    /// Records the passes of [`Engine::run`] without waiting for their results (on the GPU
    /// nothing has run yet): the chunks extend the cache in order, so no chunk waits for one.
    pub fn prefill(&mut self, ids: &[u32]) -> Result<Vec<Recorded<B>>> {
        if ids.is_empty() {
            return Err(Error::Prompt("nothing to run: no tokens".into()));
        }
        self.model.reset()?;
        ids.chunks(PREFILL_CHUNK)
            .map(|chunk| self.model.record(chunk, false))
            .collect()
    }

    /// The results of [`Engine::prefill`]: the last logits, every position's captures.
    pub fn prefilled(&self, recorded: Vec<Recorded<B>>) -> Result<Forward> {
        let mut captures = Captures::default();
        let mut logits = Vec::new();
        for rec in recorded {
            let fwd = self.model.finish(rec)?;
            captures.append(fwd.captures);
            logits = fwd.logits;
        }
        Ok(Forward { logits, captures })
    }

    /// Starts generating after `prompt` (token ids): processes the prompt in one pass.
    pub fn start(
        &mut self,
        prompt: Vec<u32>,
        sampler: &Sampler,
        max_tokens: usize,
    ) -> Result<Generation> {
        sampler.validate()?;
        let fwd = self.run(&prompt)?;
        Ok(Generation::new(prompt, fwd, sampler, max_tokens))
    }

    /// Samples the next token and runs it through the model. `None` once the reply is over
    /// (end-of-turn token, `max_tokens`, or a full context).
    pub fn step(&mut self, g: &mut Generation) -> Result<Option<Step>> {
        let Some((id, text)) = self.sample(g)? else {
            return Ok(None);
        };
        let mut captures = Captures::default();
        if g.wants_forward() {
            let fwd = self.model.forward(&[id])?;
            g.next_logits = Some(fwd.logits);
            captures = fwd.captures;
        }
        Ok(Some(Step { id, text, captures }))
    }

    /// Samples the next token and appends it: `(id, its text)`, or `None` once the reply is
    /// over. The token still has to run through the model when [`Generation::wants_forward`].
    pub fn sample(&mut self, g: &mut Generation) -> Result<Option<(u32, String)>> {
        let Some(logits) = g.next_logits.take() else {
            return Ok(None);
        };
        let mut logits = Tensor::from_vec(logits, self.model.config.vocab, &Device::Cpu)?;
        if g.sampler.repeat_penalty != 1.0 {
            let from = g.ids.len().saturating_sub(g.sampler.repeat_last_n);
            logits = candle_transformers::utils::apply_repeat_penalty(
                &logits,
                g.sampler.repeat_penalty,
                &g.ids[from..],
            )?;
        }
        let id = g.processor.sample(&logits)?;
        if id == self.tokenizer.eos {
            return Ok(None);
        }
        g.ids.push(id);
        let text = g.stream.push(&self.tokenizer, id)?;
        g.room = g.ids.len() < self.model.config.context;
        Ok(Some((id, text)))
    }
}
