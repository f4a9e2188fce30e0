//! Reading the model file: config from GGUF metadata (`gguf/config.rs`, per architecture), the
//! quantized tensors, the tokenizer vocabulary with its pre-tokenizer name and chat template.
//!
//! GGUF key strings appear only here and in `gguf/config.rs`. Everything is checked before use
//! so that a truncated, foreign or corrupt file ends in a one-line [`Error::Model`]; every
//! count, length and size is bounded by the file's own size before anything is allocated for it
//! (fuzzed: tests/fuzz/, docs/robustness.md).

use std::io::{Read, Seek, SeekFrom};

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;

use crate::backend::{DType, Pieces, QWeight};
use crate::error::{first_line, Error, Result};

mod config;
mod header;
mod meta;
pub use config::{Act, Config, RopeScaling, SlidingWindow};
/// A string from the file fit for a one-line message (used by the tokenizer's errors too).
pub(crate) use header::clip;
use meta::{bad, Meta};

/// The tokenizer vocabulary stored in the file.
#[derive(Debug, Clone)]
pub struct Vocab {
    /// Which tokenizer the vocabulary is for.
    pub model: TokenizerModel,
    pub tokens: Vec<String>,
    /// Each token's type, one per token.
    pub types: Vec<TokenType>,
    /// Each token's score (SPM: a pair whose concatenation scores higher merges first); empty
    /// for BPE.
    pub scores: Vec<f32>,
    /// "left right" pairs in merge order (BPE); empty for SPM.
    pub merges: Vec<String>,
    pub bos: u32,
    pub eos: u32,
    /// The pre-tokenizer's name (`smollm`, ...), when the file gives one.
    pub pre: Option<String>,
    /// The Jinja chat template, when the file has one.
    pub chat_template: Option<String>,
    /// `tokenizer.ggml.add_bos_token`: whether a prompt starts with BOS, when the file says.
    pub add_bos: Option<bool>,
    /// `tokenizer.ggml.add_space_prefix`: whether SPM puts a space before each text, when the
    /// file says.
    pub add_space_prefix: Option<bool>,
}

/// The tokenizer a vocabulary is for (`tokenizer.ggml.model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerModel {
    /// `gpt2`: byte-level BPE with merges.
    Bpe,
    /// `llama`: SentencePiece-style merges by score, with byte fallback (Llama 1/2, Gemma).
    Spm,
}

/// What a token is (`tokenizer.ggml.token_type`, llama.cpp's numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// 1: ordinary text.
    Normal,
    /// 2: the unknown token.
    Unknown,
    /// 3: a control token (`<bos>`, `<|im_start|>`): written in a text only on purpose.
    Control,
    /// 4: text the tokenizer cuts out whole before anything else (`<start_of_turn>`'s cousins,
    /// runs of spaces or newlines in Gemma's vocabulary).
    UserDefined,
    /// 5: reserved, never produced.
    Unused,
    /// 6: one byte, written `<0xXX>` (SPM's byte fallback).
    Byte,
    /// Any other number (llama.cpp's "undefined").
    Undefined,
}

impl TokenType {
    fn from_gguf(n: i32) -> Self {
        match n {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => Self::Undefined,
        }
    }
}

/// One transformer block's weights: matrices are (out, in), as stored ([`QWeight`]) or as a
/// backend made them while the file was read ([`Header::weights`]).
pub struct RawBlock<W = QWeight> {
    pub attn_norm: Vec<f32>, // (d)
    pub wq: W,               // (n_head*head_dim, d)
    pub wk: W,               // (n_kv_head*head_dim, d)
    pub wv: W,               // (n_kv_head*head_dim, d)
    pub wo: W,               // (d, n_head*head_dim)
    pub ffn_norm: Vec<f32>,  // (d)
    pub w_gate: W,           // (d_ff, d)
    pub w_up: W,             // (d_ff, d)
    pub w_down: W,           // (d, d_ff)
    /// The q, k and v projections' biases, when the model has them (qwen2).
    pub qkv_bias: Option<[Vec<f32>; 3]>,
    /// The per-head q and k norms (head_dim each), when the model has them (Gemma 3).
    pub qk_norm: Option<[Vec<f32>; 2]>,
    /// The attention's and the FFN's output norms (d each), when the model has them (Gemma 3).
    pub post_norms: Option<[Vec<f32>; 2]>,
}

/// All weights. The embedding table doubles as the output matrix unless the file has a
/// separate one.
pub struct RawWeights<W = QWeight> {
    pub token_embd: W,         // (vocab, d)
    pub output: Option<W>,     // (vocab, d); None when tied to token_embd
    pub output_norm: Vec<f32>, // (d)
    pub blocks: Vec<RawBlock<W>>,
}

