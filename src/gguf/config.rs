//! [`Config`] from the file's metadata: `general.architecture` names the family, and its
//! hyper-parameters are read from that family's `{arch}.*` keys (llama, qwen2 and gemma3 write
//! the same key names under their own prefix). Parsing is general; what limbic cannot run yet
//! (any architecture but llama, qwen2 and gemma3, rope scaling, partial rope) is refused
//! afterwards by [`Config::check_runnable`], so a new family is added by shrinking that list;
//! what only the CPU runs (heads other than 64 wide, Gemma's extras) by
//! [`Config::check_gpu_runnable`].

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;

use super::clip;
use super::meta::Meta;
use crate::error::{Error, Result};

/// Model hyper-parameters, read from the file's metadata (and, for the output matrix and
/// biases, from which tensors it lists).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `general.architecture`, e.g. `llama`: the family whose keys these are.
    pub arch: String,
    pub n_layer: usize,
    pub d_model: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    /// Width of one attention head (keys, queries and values): the file's key length when it
    /// gives one, else `d_model / n_head`.
    pub head_dim: usize,
    pub d_ff: usize,
    /// Rotary base frequency θ.
    pub rope_base: f32,
    /// Leading dimensions of each head that rope rotates (`head_dim` unless the file says less).
    pub rope_dim: usize,
    pub rope_scaling: RopeScaling,
    pub rms_eps: f32,
    /// Longest sequence (prompt + reply) in tokens.
    pub context: usize,
    pub vocab: usize,
    /// Whether the token embedding doubles as the output matrix (the file has no
    /// `output.weight`); otherwise the separate output matrix computes the logits.
    pub tied_output: bool,
    /// Whether the attention's q/k/v projections carry biases.
    pub qkv_bias: bool,
    /// Per rope pair, a factor its frequency is divided by (`rope_freqs.weight`: Llama 3.1+'s
    /// long-context scaling), when the file has them; read with the weights.
    pub rope_freq_factors: Option<Vec<f32>>,
    /// Rope pairs: NEOX style (dimension `i` with `i + rope_dim/2`, as llama.cpp runs qwen2,
    /// whose q/k weights are stored unpermuted) or llama's adjacent pairs (`2i`, `2i + 1`).
    pub rope_neox: bool,
    /// The token embedding is multiplied by this before the first block (Gemma: √d).
    pub embd_scale: f32,
    /// Attention scores are `q·k` times this (`1/√head_dim`, but Gemma 3 27B's differs).
    pub attn_scale: f32,
    /// The FFN's gate activation.
    pub ffn_act: Act,
    /// Each head's q and k are RMS-normed (with weights of width `head_dim`) before rope
    /// (Gemma 3: `attn_q_norm`, `attn_k_norm`).
    pub qk_norm: bool,
    /// The attention's and the FFN's outputs are RMS-normed before their residual adds
    /// (Gemma 3: `post_attention_norm`, `post_ffw_norm`).
    pub post_norms: bool,
    /// Sliding-window attention in most layers (Gemma 3), when the model has it.
    pub sliding: Option<SlidingWindow>,
}

/// The FFN's gate activation: `act(x·gateᵀ) * (x·upᵀ)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    /// SiLU (llama, qwen2).
    Silu,
    /// GELU, tanh approximation (Gemma).
    GeluTanh,
}

/// Sliding-window attention as Gemma 3 has it: every layer but each `every`-th attends to the
/// last `window` positions only (itself included) and rotates with its own rope base.
#[derive(Debug, Clone, PartialEq)]
pub struct SlidingWindow {
    pub window: usize,
    pub every: usize,
    pub rope_base: f32,
}

/// Rope scaling for contexts longer than the model was trained on.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// Positions as they are (also a linear factor of 1, or none given).
    None,
    /// Positions divided by `factor`.
    Linear { factor: f32 },
    /// Another kind (`yarn`, `longrope`, ...), by the file's name for it.
    Other { kind: String, factor: f32 },
}

