//! llama.cpp's SentencePiece-style tokenizer (SPM, `tokenizer.ggml.model = "llama"`: Llama 1/2,
//! Gemma), written after `llm_tokenizer_spm_session` and `tokenizer_st_partition` in
//! llama.cpp's src/llama-vocab.cpp; its ids equal llama.cpp's (tests/spm.rs, fixtures made with
//! llama.cpp on Gemma 3).
//!
//! Encoding a text:
//! 1. Control, user-defined and unknown tokens written in the text are cut out as their ids,
//!    longest token text first, each one's every occurrence from the left ([`Spm::partition`]).
//! 2. Each remaining fragment gets a leading space when the file asks for one (llama.cpp: only
//!    at the start and after a token cut out in step 1), its spaces become `▁`, and it is split
//!    into characters.
//! 3. Neighbours whose concatenation is a token merge, the highest score first (ties to the
//!    left), until no pair is a token.
//! 4. Each symbol is its token's id, or else its bytes' `<0xXX>` tokens (byte fallback).
//!
//! llama.cpp re-splits a final symbol that is not a token through the merge that made it; that
//! never happens here: a merge only ever makes a token, and a symbol never merged is one
//! character of valid UTF-8, so byte fallback is the only case left.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use aho_corasick::AhoCorasick;

use crate::error::{Error, Result};
use crate::gguf::{clip, TokenType, Vocab};

/// What SentencePiece writes for a space.
const SPACE: &str = "\u{2581}";

/// An SPM vocabulary ready to encode and decode.
pub(super) struct Spm {
    /// Every token's text, by id.
    texts: Packed,
    /// The ids in the order of their texts (a text's id by binary search: a vocabulary's worth
    /// of strings and hash slots saved, ~25 MB for Gemma's 262,144 tokens).
    by_text: Vec<u32>,
    /// Each token's score (higher merges first).
    scores: Vec<f32>,
    /// Control, user-defined and unknown tokens (text, id), longest text first, then by id.
    special: Vec<(String, u32)>,
    /// Finds which of `special` a text holds in one pass (pattern k is `special[k]`).
    special_finder: AhoCorasick,
    /// The token for each byte (`<0xXX>`, else the byte as a one-character token), if any.
    bytes: [Option<u32>; 256],
    /// What each token writes when decoded, by id.
    pieces: Packed,
    /// Whether a fragment of text starts with a space (see the module doc).
    add_space_prefix: bool,
}

/// A stretch of the text still to be merged, or a token cut out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fragment {
    Text(std::ops::Range<usize>),
    Token(u32),
}