/// A parsed model file: its matrices as stored.
pub struct ModelFile {
    pub config: Config,
    pub vocab: Vocab,
    pub weights: RawWeights,
}

/// A checked model file's header: what the model is, before any matrix is read.
pub struct Header {
    pub config: Config,
    pub vocab: Vocab,
    content: Content,
}

const MAGIC: &[u8; 4] = b"GGUF";

impl ModelFile {
    /// Reads and checks a whole GGUF file of an architecture limbic runs
    /// ([`Config::check_runnable`]).
    pub fn read<R: Read + Seek>(reader: &mut R) -> Result<Self> {
        let Header {
            config,
            vocab,
            content,
        } = Header::read(reader)?;
        let weights = read_weights(&content, reader, &config, |p| p.join())?;
        Ok(Self {
            config,
            vocab,
            weights,
        })
    }

    /// Reads a model from bytes held in memory (the browser's path).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::read(&mut std::io::Cursor::new(bytes))
    }

    /// The vocabulary alone (what the tokenizer and chat template need), from the header of
    /// the model file in `bytes`; the weights are not read.
    pub fn vocab_from_bytes(bytes: &[u8]) -> Result<Vocab> {
        let content = read_header(&mut std::io::Cursor::new(bytes))?;
        read_vocab(&Meta(&content.metadata))
    }
}

impl Header {
    /// Reads and checks the header of a GGUF file of an architecture limbic runs
    /// ([`Config::check_runnable`]): its config, vocabulary and tensor table.
    pub fn read<R: Read + Seek>(reader: &mut R) -> Result<Self> {
        let content = read_header(reader)?;
        let names = content.tensor_infos.keys().map(String::as_str);
        let mut config = Config::from_metadata(&content.metadata, names)?;
        config.check_runnable()?;
        let vocab = read_vocab(&Meta(&content.metadata))?;
        if vocab.tokens.len() != config.vocab {
            return Err(Error::Model(format!(
                "vocabulary has {} tokens but the embedding has {} rows",
                vocab.tokens.len(),
                config.vocab
            )));
        }
        // Llama 3.1+'s rope frequency factors (its "llama3" rope scaling, stored as a tensor).
        if content.tensor_infos.contains_key("rope_freqs.weight") {
            let f = load_vector(&content, reader, "rope_freqs.weight", config.rope_dim / 2)?;
            if f.iter().any(|x| !x.is_finite() || *x <= 0.0) {
                return Err(Error::Model(
                    "rope_freqs.weight holds a factor that is not a positive number".into(),
                ));
            }
            config.rope_freq_factors = Some(f);
        }
        // All that is needed of the metadata is read: its copy of the vocabulary goes now.
        let mut content = content;
        content.metadata.clear();
        content.metadata.shrink_to_fit();
        Ok(Self {
            config,
            vocab,
            content,
        })
    }

    /// Reads the weights, each matrix handed to `convert` to be read in pieces of at most
    /// [`PIECE`] bytes (a backend's [`crate::backend::Backend::matrix_in_pieces`]), so at most
    /// one piece of the stored weights is held at a time; the largest (the embedding) first.
    /// The vocabulary is dropped before the weights are read (a tokenizer, once built, needs it
    /// no more).
    pub fn into_weights<R: Read + Seek, W>(
        self,
        reader: &mut R,
        convert: impl FnMut(Pieces<'_>) -> Result<W>,
    ) -> Result<(Config, RawWeights<W>)> {
        let Self {
            config, content, ..
        } = self;
        let weights = read_weights(&content, reader, &config, convert)?;
        Ok((config, weights))
    }
}

/// The header and tensor table, after checking the magic bytes.
pub(crate) fn read_header<R: Read + Seek>(reader: &mut R) -> Result<Content> {
    let len = reader.seek(SeekFrom::End(0))?;
    reader.seek(SeekFrom::Start(0))?;
    let mut magic = [0u8; 4];
    if len < 4 || reader.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Err(Error::Model("not a GGUF file (bad magic bytes)".into()));
    }
    reader.seek(SeekFrom::Start(0))?;
    header::read(reader).map_err(|e| {
        Error::Model(format!(
            "unreadable GGUF header (truncated or corrupt?): {e}"
        ))
    })
}

