//! The tokenizer, built from the vocabulary in the model file: byte-level BPE after the
//! pre-tokenizer the file names (`gpt2` files), or llama.cpp's SentencePiece-style merges by
//! score (`llama` files: Gemma; [`spm`]), and the file's chat template ([`crate::chat`]).
//!
//! The pre-tokenizer is chosen by name as llama.cpp chooses it ([`PreTokenizer::from_name`]).
//! SmolLM2's (`smollm`) splits every digit on its own, then applies the GPT-2 split without a
//! prefix space; Qwen2's (`qwen2`) splits by llama.cpp's regex for it (contractions in either
//! case, letters with one leading non-letter, single digits, punctuation runs, newlines apart).
//! Built this way the ids equal llama.cpp's (tested against fixtures made with llama.cpp).

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::chat::ChatTemplate;
use crate::error::{Error, Result};
use crate::gguf::{clip, TokenType, TokenizerModel, Vocab};

mod spm;

/// How text is split into words before BPE merges them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    /// llama.cpp's `smollm`: every digit on its own, then the GPT-2 split, no prefix space.
    SmolLm,
    /// llama.cpp's `qwen2` (Qwen2 and Qwen2.5): [`QWEN2_SPLIT`], no prefix space.
    Qwen2,
    /// llama.cpp's `llama3` (files name it `llama-bpe`, `llama3` or `llama-v3`: Llama 3.x):
    /// [`LLAMA3_SPLIT`]; a word in the vocabulary is taken whole, before any merge; a prompt
    /// starts with BOS unless the file says otherwise.
    Llama3,
}

/// llama.cpp's split for `llama3`: Qwen2's with runs of up to three digits.
const LLAMA3_SPLIT: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// llama.cpp's split for `qwen2` (src/llama-vocab.cpp): the tokenizer.json regex with its
/// case-insensitive contractions written out.
const QWEN2_SPLIT: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

impl PreTokenizer {
    /// The pre-tokenizer llama.cpp calls `name`. A file that names none gets
    /// [`PreTokenizer::SmolLm`], the one limbic always used (llama.cpp warns there and falls
    /// back to its own `default` split, so ids may then differ from llama.cpp's); any other
    /// name is an error (llama.cpp refuses the names it does not know too; limbic knows fewer).
    pub fn from_name(name: Option<&str>) -> Result<Self> {
        match name {
            None | Some("smollm") => Ok(Self::SmolLm),
            Some("qwen2") => Ok(Self::Qwen2),
            Some("llama-bpe" | "llama3" | "llama-v3") => Ok(Self::Llama3),
            Some(other) => Err(Error::Tokenizer(format!(
                "pre-tokenizer {:?} is not supported yet (limbic knows smollm, qwen2, llama-bpe)",
                clip(other)
            ))),
        }
    }

    fn build(self) -> Result<Sequence> {
        let steps: Vec<PreTokenizerWrapper> = match self {
            Self::SmolLm => vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, true).into(),
            ],
            Self::Qwen2 | Self::Llama3 => {
                let regex = if self == Self::Qwen2 {
                    QWEN2_SPLIT
                } else {
                    LLAMA3_SPLIT
                };
                vec![
                    Split::new(
                        SplitPattern::Regex(regex.into()),
                        SplitDelimiterBehavior::Isolated,
                        false,
                    )
                    .map_err(|e| Error::Tokenizer(format!("the {self:?} split: {e}")))?
                    .into(),
                    ByteLevel::new(false, true, false).into(),
                ]
            }
        };
        Ok(Sequence::new(steps))
    }

    /// Whether a prompt starts with BOS when the file does not say (llama.cpp's defaults).
    fn adds_bos(self) -> bool {
        self == Self::Llama3
    }
}

/// Text ⇄ token ids, and the model's chat format.
pub struct Tokenizer {
    model: Model,
    pub bos: u32,
    pub eos: u32,
    /// The chat format's turn-closing token (`<end_of_turn>`), when it is not EOS: a reply ends
    /// there too ([`Tokenizer::ends_reply`]).
    pub turn_end: Option<u32>,
    /// Whether a prompt starts with BOS (the file's `add_bos_token`, else llama.cpp's default
    /// for its tokenizer): [`crate::Session::encode_prompt`] puts it there.
    pub add_bos: bool,
    /// The chat template, or why the model has none.
    chat: std::result::Result<ChatTemplate, String>,
    /// What requests are written in ([`ChatTemplate::for_requests`]), or why there is none.
    requests: std::result::Result<ChatTemplate, String>,
}