impl Spm {
    /// Builds the tables from the file's vocabulary: token types, scores and texts. An SPM file
    /// that says nothing of a space prefix gets one (llama.cpp's default).
    pub(super) fn new(vocab: &Vocab) -> Result<Self> {
        let n = vocab.tokens.len();
        if vocab.types.len() != n || vocab.scores.len() != n {
            return Err(Error::Tokenizer(format!(
                "{n} tokens but {} types and {} scores",
                vocab.types.len(),
                vocab.scores.len()
            )));
        }
        if let Some(i) = vocab.scores.iter().position(|s| s.is_nan()) {
            return Err(Error::Tokenizer(format!(
                "token {i}'s score is not a number"
            )));
        }
        let texts = Packed::new(vocab.tokens.iter().map(|t| t.as_bytes()));
        let mut by_text: Vec<u32> = (0..n as u32).collect();
        by_text.sort_unstable_by(|&a, &b| texts.get(a).cmp(&texts.get(b)).then(a.cmp(&b)));
        if let Some(w) = by_text
            .windows(2)
            .find(|w| texts.get(w[0]) == texts.get(w[1]))
        {
            return Err(Error::Tokenizer(format!(
                "token {:?} appears twice (ids {} and {})",
                clip(&vocab.tokens[w[0] as usize]),
                w[0],
                w[1]
            )));
        }
        let id = |text: &str| find(&texts, &by_text, text);
        let mut special: Vec<(String, u32)> = vocab
            .tokens
            .iter()
            .zip(&vocab.types)
            .enumerate()
            // An empty text would match everywhere; llama.cpp renames such a token.
            .filter(|(_, (text, ty))| !text.is_empty() && is_special(**ty))
            .map(|(i, (text, _))| (text.clone(), i as u32))
            .collect();
        special.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let special_finder = AhoCorasick::new(special.iter().map(|(text, _)| text))
            .map_err(|e| Error::Tokenizer(format!("the special tokens' matcher: {e}")))?;
        let mut bytes = [None; 256];
        for (b, slot) in bytes.iter_mut().enumerate() {
            let as_char = (b < 0x80).then(|| char::from(b as u8).to_string());
            *slot = id(&format!("<0x{b:02X}>")).or_else(|| as_char.and_then(|c| id(&c)));
        }
        let pieces = vocab
            .tokens
            .iter()
            .zip(&vocab.types)
            .enumerate()
            .map(|(i, (text, ty))| piece(i, text, *ty))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            texts,
            by_text,
            scores: vocab.scores.clone(),
            special,
            special_finder,
            bytes,
            pieces: Packed::new(pieces.iter().map(Vec::as_slice)),
            add_space_prefix: vocab.add_space_prefix.unwrap_or(true),
        })
    }

    /// The id of the token whose text is `text`, if any.
    fn id(&self, text: &str) -> Option<u32> {
        find(&self.texts, &self.by_text, text)
    }

    /// Text → ids; special tokens written in the text become their ids; no BOS.
    pub(super) fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        let mut after_special = true;
        for fragment in self.partition(text) {
            match fragment {
                Fragment::Token(id) => {
                    ids.push(id);
                    after_special = true;
                }
                Fragment::Text(range) => {
                    let prefix = if self.add_space_prefix && after_special {
                        SPACE
                    } else {
                        ""
                    };
                    let escaped = format!("{prefix}{}", text[range].replace(' ', SPACE));
                    self.merge(&escaped, &mut ids)?;
                    after_special = false;
                }
            }
        }
        Ok(ids)
    }

    /// Ids → text, control tokens as written; the one space a prefix put first is taken away.
    pub(super) fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut bytes = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let piece = self.piece(id)?;
            let piece = match piece {
                [b' ', rest @ ..] if i == 0 && self.add_space_prefix => rest,
                _ => piece,
            };
            bytes.extend_from_slice(piece);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// What `id` writes (a byte of a multi-byte character on its own is U+FFFD in text).
    pub(super) fn piece(&self, id: u32) -> Result<&[u8]> {
        self.pieces.get(id).ok_or_else(|| {
            Error::Tokenizer(format!(
                "token id {id} is outside the vocabulary of {}",
                self.pieces.len()
            ))
        })
    }

    /// The text cut at every special token written in it (step 1 of the module doc).
    fn partition(&self, text: &str) -> Vec<Fragment> {
        let mut fragments = if text.is_empty() {
            Vec::new()
        } else {
            vec![Fragment::Text(0..text.len())]
        };
        // Only the special tokens the text holds, in `special`'s order; looking for each of
        // Gemma's 6,414 in turn would cost more than all the rest.
        let mut held: Vec<usize> = self
            .special_finder
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_usize())
            .collect();
        held.sort_unstable();
        held.dedup();
        for (special, id) in held.iter().map(|&k| &self.special[k]) {
            let mut cut = Vec::with_capacity(fragments.len() + 2);
            for fragment in fragments {
                let Fragment::Text(range) = fragment else {
                    cut.push(fragment);
                    continue;
                };
                let mut start = range.start;
                while let Some(at) = text[start..range.end].find(special.as_str()) {
                    if at > 0 {
                        cut.push(Fragment::Text(start..start + at));
                    }
                    cut.push(Fragment::Token(*id));
                    start += at + special.len();
                }
                if start < range.end {
                    cut.push(Fragment::Text(start..range.end));
                }
            }
            fragments = cut;
        }
        fragments
    }

    /// Merges the characters of `text` by score and appends the ids (steps 3 and 4).
    fn merge(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        let mut symbols: Vec<Symbol> = text
            .char_indices()
            .map(|(start, c)| Symbol {
                start,
                len: c.len_utf8(),
                prev: None,
                next: None,
            })
            .collect();
        let n = symbols.len();
        for (i, s) in symbols.iter_mut().enumerate() {
            s.prev = i.checked_sub(1);
            s.next = (i + 1 < n).then_some(i + 1);
        }
        let mut queue = BinaryHeap::new();
        for i in 1..n {
            self.push_pair(text, &symbols, i - 1, Some(i), &mut queue);
        }
        while let Some(pair) = queue.pop() {
            let (left, right) = (&symbols[pair.left], &symbols[pair.right]);
            // A pair queued before one of its symbols merged with another neighbour.
            if left.len == 0 || right.len == 0 || left.len + right.len != pair.len {
                continue;
            }
            let next = right.next;
            symbols[pair.left].len = pair.len;
            symbols[pair.left].next = next;
            symbols[pair.right].len = 0;
            if let Some(next) = next {
                symbols[next].prev = Some(pair.left);
            }
            if let Some(prev) = symbols[pair.left].prev {
                self.push_pair(text, &symbols, prev, Some(pair.left), &mut queue);
            }
            self.push_pair(text, &symbols, pair.left, next, &mut queue);
        }
        let mut at = (n > 0).then_some(0);
        while let Some(i) = at {
            let s = &symbols[i];
            let piece = &text[s.start..s.start + s.len];
            match self.id(piece) {
                Some(id) => out.push(id),
                None => {
                    for &b in piece.as_bytes() {
                        out.push(self.bytes[b as usize].ok_or_else(|| {
                            Error::Tokenizer(format!(
                                "{:?} is not in the vocabulary and byte 0x{b:02X} has no token",
                                clip(piece)
                            ))
                        })?);
                    }
                }
            }
            at = s.next;
        }
        Ok(())
    }

    /// Queues `left` and `right` when their concatenation is a token.
    fn push_pair(
        &self,
        text: &str,
        symbols: &[Symbol],
        left: usize,
        right: Option<usize>,
        queue: &mut BinaryHeap<Pair>,
    ) {
        let Some(right) = right else { return };
        let start = symbols[left].start;
        let len = symbols[left].len + symbols[right].len;
        if let Some(id) = self.id(&text[start..start + len]) {
            queue.push(Pair {
                score: self.scores[id as usize],
                left,
                right,
                len,
            });
        }
    }
}