fn read_vocab(md: &Meta) -> Result<Vocab> {
    let model = match md.string("tokenizer.ggml.model")?.as_str() {
        "gpt2" => TokenizerModel::Bpe,
        "llama" => TokenizerModel::Spm,
        other => {
            return Err(Error::Model(format!(
                "tokenizer type {:?}: limbic reads byte-level BPE (gpt2) and SentencePiece (llama) only",
                clip(other)
            )))
        }
    };
    let tokens = md.strings("tokenizer.ggml.tokens")?;
    let per_token = |key: &str, what: &str, n: usize| -> Result<()> {
        if n != tokens.len() {
            return Err(Error::Model(format!(
                "{n} {what} for {} tokens ({key})",
                tokens.len()
            )));
        }
        Ok(())
    };
    let key = "tokenizer.ggml.token_type";
    let types = md
        .get(key)?
        .to_vec()
        .map_err(|e| bad(key, e))?
        .iter()
        .map(|t| {
            t.to_i32()
                .map(TokenType::from_gguf)
                .map_err(|e| bad(key, e))
        })
        .collect::<Result<Vec<_>>>()?;
    per_token(key, "token types", types.len())?;
    let (merges, scores) = match model {
        TokenizerModel::Bpe => (md.strings("tokenizer.ggml.merges")?, Vec::new()),
        TokenizerModel::Spm => {
            let key = "tokenizer.ggml.scores";
            let scores = md
                .get(key)?
                .to_vec()
                .map_err(|e| bad(key, e))?
                .iter()
                .map(|s| s.to_f32().map_err(|e| bad(key, e)))
                .collect::<Result<Vec<_>>>()?;
            per_token(key, "scores", scores.len())?;
            (Vec::new(), scores)
        }
    };
    let id = |key: &str| -> Result<u32> {
        let id = md.usize(key)?;
        if id >= tokens.len() {
            return Err(Error::Model(format!(
                "{key} = {id} is outside the vocabulary"
            )));
        }
        Ok(id as u32)
    };
    Ok(Vocab {
        model,
        bos: id("tokenizer.ggml.bos_token_id")?,
        eos: id("tokenizer.ggml.eos_token_id")?,
        pre: md.opt_string("tokenizer.ggml.pre")?,
        chat_template: md.opt_string("tokenizer.chat_template")?,
        add_bos: md.opt_bool("tokenizer.ggml.add_bos_token")?,
        add_space_prefix: md.opt_bool("tokenizer.ggml.add_space_prefix")?,
        tokens,
        types,
        scores,
        merges,
    })
}