/// The tokenizer proper, by the file's `tokenizer.ggml.model`.
enum Model {
    Bpe(Box<tokenizers::Tokenizer>),
    Spm(Box<spm::Spm>),
}

impl Tokenizer {
    /// Builds the tokenizer from the file's vocabulary.
    pub fn new(vocab: &Vocab) -> Result<Self> {
        let (model, adds_bos) = match vocab.model {
            TokenizerModel::Bpe => {
                let pre = PreTokenizer::from_name(vocab.pre.as_deref())?;
                (Model::Bpe(Box::new(bpe(vocab, pre)?)), pre.adds_bos())
            }
            // llama.cpp starts every SPM prompt with BOS unless the file says otherwise.
            TokenizerModel::Spm => (Model::Spm(Box::new(spm::Spm::new(vocab)?)), true),
        };
        let chat = ChatTemplate::from_vocab(vocab);
        let requests = ChatTemplate::for_requests(vocab);
        let turn_end = chat
            .as_ref()
            .ok()
            .and_then(ChatTemplate::turn_end)
            .and_then(|t| vocab.tokens.iter().position(|v| v == t))
            .map(|i| i as u32)
            .filter(|&i| i != vocab.eos);
        Ok(Self {
            model,
            bos: vocab.bos,
            eos: vocab.eos,
            turn_end,
            add_bos: vocab.add_bos.unwrap_or(adds_bos),
            chat,
            requests,
        })
    }

    /// Whether token `id` ends a reply: the end of text, or the chat format's end of turn.
    pub fn ends_reply(&self, id: u32) -> bool {
        id == self.eos || Some(id) == self.turn_end
    }

    /// Whether the model has a chat format limbic can write (else only plain text).
    pub fn chat_available(&self) -> bool {
        self.chat.is_ok()
    }

    /// The model's chat template; an [`Error::Prompt`] saying why when it has none.
    pub fn chat(&self) -> Result<&ChatTemplate> {
        self.chat
            .as_ref()
            .map_err(|why| Error::Prompt(format!("chat is unavailable: {why}")))
    }

    /// `user` as one user turn after the system turn (`system`, else the model's default), with
    /// the assistant's turn opened.
    pub fn chat_prompt(&self, user: &str, system: Option<&str>) -> Result<String> {
        self.chat_turns(&[], user, system)
    }

    /// `user`'s request as the model reads it ([`ChatTemplate::for_requests`]): one user turn
    /// in its chat format with the assistant's turn opened, or for a file without one (a base
    /// model) a plain transcript ending in `Assistant:`; an error for a chat template limbic
    /// does not know. For measurements that need a request on every model; people's chat
    /// needs the model's own format ([`Self::chat`]).
    pub fn request(&self, user: &str) -> Result<String> {
        match &self.requests {
            Ok(format) => Ok(format.prompt(&[], user, None)),
            Err(why) => Err(Error::Prompt(format!(
                "requests need the model's chat format: {why}"
            ))),
        }
    }

    /// A conversation: the system turn, the earlier turns (`history` alternates user and
    /// assistant, starting with the user), `user`'s new turn, and the assistant's turn opened.
    pub fn chat_turns(
        &self,
        history: &[String],
        user: &str,
        system: Option<&str>,
    ) -> Result<String> {
        Ok(self.chat()?.prompt(history, user, system))
    }

    /// Text → ids. Control tokens written in the text (`<|im_start|>`) become their ids (SPM:
    /// user-defined tokens too, as in llama.cpp); no BOS is added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match &self.model {
            Model::Bpe(bpe) => {
                let enc = bpe
                    .encode(text, false)
                    .map_err(|e| Error::Tokenizer(e.to_string()))?;
                Ok(enc.get_ids().to_vec())
            }
            Model::Spm(spm) => spm.encode(text),
        }
    }

    /// Ids → text, control tokens included as written.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        match &self.model {
            Model::Bpe(bpe) => bpe
                .decode(ids, false)
                .map_err(|e| Error::Tokenizer(e.to_string())),
            Model::Spm(spm) => spm.decode(ids),
        }
    }

    /// Each id's own text (a piece of a multi-byte character shows as U+FFFD).
    pub fn pieces(&self, ids: &[u32]) -> Result<Vec<String>> {
        match &self.model {
            Model::Bpe(_) => ids.iter().map(|&i| self.decode(&[i])).collect(),
            Model::Spm(spm) => ids
                .iter()
                .map(|&i| Ok(String::from_utf8_lossy(spm.piece(i)?).into_owned()))
                .collect(),
        }
    }
}