/// Tokens that are cut out of a text before merging (llama.cpp's special-token cache).
fn is_special(ty: TokenType) -> bool {
    matches!(
        ty,
        TokenType::Control | TokenType::UserDefined | TokenType::Unknown
    )
}

/// What token `i` writes when decoded: special tokens as written, `▁` as a space, a byte
/// token its byte, an unused token nothing (llama.cpp's `token_to_piece`).
fn piece(i: usize, text: &str, ty: TokenType) -> Result<Vec<u8>> {
    Ok(match ty {
        TokenType::Control | TokenType::UserDefined | TokenType::Unknown => text.into(),
        TokenType::Normal => text.replace(SPACE, " ").into_bytes(),
        TokenType::Byte => {
            let hex = text
                .strip_prefix("<0x")
                .and_then(|h| h.strip_suffix('>'))
                .filter(|h| h.len() == 2);
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            vec![byte.ok_or_else(|| {
                Error::Tokenizer(format!("byte token {i} is {:?}, not <0xXX>", clip(text)))
            })?]
        }
        TokenType::Unused | TokenType::Undefined => Vec::new(),
    })
}

/// Many short byte strings in one buffer, by index.
struct Packed {
    bytes: Vec<u8>,
    /// Where each string ends in `bytes`.
    ends: Vec<u32>,
}

impl Packed {
    fn new<'a>(items: impl Iterator<Item = &'a [u8]>) -> Self {
        let (mut bytes, mut ends) = (Vec::new(), Vec::new());
        for item in items {
            bytes.extend_from_slice(item);
            ends.push(bytes.len() as u32);
        }
        bytes.shrink_to_fit();
        ends.shrink_to_fit();
        Self { bytes, ends }
    }

    /// String `i`, if there is one.
    fn get(&self, i: u32) -> Option<&[u8]> {
        let end = *self.ends.get(i as usize)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i as usize - 1] as usize,
        };
        Some(&self.bytes[start..end])
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