/// Longest context accepted: the rope tables are built for all of it at load.
const MAX_CONTEXT: usize = 1 << 17;
/// Widest attention head accepted (rope tables hold `context × head_dim` values).
const MAX_HEAD_DIM: usize = 256;
/// The architectures limbic runs.
const RUNNABLE: &[&str] = &["llama", "qwen2", "gemma3"];
/// The architectures whose rope is NEOX style in llama.cpp (of those limbic reads).
const NEOX: &[&str] = &["qwen2", "gemma3"];
/// Whether the GPU's attention kernel takes heads of `head_dim` values: powers of two from 16
/// to 256 (its workgroup's partial sums are sized by it; see attention.wgsl).
pub fn gpu_takes_head_dim(head_dim: usize) -> bool {
    head_dim.is_power_of_two() && (16..=256).contains(&head_dim)
}

impl Config {
    /// Whether `layer` attends through a sliding window (and rotates with its rope base).
    pub fn is_local(&self, layer: usize) -> bool {
        self.sliding
            .as_ref()
            .is_some_and(|s| !(layer + 1).is_multiple_of(s.every))
    }

    /// How many of the last positions `layer` attends to (itself included); `None`: all.
    pub fn window(&self, layer: usize) -> Option<usize> {
        self.sliding
            .as_ref()
            .filter(|_| self.is_local(layer))
            .map(|s| s.window)
    }

    /// Reads the config from metadata `md` and the names of the file's tensors. An error names
    /// the key that is missing or wrong; a family limbic does not run is named first.
    pub fn from_metadata<'a>(
        md: &HashMap<String, Value>,
        tensor_names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self> {
        let md = Meta(md);
        let arch = md.string("general.architecture")?;
        parse(&md, &arch, tensor_names).map_err(|e| match e {
            Error::Model(m) if !RUNNABLE.contains(&arch.as_str()) => {
                Error::Model(format!("{}; {m}", not_runnable_arch(&arch)))
            }
            e => e,
        })
    }

    /// `Ok` when limbic can run this model; else one [`Error::Model`] line naming everything
    /// that is missing.
    pub fn check_runnable(&self) -> Result<()> {
        let mut missing = Vec::new();
        if !RUNNABLE.contains(&self.arch.as_str()) {
            missing.push(not_runnable_arch(&self.arch));
        }
        match &self.rope_scaling {
            RopeScaling::None => {}
            RopeScaling::Linear { factor } => missing.push(format!(
                "linear rope scaling ×{factor} is not supported yet"
            )),
            RopeScaling::Other { kind, factor } => missing.push(format!(
                "rope scaling {:?} ×{factor} is not supported yet",
                clip(kind)
            )),
        }
        if self.rope_dim != self.head_dim {
            missing.push(format!(
                "partial rope ({} of {} dimensions) is not supported yet",
                self.rope_dim, self.head_dim
            ));
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::Model(missing.join("; ")))
        }
    }

    /// `Ok` when the GPU backend runs this model too; else one [`Error::Gpu`] line naming what
    /// only the CPU runs (the caller falls back to the CPU, saying so).
    pub fn check_gpu_runnable(&self) -> Result<()> {
        if gpu_takes_head_dim(self.head_dim) {
            return Ok(());
        }
        Err(Error::Gpu(format!(
            "the attention kernel takes heads of 16 to 256 values (a power of two), the \
             model's have {}",
            self.head_dim
        )))
    }
}

fn not_runnable_arch(arch: &str) -> String {
    format!(
        "architecture is {:?}, not supported yet (limbic runs {})",
        clip(arch),
        RUNNABLE.join(", ")
    )
}