fn read_weights<R: Read + Seek, W>(
    content: &Content,
    reader: &mut R,
    c: &Config,
    mut convert: impl FnMut(Pieces<'_>) -> Result<W>,
) -> Result<RawWeights<W>> {
    let (d, q, kv, ff) = (
        c.d_model,
        c.n_head * c.head_dim,
        c.n_kv_head * c.head_dim,
        c.d_ff,
    );
    // Each block has 9 tensors: a block count the table cannot hold is an error before any
    // allocation sized by it.
    if c.n_layer > content.tensor_infos.len() / 9 {
        return Err(Error::Model(format!(
            "{} blocks claimed but the file lists only {} tensors: most are missing",
            c.n_layer,
            content.tensor_infos.len()
        )));
    }
    let mut matrix = |reader: &mut R, name: &str, shape: &[usize]| -> Result<W> {
        convert(load_pieces(content, reader, name, shape)?)
    };
    let token_embd = matrix(reader, "token_embd.weight", &[c.vocab, d])?;
    let output = match c.tied_output {
        true => None,
        false => Some(matrix(reader, "output.weight", &[c.vocab, d])?),
    };
    let mut blocks = Vec::with_capacity(c.n_layer);
    for l in 0..c.n_layer {
        let p = |s: &str| format!("blk.{l}.{s}.weight");
        blocks.push(RawBlock {
            attn_norm: load_vector(content, reader, &p("attn_norm"), d)?,
            ffn_norm: load_vector(content, reader, &p("ffn_norm"), d)?,
            wq: matrix(reader, &p("attn_q"), &[q, d])?,
            wk: matrix(reader, &p("attn_k"), &[kv, d])?,
            wv: matrix(reader, &p("attn_v"), &[kv, d])?,
            wo: matrix(reader, &p("attn_output"), &[d, q])?,
            w_gate: matrix(reader, &p("ffn_gate"), &[ff, d])?,
            w_up: matrix(reader, &p("ffn_up"), &[ff, d])?,
            w_down: matrix(reader, &p("ffn_down"), &[d, ff])?,
            qkv_bias: if c.qkv_bias {
                let b = |s: &str| format!("blk.{l}.{s}.bias");
                Some([
                    load_vector(content, reader, &b("attn_q"), q)?,
                    load_vector(content, reader, &b("attn_k"), kv)?,
                    load_vector(content, reader, &b("attn_v"), kv)?,
                ])
            } else {
                None
            },
            qk_norm: if c.qk_norm {
                Some([
                    load_vector(content, reader, &p("attn_q_norm"), c.head_dim)?,
                    load_vector(content, reader, &p("attn_k_norm"), c.head_dim)?,
                ])
            } else {
                None
            },
            post_norms: if c.post_norms {
                Some([
                    load_vector(content, reader, &p("post_attention_norm"), d)?,
                    load_vector(content, reader, &p("post_ffw_norm"), d)?,
                ])
            } else {
                None
            },
        });
    }
    Ok(RawWeights {
        token_embd,
        output,
        output_norm: load_vector(content, reader, "output_norm.weight", d)?,
        blocks,
    })
}

/// Tensor `name` of `shape` (one or two dimensions) as stored: its bytes read straight from the
/// file into our [`QWeight`] (candle's reader only for the formats we dequantize).
fn load<R: Read + Seek>(
    content: &Content,
    reader: &mut R,
    name: &str,
    shape: &[usize],
) -> Result<QWeight> {
    let info = tensor_info(content, name, shape)?;
    // Read straight from the file only in a format we keep: the others are read by candle's
    // reader (and dequantized), not twice.
    if stored_dtype(info.ggml_dtype).is_some() {
        let values = shape.iter().product::<usize>();
        let raw = read_rows(content, reader, name, info, 0, values)?;
        if let Some(w) = stored(info.ggml_dtype, rows_cols(shape)?, raw)? {
            return Ok(w);
        }
    }
    let t = content
        .tensor(reader, name, &Device::Cpu)
        .map_err(|e| truncated(name, first_line(&e)))?;
    dequantized(&t, rows_cols(shape)?)
}

/// The largest piece of a stored matrix read at once ([`Header::weights`]).
pub const PIECE: usize = 4 << 20;

/// Matrix `name` of `shape` as stored, to be read in pieces of whole 8-row groups of at most
/// [`PIECE`] bytes when it is larger (in one piece for Q4_0, whose rewriting can fail on a
/// block, and the formats we dequantize).
fn load_pieces<'a, R: Read + Seek>(
    content: &'a Content,
    reader: &'a mut R,
    name: &str,
    shape: &[usize],
) -> Result<Pieces<'a>> {
    let info = tensor_info(content, name, shape)?;
    let (rows, cols) = rows_cols(shape)?;
    let row_bytes = header::tensor_bytes(&[cols as u64], info.ggml_dtype).unwrap_or(0) as usize;
    let dtype = match info.ggml_dtype {
        GgmlDType::Q4_0 => None,
        g => stored_dtype(g),
    };
    let (Some(dtype), true) = (dtype, row_bytes > 0 && rows * row_bytes > PIECE) else {
        return Ok(Pieces::one(load(content, reader, name, shape)?));
    };
    let per = (PIECE / row_bytes / 8).max(1) * 8;
    let (name, mut r0) = (name.to_string(), 0);
    Ok(Pieces::new(dtype, (rows, cols), move || {
        if r0 >= rows {
            return Ok(None);
        }
        let n = per.min(rows - r0);
        let raw = read_rows(content, reader, &name, info, r0 * cols, n * cols)?;
        r0 += n;
        stored(info.ggml_dtype, (n, cols), raw)
    }))
}

fn truncated(name: &str, e: String) -> Error {
    Error::Model(format!("tensor {name}: {e} (file truncated?)"))
}

/// Tensor `name`'s entry in the table, checked to be of `shape`.
fn tensor_info<'a>(
    content: &'a Content,
    name: &str,
    shape: &[usize],
) -> Result<&'a candle_core::quantized::gguf_file::TensorInfo> {
    let Some(info) = content.tensor_infos.get(name) else {
        return Err(Error::Model(format!("tensor {name} is missing")));
    };
    // Checked before reading: the header bounded the size by the file, the shape must match too.
    if info.shape.dims() != shape {
        return Err(Error::Model(format!(
            "tensor {name} has shape {:?}, expected {shape:?}",
            info.shape.dims()
        )));
    }
    Ok(info)
}

/// The stored bytes of `count` values of tensor `name` from value `first` on (whole blocks:
/// both are multiples of the format's block, as whole rows are).
fn read_rows<R: Read + Seek>(
    content: &Content,
    reader: &mut R,
    name: &str,
    info: &candle_core::quantized::gguf_file::TensorInfo,
    first: usize,
    count: usize,
) -> Result<Vec<u8>> {
    let bytes = |n: usize| {
        header::tensor_bytes(&[n as u64], info.ggml_dtype)
            .ok_or_else(|| Error::Model(format!("tensor {name}: {n} values are not whole blocks")))
    };
    let (skip, len) = (bytes(first)?, bytes(count)?);
    reader
        .seek(SeekFrom::Start(
            content.tensor_data_offset + info.offset + skip,
        ))
        .map_err(|e| truncated(name, first_line(&e)))?;
    let mut raw = vec![0u8; len as usize];
    reader
        .read_exact(&mut raw)
        .map_err(|e| truncated(name, first_line(&e)))?;
    Ok(raw)
}

