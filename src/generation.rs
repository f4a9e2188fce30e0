//! [`Generation`]: a reply under way, and [`Step`]: one token of it (see [`crate::Session`]).

use crate::error::{Error, Result};
use crate::hooks::Captures;
use crate::model::Forward;
use crate::sampler::{Choice, Sampler};
use crate::tokenizer::TextStream;

/// One generated token.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: u32,
    /// Text that became complete with this token (may be empty mid-character).
    pub text: String,
    /// What the hooks kept at this token's position (empty when it was not run).
    pub captures: Captures,
}

/// A reply under way: the sequence so far and the logits for the next token.
pub struct Generation {
    pub ids: Vec<u32>,
    pub prompt_len: usize,
    /// What the hooks kept over the prompt, `(prompt_len, cols)` each.
    pub prompt_captures: Captures,
    pub(crate) max_tokens: usize,
    /// Logits for the next token; `None` once no further token will be sampled, or when the
    /// device chose it ([`Generation::next_id`]).
    pub next_logits: Option<Vec<f32>>,
    /// The next token when the device chose it (greedy on the GPU: only the id was read back).
    pub(crate) next_id: Option<u32>,
    pub(crate) choice: Choice,
    pub(crate) stream: TextStream,
    /// Whether the context has room after the last token.
    pub(crate) room: bool,
}

impl Generation {
    pub(crate) fn new(
        ids: Vec<u32>,
        prompt: Forward,
        sampler: &Sampler,
        max_tokens: usize,
    ) -> Self {
        Self {
            prompt_len: ids.len(),
            ids,
            prompt_captures: prompt.captures,
            max_tokens,
            next_logits: (max_tokens > 0).then_some(prompt.logits),
            next_id: None,
            choice: sampler.choice(),
            stream: TextStream::default(),
            room: true,
        }
    }

    /// Whether the token just sampled must run through the model (more tokens will follow).
    pub(crate) fn wants_forward(&self) -> bool {
        self.generated().len() < self.max_tokens && self.room
    }

    /// Whether the pass of generated token `j` (from 0) runs once it is sampled: while tokens
    /// follow it (below `max_tokens`), and for the last one when something reads the stream;
    /// only with room in the `context` after it.
    pub(crate) fn pass_runs(&self, j: usize, reads: bool, context: usize) -> bool {
        j < self.max_tokens
            && self.prompt_len + j + 1 < context
            && (j + 1 < self.max_tokens || reads)
    }

    /// Tokens generated so far.
    pub fn generated(&self) -> &[u32] {
        &self.ids[self.prompt_len..]
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
                Some(&l) => Ok(crate::numerics::exp(l)),
                None => Err(Error::Prompt(format!(
                    "token id {id} is outside the vocabulary"
                ))),
            })
            .collect()
    }
}