fn parse<'a>(
    md: &Meta,
    arch: &str,
    tensor_names: impl IntoIterator<Item = &'a str>,
) -> Result<Config> {
    let key = |k: &str| format!("{arch}.{k}");
    let d_model = md.usize(&key("embedding_length"))?;
    let n_head = md.usize(&key("attention.head_count"))?;
    let n_kv_head = md.usize(&key("attention.head_count_kv"))?;
    if n_head == 0 || n_kv_head == 0 || n_head % n_kv_head != 0 {
        return Err(Error::Model(format!(
            "inconsistent heads: {n_head} heads, {n_kv_head} kv heads"
        )));
    }
    let head_dim = match md.opt_usize(&key("attention.key_length"))? {
        Some(k) => k,
        None if d_model % n_head == 0 => d_model / n_head,
        None => {
            return Err(Error::Model(format!(
                "inconsistent heads: d {d_model} is not a multiple of {n_head} heads"
            )))
        }
    };
    if head_dim == 0 || head_dim % 2 != 0 || head_dim > MAX_HEAD_DIM {
        return Err(Error::Model(format!(
            "head width {head_dim} is not an even number up to {MAX_HEAD_DIM}"
        )));
    }
    if let Some(v) = md.opt_usize(&key("attention.value_length"))? {
        if v != head_dim {
            return Err(Error::Model(format!(
                "value width {v} differs from the key width {head_dim}"
            )));
        }
    }
    let rope_dim = md
        .opt_usize(&key("rope.dimension_count"))?
        .unwrap_or(head_dim);
    if rope_dim == 0 || rope_dim % 2 != 0 || rope_dim > head_dim {
        return Err(Error::Model(format!(
            "rope over {rope_dim} dimensions of a {head_dim}-wide head"
        )));
    }
    let context = md.usize(&key("context_length"))?;
    if context == 0 || context > MAX_CONTEXT {
        return Err(Error::Model(format!(
            "context length {context} is outside 1..={MAX_CONTEXT}"
        )));
    }
    let (mut tied_output, mut qkv_bias, mut qk_norm, mut post_norms) = (true, false, false, false);
    for name in tensor_names {
        tied_output &= name != "output.weight";
        let block =
            |ends: &[&str]| name.starts_with("blk.") && ends.iter().any(|e| name.ends_with(e));
        qkv_bias |= block(&[".attn_q.bias", ".attn_k.bias", ".attn_v.bias"]);
        qk_norm |= block(&[".attn_q_norm.weight", ".attn_k_norm.weight"]);
        post_norms |= block(&[".post_attention_norm.weight", ".post_ffw_norm.weight"]);
    }
    let n_layer = md.usize(&key("block_count"))?;
    // Gemma 3 as llama.cpp runs it: √d embedding scale, GELU, every sixth layer global and the
    // others in a window with rope base 10,000; 27B (62 layers) scales scores by √(d / heads).
    let gemma3 = arch == "gemma3";
    let sliding = if gemma3 {
        let window = md.usize(&key("attention.sliding_window"))?;
        if window == 0 {
            return Err(Error::Model("sliding window of 0 positions".into()));
        }
        Some(SlidingWindow {
            window,
            every: 6,
            rope_base: 10_000.0,
        })
    } else {
        None
    };
    let attn_width = if gemma3 && n_layer == 62 {
        d_model / n_head
    } else {
        head_dim
    };
    Ok(Config {
        n_layer,
        d_model,
        n_head,
        n_kv_head,
        head_dim,
        d_ff: md.usize(&key("feed_forward_length"))?,
        rope_base: md.opt_f32(&key("rope.freq_base"))?.unwrap_or(10_000.0),
        rope_dim,
        rope_scaling: rope_scaling(md, arch)?,
        rms_eps: md.f32(&key("attention.layer_norm_rms_epsilon"))?,
        context,
        vocab: md.strings("tokenizer.ggml.tokens")?.len(),
        tied_output,
        qkv_bias,
        rope_neox: NEOX.contains(&arch),
        rope_freq_factors: None,
        embd_scale: if gemma3 { (d_model as f32).sqrt() } else { 1.0 },
        attn_scale: 1.0 / (attn_width as f32).sqrt(),
        ffn_act: if gemma3 { Act::GeluTanh } else { Act::Silu },
        qk_norm,
        post_norms,
        sliding,
        arch: arch.to_string(),
    })
}