/// `(rows, cols)` of a matrix, or of a vector as one row.
fn rows_cols(dims: &[usize]) -> Result<(usize, usize)> {
    match *dims {
        [cols] => Ok((1, cols)),
        [rows, cols] => Ok((rows, cols)),
        ref dims => Err(Error::Model(format!(
            "a weight of shape {dims:?}: matrices and vectors only"
        ))),
    }
}

/// A tensor of one or two dimensions (a vector is one row) as our [`QWeight`]: Q4_1, Q4_K,
/// Q5_0, Q5_1, Q5_K, Q6_K, Q8_0, f16 and f32 blocks as stored, Q4_0 rewritten value for value
/// as Q4_1, any other format (Q2_K, Q3_K, …) dequantized to f32.
pub fn qweight(t: &QTensor) -> Result<QWeight> {
    let shape = rows_cols(t.shape().dims())?;
    match stored(t.dtype(), shape, t.data()?.into_owned())? {
        Some(w) => Ok(w),
        None => dequantized(t, shape),
    }
}

/// A stored matrix's bytes in a format our backends take (Q4_0 rewritten); `None` for
/// the formats we dequantize.
fn stored(dtype: GgmlDType, shape: (usize, usize), bytes: Vec<u8>) -> Result<Option<QWeight>> {
    let (dtype, bytes) = match (dtype, stored_dtype(dtype)) {
        // Rewritten, value for value, into the formats our kernels run.
        (GgmlDType::Q4_0, _) => match q4_0_as_q4_1(&bytes) {
            Some(b) => (DType::Q4_1, b),
            None => return Ok(None),
        },
        (_, Some(ours)) => (ours, bytes),
        (_, None) => return Ok(None),
    };
    QWeight::new(dtype, shape, bytes).map(Some)
}

/// The format a stored one becomes for our backends; `None` for those we dequantize.
fn stored_dtype(dtype: GgmlDType) -> Option<DType> {
    Some(match dtype {
        GgmlDType::F32 => DType::F32,
        GgmlDType::F16 => DType::F16,
        GgmlDType::Q4_0 | GgmlDType::Q4_1 => DType::Q4_1,
        GgmlDType::Q8_0 => DType::Q8_0,
        GgmlDType::Q5_0 => DType::Q5_0,
        GgmlDType::Q4K => DType::Q4_K,
        GgmlDType::Q5_1 => DType::Q5_1,
        GgmlDType::Q5K => DType::Q5_K,
        GgmlDType::Q6K => DType::Q6_K,
        _ => return None,
    })
}

/// Any other format as f32 values (what every backend did with it).
fn dequantized(t: &QTensor, shape: (usize, usize)) -> Result<QWeight> {
    let values = t
        .dequantize(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    QWeight::new(DType::F32, shape, bytes)
}

/// Q4_0 blocks (f16 `d`, 16 bytes of nibbles; a value is `(q − 8)·d`) as Q4_1 blocks with the
/// same nibbles and minimum `m = −8·d`, exact in f16 (a power-of-two multiple); `None` if some
/// `8·d` leaves f16's range.
pub fn q4_0_as_q4_1(q4_0: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(q4_0.len() / 18 * 20);
    for b in q4_0.chunks_exact(18) {
        let m = half::f16::from_f32(-8.0 * half::f16::from_le_bytes([b[0], b[1]]).to_f32());
        if !m.is_finite() {
            return None;
        }
        out.extend_from_slice(&b[..2]);
        out.extend_from_slice(&m.to_le_bytes());
        out.extend_from_slice(&b[2..]);
    }
    Some(out)
}

fn load_vector<R: Read + Seek>(
    content: &Content,
    reader: &mut R,
    name: &str,
    d: usize,
) -> Result<Vec<f32>> {
    let t = load(content, reader, name, &[d])?;
    // Asked of the file's own type: `load` turns formats we do not read into f32.
    let stored = content.tensor_infos[name].ggml_dtype;
    if stored != GgmlDType::F32 {
        return Err(Error::Model(format!(
            "tensor {name} should be f32, is {stored:?}"
        )));
    }
    Ok(t.dequantize())
}
