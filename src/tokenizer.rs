//! The tokenizer, built from the vocabulary in the model file, and the ChatML chat template.
//!
//! SmolLM2 uses byte-level BPE whose pre-tokenizer first splits every digit on its
//! own, then applies the GPT-2 split without a prefix space. Built this way the ids
//! equal llama.cpp's (tested against fixtures made with llama.cpp).

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper};

use crate::error::{Error, Result};
use crate::gguf::{clip, Vocab};

/// The model's default system prompt, used when none is given.
pub const DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// Text ⇄ token ids.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    pub bos: u32,
    pub eos: u32,
}

impl Tokenizer {
    /// Builds the tokenizer from the file's vocabulary; control tokens become special tokens.
    pub fn new(vocab: &Vocab) -> Result<Self> {
        let ids: tokenizers::models::bpe::Vocab = vocab
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let merges = vocab
            .merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| Error::Tokenizer(format!("malformed merge {:?}", clip(m))))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(ids, merges)
            .build()
            .map_err(|e| Error::Tokenizer(clip(&e.to_string())))?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        let pre: Vec<PreTokenizerWrapper> = vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ];
        inner.with_pre_tokenizer(Some(Sequence::new(pre)));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        let special: Vec<AddedToken> = vocab
            .control
            .iter()
            .map(|&i| AddedToken::from(vocab.tokens[i as usize].clone(), true))
            .collect();
        inner.add_special_tokens(&special);
        Ok(Self {
            inner,
            bos: vocab.bos,
            eos: vocab.eos,
        })
    }

    /// Text → ids. Control tokens written in the text (`<|im_start|>`) become their ids; no BOS is added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Ids → text, control tokens included as written.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// Each id's own text (a piece of a multi-byte character shows as U+FFFD).
    pub fn pieces(&self, ids: &[u32]) -> Result<Vec<String>> {
        ids.iter().map(|&i| self.decode(&[i])).collect()
    }
}

/// Wraps `user` as one ChatML user turn after a system turn, and opens the assistant's turn.
pub fn chat_prompt(user: &str, system: Option<&str>) -> String {
    chat_turns(&[], user, system)
}

/// A conversation in ChatML: the system turn, the earlier turns (`history` alternates user
/// and assistant, starting with the user), `user`'s new turn, and the assistant's turn opened.
pub fn chat_turns(history: &[String], user: &str, system: Option<&str>) -> String {
    let system = system.unwrap_or(DEFAULT_SYSTEM);
    let mut text = format!("<|im_start|>system\n{system}<|im_end|>\n");
    for (i, turn) in history.iter().enumerate() {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        text.push_str(&format!("<|im_start|>{role}\n{turn}<|im_end|>\n"));
    }
    text.push_str(&format!(
        "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    ));
    text
}

/// Turns ids into text as they arrive, holding back bytes of an unfinished UTF-8 character.
#[derive(Default)]
pub struct TextStream {
    ids: Vec<u32>,
    emitted: usize,
}

impl TextStream {
    /// Adds one id; returns the text that became complete, if any.
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> Result<String> {
        self.ids.push(id);
        let text = tok.decode(&self.ids)?;
        if text.ends_with('\u{FFFD}') || !text.is_char_boundary(self.emitted) {
            return Ok(String::new());
        }
        let new = text[self.emitted..].to_string();
        self.emitted = text.len();
        Ok(new)
    }
}