/// As llama.cpp reads it: the kind defaults to linear, the factor to 1 (0 also means 1), and
/// the factor's older key `rope.scale_linear` is read when the newer one is absent.
fn rope_scaling(md: &Meta, arch: &str) -> Result<RopeScaling> {
    let kind = md
        .opt_string(&format!("{arch}.rope.scaling.type"))?
        .unwrap_or_else(|| "linear".into());
    let factor = match md.opt_f32(&format!("{arch}.rope.scaling.factor"))? {
        Some(f) => Some(f),
        None => md.opt_f32(&format!("{arch}.rope.scale_linear"))?,
    }
    .filter(|&f| f != 0.0)
    .unwrap_or(1.0);
    Ok(match kind.as_str() {
        "none" => RopeScaling::None,
        "linear" if factor == 1.0 => RopeScaling::None,
        "linear" => RopeScaling::Linear { factor },
        _ => RopeScaling::Other { kind, factor },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use Value::{F32, U32};

    /// `md` with `{arch}.{key}` set to each value, `arch` being md's architecture.
    fn with(mut md: HashMap<String, Value>, kv: &[(&str, Value)]) -> HashMap<String, Value> {
        let arch = md["general.architecture"].to_string().unwrap().clone();
        for (k, v) in kv {
            md.insert(format!("{arch}.{k}"), v.clone());
        }
        md
    }

    /// SmolLM2-135M's metadata as the file writes it (vocabulary cut to 3 tokens), under `arch`.
    fn smollm2(arch: &str) -> HashMap<String, Value> {
        let tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
        let tokens = tokens.iter().map(|t| Value::String(t.to_string()));
        let md = HashMap::from([
            ("general.architecture".into(), Value::String(arch.into())),
            (
                "tokenizer.ggml.tokens".into(),
                Value::Array(tokens.collect()),
            ),
        ]);
        with(
            md,
            &[
                ("block_count", U32(30)),
                ("context_length", U32(8192)),
                ("embedding_length", U32(576)),
                ("feed_forward_length", U32(1536)),
                ("attention.head_count", U32(9)),
                ("attention.head_count_kv", U32(3)),
                ("rope.freq_base", F32(100_000.0)),
                ("rope.dimension_count", U32(64)),
                ("attention.layer_norm_rms_epsilon", F32(1e-5)),
            ],
        )
    }

    const LLAMA_TENSORS: &[&str] = &[
        "token_embd.weight",
        "blk.0.attn_q.weight",
        "output_norm.weight",
    ];

    fn parse(md: &HashMap<String, Value>, tensors: &[&'static str]) -> Result<Config> {
        Config::from_metadata(md, tensors.iter().copied())
    }

    fn message(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(Error::Model(m)) => m,
            other => panic!("expected a model error, got {other:?}"),
        }
    }

    #[test]
    fn smollm2_reads_as_before_and_runs() {
        let c = parse(&smollm2("llama"), LLAMA_TENSORS).unwrap();
        assert_eq!(c.arch, "llama");
        let sizes = (
            c.n_layer,
            c.d_model,
            c.n_head,
            c.n_kv_head,
            c.head_dim,
            c.d_ff,
        );
        assert_eq!(sizes, (30, 576, 9, 3, 64, 1536));
        let rope = (c.rope_base, c.rope_dim, &c.rope_scaling);
        assert_eq!(rope, (100_000.0, 64, &RopeScaling::None));
        let rest = (c.rms_eps, c.context, c.vocab, c.tied_output, c.qkv_bias);
        assert_eq!(rest, (1e-5, 8192, 3, true, false));
        c.check_runnable().unwrap();
    }

    #[test]
    fn keys_are_read_under_the_files_architecture() {
        let mut md = with(
            smollm2("qwen2"),
            &[
                ("embedding_length", U32(896)),
                ("attention.head_count", U32(14)),
                ("attention.head_count_kv", U32(2)),
            ],
        );
        md.remove("qwen2.rope.dimension_count");
        md.remove("qwen2.rope.freq_base");
        let tensors = [
            "token_embd.weight",
            "output.weight",
            "blk.0.attn_q.bias",
            "blk.0.attn_k.bias",
        ];
        let c = parse(&md, &tensors).unwrap();
        assert_eq!((c.arch.as_str(), c.d_model, c.head_dim), ("qwen2", 896, 64));
        let rope = (c.rope_dim, c.rope_base);
        assert_eq!(rope, (64, 10_000.0), "defaults when absent");
        assert!(!c.tied_output && c.qkv_bias && c.rope_neox);
        // qwen2 with 64-wide heads (Qwen2.5 0.5B's) runs on both engines.
        c.check_runnable().unwrap();
        c.check_gpu_runnable().unwrap();
        // A llama file with a separate output matrix runs: the forward pass uses it.
        let c = parse(&smollm2("llama"), &["token_embd.weight", "output.weight"]).unwrap();
        assert!(!c.tied_output);
        c.check_runnable().unwrap();
    }

    #[test]
    fn an_explicit_key_length_sets_the_head_width() {
        // gemma3-270m: 4 heads of 256 over a width of 640 (not 640 / 4).
        let md = with(
            smollm2("gemma3"),
            &[
                ("embedding_length", U32(640)),
                ("attention.head_count", U32(4)),
                ("attention.head_count_kv", U32(1)),
                ("attention.key_length", U32(256)),
                ("attention.value_length", U32(256)),
                ("rope.dimension_count", U32(256)),
                ("attention.sliding_window", U32(512)),
            ],
        );
        let c = parse(&md, LLAMA_TENSORS).unwrap();
        assert_eq!((c.head_dim, c.rope_dim), (256, 256));
        // Gemma 3's own settings, as llama.cpp sets them for the family.
        assert_eq!((c.embd_scale, c.attn_scale), (640f32.sqrt(), 1.0 / 16.0));
        assert_eq!(c.ffn_act, Act::GeluTanh);
        let s = c.sliding.as_ref().unwrap();
        assert_eq!((s.window, s.every, s.rope_base), (512, 6, 10_000.0));
        assert!(
            !c.qk_norm && !c.post_norms,
            "read from the tensors the file lists"
        );
        c.check_runnable().unwrap();
        // Its ops and its 256-wide heads have WebGPU kernels too.
        c.check_gpu_runnable().unwrap();
        let wide = with(md.clone(), &[("attention.value_length", U32(128))]);
        assert!(message(parse(&wide, LLAMA_TENSORS)).contains("value width 128"));
        let md = with(md, &[("attention.sliding_window", U32(0))]);
        assert!(message(parse(&md, LLAMA_TENSORS)).contains("sliding window of 0"));
    }

    #[test]
    fn rope_scaling_is_read_as_llama_cpp_reads_it() {
        let s = |x: &str| Value::String(x.into());
        let scaled = |kv: &[(&str, Value)]| parse(&with(smollm2("llama"), kv), LLAMA_TENSORS);
        let scaling = |kv: &[(&str, Value)]| scaled(kv).unwrap().rope_scaling;
        assert_eq!(scaling(&[]), RopeScaling::None);
        assert_eq!(
            scaling(&[("rope.scaling.factor", F32(0.0))]),
            RopeScaling::None
        );
        let none = [
            ("rope.scaling.type", s("none")),
            ("rope.scaling.factor", F32(4.0)),
        ];
        assert_eq!(scaling(&none), RopeScaling::None);
        assert_eq!(
            scaling(&[("rope.scale_linear", F32(2.0))]),
            RopeScaling::Linear { factor: 2.0 }
        );
        let yarn = [
            ("rope.scaling.type", s("yarn")),
            ("rope.scaling.factor", F32(4.0)),
        ];
        let kind = "yarn".to_string();
        assert_eq!(scaling(&yarn), RopeScaling::Other { kind, factor: 4.0 });
        let m = message(scaled(&yarn).unwrap().check_runnable());
        assert_eq!(m, "rope scaling \"yarn\" ×4 is not supported yet");
        let m = message(scaled(&[("rope.scaling.factor", s("four"))]));
        assert!(
            m.starts_with("metadata key llama.rope.scaling.factor"),
            "{m}"
        );
    }

    #[test]
    fn inconsistent_or_unknown_metadata_is_refused_by_name() {
        let md = with(smollm2("llama"), &[("rope.dimension_count", U32(32))]);
        let m = message(parse(&md, LLAMA_TENSORS).unwrap().check_runnable());
        assert_eq!(m, "partial rope (32 of 64 dimensions) is not supported yet");
        let md = with(md, &[("rope.dimension_count", U32(66))]);
        assert!(message(parse(&md, LLAMA_TENSORS)).contains("rope over 66 dimensions"));
        let md = with(smollm2("llama"), &[("attention.head_count", U32(7))]);
        assert!(message(parse(&md, LLAMA_TENSORS)).contains("inconsistent heads"));
        let mut md = smollm2("llama");
        md.remove("llama.block_count");
        let m = message(parse(&md, LLAMA_TENSORS));
        assert_eq!(m, "metadata key llama.block_count is missing");
        // An unknown family without its keys: the family is named before the missing key.
        md.insert("general.architecture".into(), Value::String("mamba".into()));
        assert_eq!(
            message(parse(&md, LLAMA_TENSORS)),
            "architecture is \"mamba\", not supported yet (limbic runs llama, qwen2, gemma3); \
             metadata key mamba.embedding_length is missing"
        );
    }
}