/// The index in `texts` of `text`, by binary search over `by_text` (indices in text order).
fn find(texts: &Packed, by_text: &[u32], text: &str) -> Option<u32> {
    by_text
        .binary_search_by(|&i| texts.get(i).unwrap_or_default().cmp(text.as_bytes()))
        .ok()
        .map(|k| by_text[k])
}

/// One piece of the text being merged; `len` 0 once merged into its left neighbour.
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// Two neighbouring symbols whose concatenation (`len` bytes) is a token of `score`.
struct Pair {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}

/// The queue pops the highest score first and, among equal scores, the leftmost pair.
impl Ord for Pair {
    fn cmp(&self, other: &Self) -> Ordering {
        // partial_cmp: -0.0 and 0.0 tie as in llama.cpp; NaN scores are refused in `new`.
        let by_score = self
            .score
            .partial_cmp(&other.score)
            .unwrap_or(Ordering::Equal);
        by_score.then(other.left.cmp(&self.left))
    }
}

impl PartialOrd for Pair {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pair {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pair {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::TokenizerModel;
    use TokenType::*;

    /// A vocabulary of `tokens` (text, score, type), then the byte tokens `<0xC3>` and `<0xA9>`
    /// (é's bytes).
    fn vocab(tokens: &[(&str, f32, TokenType)], add_space_prefix: Option<bool>) -> Vocab {
        let all: Vec<(String, f32, TokenType)> = tokens
            .iter()
            .map(|&(t, s, ty)| (t.to_string(), s, ty))
            .chain(["<0xC3>", "<0xA9>"].map(|t| (t.to_string(), 0.0, Byte)))
            .collect();
        Vocab {
            model: TokenizerModel::Spm,
            tokens: all.iter().map(|t| t.0.clone()).collect(),
            scores: all.iter().map(|t| t.1).collect(),
            types: all.iter().map(|t| t.2).collect(),
            merges: Vec::new(),
            bos: 0,
            eos: 0,
            pre: None,
            chat_template: None,
            add_bos: None,
            add_space_prefix,
        }
    }

    /// Ids as the texts of their tokens, for readable assertions.
    fn texts(v: &Vocab, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&i| v.tokens[i as usize].clone()).collect()
    }

    fn encode(v: &Vocab, text: &str) -> Vec<String> {
        texts(v, &Spm::new(v).unwrap().encode(text).unwrap())
    }

    #[test]
    fn the_pair_of_higher_score_merges_first_and_ties_go_left() {
        let chars = [("a", 0.0, Normal), ("b", 0.0, Normal), ("c", 0.0, Normal)];
        let with = |ab: f32, bc: f32| {
            let mut t = chars.to_vec();
            t.extend([("ab", ab, Normal), ("bc", bc, Normal)]);
            vocab(&t, Some(false))
        };
        let v = with(-2.0, -1.0);
        assert_eq!(encode(&v, "abc"), ["a", "bc"]);
        let v = with(-1.0, -2.0);
        assert_eq!(encode(&v, "abc"), ["ab", "c"]);
        let v = with(-1.0, -1.0);
        assert_eq!(encode(&v, "abc"), ["ab", "c"]);
        // "aa" three times over "aaaaa": left to right, the last `a` alone; then the pairs of
        // pairs merge by score into the longer token.
        let v = vocab(
            &[
                ("a", 0.0, Normal),
                ("aa", -1.0, Normal),
                ("aaaa", -2.0, Normal),
            ],
            Some(false),
        );
        assert_eq!(encode(&v, "aaaaa"), ["aaaa", "a"]);
    }