/// The byte-level BPE of a `gpt2` file: the pre-tokenizer's split, the merges, and control
/// tokens as special tokens.
fn bpe(vocab: &Vocab, pre: PreTokenizer) -> Result<tokenizers::Tokenizer> {
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
        .ignore_merges(pre == PreTokenizer::Llama3)
        .build()
        .map_err(|e| Error::Tokenizer(clip(&e.to_string())))?;
    let mut inner = tokenizers::Tokenizer::new(bpe);
    inner.with_pre_tokenizer(Some(pre.build()?));
    inner.with_decoder(Some(ByteLevelDecoder::default()));
    let special: Vec<AddedToken> = vocab
        .tokens
        .iter()
        .zip(&vocab.types)
        .filter(|(_, &ty)| ty == TokenType::Control)
        .map(|(t, _)| AddedToken::from(t.clone(), true))
        .collect();
    inner.add_special_tokens(&special);
    Ok(inner)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pre_tokenizer_is_chosen_by_name() {
        assert_eq!(
            PreTokenizer::from_name(Some("smollm")).unwrap(),
            PreTokenizer::SmolLm
        );
        assert_eq!(PreTokenizer::from_name(None).unwrap(), PreTokenizer::SmolLm);
        assert_eq!(
            PreTokenizer::from_name(Some("qwen2")).unwrap(),
            PreTokenizer::Qwen2
        );
        for name in ["llama-bpe", "llama3", "llama-v3"] {
            assert_eq!(
                PreTokenizer::from_name(Some(name)).unwrap(),
                PreTokenizer::Llama3
            );
        }
        match PreTokenizer::from_name(Some("deepseek-llm")) {
            Err(Error::Tokenizer(m)) => {
                assert_eq!(
                    m,
                    "pre-tokenizer \"deepseek-llm\" is not supported yet (limbic knows smollm, qwen2, llama-bpe)"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    /// A vocabulary of the 256 byte tokens, `12`, `<|im_start|>` and `<|im_end|>` (control).
    fn vocab(pre: Option<&str>, template: Option<&str>) -> Vocab {
        let bytes = tokenizers::pre_tokenizers::byte_level::ByteLevel::alphabet();
        let mut tokens: Vec<String> = bytes.iter().map(|c| c.to_string()).collect();
        tokens.sort();
        tokens.extend(["12".into(), "<|im_start|>".into(), "<|im_end|>".into()]);
        let n = tokens.len() as u32;
        let mut types = vec![TokenType::Normal; tokens.len() - 2];
        types.extend([TokenType::Control; 2]);
        Vocab {
            model: TokenizerModel::Bpe,
            tokens,
            types,
            scores: Vec::new(),
            merges: vec!["1 2".into()],
            bos: n - 2,
            eos: n - 1,
            pre: pre.map(str::to_string),
            chat_template: template.map(str::to_string),
            add_bos: None,
            add_space_prefix: None,
        }
    }

    #[test]
    fn digits_are_split_one_by_one_and_chat_follows_the_file() {
        let t = Tokenizer::new(&vocab(
            Some("smollm"),
            Some("{{'<|im_start|>' + m + '<|im_end|>'}}"),
        ))
        .unwrap();
        // "12" is a merge, but the digits are split before BPE sees them.
        assert_eq!(t.encode("12").unwrap().len(), 2);
        assert!(t.chat_available());
        let p = t.chat_prompt("hi", None).unwrap();
        assert_eq!(p, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
        assert_eq!(
            t.encode(&p)
                .unwrap()
                .iter()
                .filter(|&&i| i == t.bos)
                .count(),
            2
        );

        let plain = Tokenizer::new(&vocab(None, None)).unwrap();
        assert!(!plain.chat_available());
        assert_eq!(plain.decode(&plain.encode("a 1").unwrap()).unwrap(), "a 1");
        match plain.chat_prompt("hi", None) {
            Err(Error::Prompt(m)) => {
                assert_eq!(
                    m,
                    "chat is unavailable: the model file has no chat template"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Tokenizer::new(&vocab(Some("deepseek-llm"), None)),
            Err(Error::Tokenizer(_))
        ));
        // BOS first: llama-bpe's default, unless the file says; never for smollm by default.
        assert!(
            Tokenizer::new(&vocab(Some("llama-bpe"), None))
                .unwrap()
                .add_bos
        );
        assert!(!plain.add_bos);
        let mut told = vocab(Some("llama-bpe"), None);
        told.add_bos = Some(false);
        assert!(!Tokenizer::new(&told).unwrap().add_bos);
    }
}