    #[test]
    fn a_character_outside_the_vocabulary_falls_back_to_its_bytes() {
        let v = vocab(&[("x", 0.0, Normal)], Some(false));
        assert_eq!(encode(&v, "xéx"), ["x", "<0xC3>", "<0xA9>", "x"]);
        let spm = Spm::new(&v).unwrap();
        assert_eq!(spm.decode(&spm.encode("xéx").unwrap()).unwrap(), "xéx");
        // One byte alone is half a character: U+FFFD, as a streamed piece shows it.
        assert_eq!(String::from_utf8_lossy(spm.piece(1).unwrap()), "\u{FFFD}");
        // ß is C3 9F: no token says 9F (llama.cpp aborts on an uncaught std::out_of_range).
        match spm.encode("ß") {
            Err(Error::Tokenizer(m)) => assert_eq!(
                m,
                "\"ß\" is not in the vocabulary and byte 0x9F has no token"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn special_tokens_are_cut_out_longest_first_before_merging() {
        let v = vocab(
            &[
                ("<", 0.0, Normal),
                ("b", 0.0, Normal),
                (">", 0.0, Normal),
                ("<b", 1.0, Normal),
                ("<b>", 1.0, UserDefined),
                ("\n", 0.0, UserDefined),
                ("\n\n", 0.0, UserDefined),
                ("<s>", 0.0, Control),
                ("<unk>", 0.0, Unknown),
                ("s", 0.0, Normal),
            ],
            Some(false),
        );
        assert_eq!(encode(&v, "b<b>b"), ["b", "<b>", "b"]);
        assert_eq!(encode(&v, "\n\n\n<s>s"), ["\n\n", "\n", "<s>", "s"]);
        assert_eq!(encode(&v, "<unk><b"), ["<unk>", "<b"]);
        assert!(encode(&v, "").is_empty());
    }

    #[test]
    fn a_space_prefix_goes_before_each_text_and_comes_off_when_decoding() {
        let t = [
            ("\u{2581}", 0.0, Normal),
            ("a", 0.0, Normal),
            ("\u{2581}a", 1.0, Normal),
            ("<s>", 0.0, Control),
        ];
        // Absent from the file: llama.cpp's default for SPM is a prefix.
        let v = vocab(&t, None);
        assert_eq!(encode(&v, "a a"), ["▁a", "▁a"]);
        assert_eq!(encode(&v, "a<s>a"), ["▁a", "<s>", "▁a"]);
        let spm = Spm::new(&v).unwrap();
        assert_eq!(spm.decode(&spm.encode("a a").unwrap()).unwrap(), "a a");
        let v = vocab(&t, Some(false));
        assert_eq!(encode(&v, "a a"), ["a", "▁a"]);
        let spm = Spm::new(&v).unwrap();
        assert_eq!(spm.decode(&spm.encode(" a").unwrap()).unwrap(), " a");
    }

    #[test]
    fn decoding_writes_special_tokens_spaces_and_bytes_and_no_unused_token() {
        let v = vocab(
            &[
                ("<s>", 0.0, Control),
                ("\u{2581}hi", 0.0, Normal),
                ("<unused0>", 0.0, Unused),
            ],
            Some(false),
        );
        let spm = Spm::new(&v).unwrap();
        assert_eq!(spm.decode(&[0, 1, 2, 3, 4]).unwrap(), "<s> hié");
        assert!(matches!(spm.decode(&[5]), Err(Error::Tokenizer(_))));
    }

    #[test]
    fn a_prompt_starts_with_bos_unless_the_file_says_otherwise() {
        let mut v = vocab(&[("a", 0.0, Normal)], None);
        let tok = crate::tokenizer::Tokenizer::new(&v).unwrap();
        assert!(tok.add_bos);
        assert_eq!(tok.pieces(&[0, 1]).unwrap(), ["a", "\u{FFFD}"]);
        v.add_bos = Some(false);
        assert!(!crate::tokenizer::Tokenizer::new(&v).unwrap().add_bos);
    }

    #[test]
    fn a_malformed_vocabulary_is_a_clear_error() {
        let message = |v: &Vocab| match Spm::new(v) {
            Err(Error::Tokenizer(m)) => m,
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("accepted"),
        };
        let bad_byte = vocab(&[("<0xZZ>", 0.0, Byte)], None);
        assert_eq!(message(&bad_byte), "byte token 0 is \"<0xZZ>\", not <0xXX>");
        let twice = vocab(&[("a", 0.0, Normal), ("a", 0.0, Normal)], None);
        assert_eq!(message(&twice), "token \"a\" appears twice (ids 0 and 1)");
        let nan = vocab(&[("a", f32::NAN, Normal)], None);
        assert_eq!(message(&nan), "token 0's score is not a number");
        let mut short = vocab(&[("a", 0.0, Normal)], None);
        short.scores.pop();
        assert_eq!(message(&short), "3 tokens but 3 types and 2 scores");
    }
}
