//! Models of other shapes and families than SmolLM2, held to llama.cpp: tiny random-weight files
//! (f32 weights) and llama.cpp's token ids and last-position logits on each parity text, written
//! by `make tiny-models` (scripts/tiny_models.py) into tests/fixtures/. A `qwen2` model (q/k/v
//! biases, NEOX rope, GQA 2:1, heads 16 wide, its own pre-tokenizer), a `llama` one (a
//! separate output matrix, GQA 4:1, heads 32 wide, rope base 500000) and a `llama` as Llama 3.x
//! files are (the `llama-bpe` pre-tokenizer: its split, whole words before merges, BOS first;
//! rope frequency factors), and a `gemma3` (embedding scale, q/k norms, post-norms, GELU, a
//! sliding window of 4 positions in five of its six layers, a SentencePiece-style vocabulary).
//! The same on the GPU (lavapipe here), for all four.

use std::path::Path;

use limbic::gguf::Act;
use limbic::{ModelFile, Sampler, Session};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn cases(model: &str) -> Vec<serde_json::Value> {
    let all: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(DIR).join("tiny_models.json")).unwrap(),
    )
    .unwrap();
    all[model].as_array().unwrap().clone()
}

fn bytes(model: &str) -> Vec<u8> {
    std::fs::read(Path::new(DIR).join(format!("{model}.gguf"))).unwrap()
}

/// Prompt ids (BOS first where the model wants it) equal llama.cpp's, and so do the last
/// position's logits to `tol` of their largest (f32 rounding, 1e-4: both engines compute in
/// f32 from f32 weights), so the top-1 is the same too. On the CPU, and (with the `gpu`
/// feature) on the GPU (lavapipe here).
fn same_as_llama_cpp(model: &str, tol: f32) {
    same_on(model, tol, Session::cpu(&bytes(model)).unwrap());
    #[cfg(feature = "gpu")]
    {
        let s = Session::gpu_native(bytes(model)).unwrap();
        assert!(
            s.fallback.is_none(),
            "{model} not on the GPU: {:?}",
            s.fallback
        );
        same_on(model, tol, s);
    }
}

fn same_on(model: &str, tol: f32, mut s: Session) {
    let on = s.backend_name();
    for case in cases(model) {
        let text = case["text"].as_str().unwrap();
        let want_ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let ids = s.encode_prompt(text).unwrap();
        assert_eq!(ids, want_ids, "{model} ({on}): token ids of {text:?}");
        s.start_now(ids, &Sampler::default(), 1).unwrap();
        let got = s.generation.as_ref().unwrap().next_logits.clone().unwrap();
        let want: Vec<f32> = serde_json::from_value(case["logits"].clone()).unwrap();
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(1f32, |m, x| m.max(x.abs()));
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= tol * scale,
            "{model} ({on}) {text:?}: max |Δlogit| {worst} (scale {scale})"
        );
        eprintln!("{model} ({on}) {text:?}: max |Δlogit| {worst:.2e} of {scale:.1}");
        let top = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        assert_eq!(top(&got), top(&want), "{model} ({on}) {text:?}: top-1");
    }
}

#[test]
fn qwen2_biases_and_neox_rope_equal_llama_cpp() {
    let c = ModelFile::from_bytes(&bytes("tiny_qwen2")).unwrap().config;
    assert!(c.qkv_bias && c.rope_neox && c.tied_output && c.head_dim == 16);
    same_as_llama_cpp("tiny_qwen2", 1e-4);
}

#[test]
fn llama_with_a_separate_output_and_wider_heads_equals_llama_cpp() {
    let c = ModelFile::from_bytes(&bytes("tiny_llama")).unwrap().config;
    assert!(!c.tied_output && !c.rope_neox && c.head_dim == 32 && c.n_head / c.n_kv_head == 4);
    same_as_llama_cpp("tiny_llama", 1e-4);
}

#[test]
fn llama3_files_tokenize_and_rope_as_llama_cpp() {
    let s = Session::cpu(&bytes("tiny_llama3")).unwrap();
    let c = s.config();
    assert!(c
        .rope_freq_factors
        .as_ref()
        .is_some_and(|f| f.len() == c.head_dim / 2));
    // No add_bos_token in the file: llama-bpe's default puts BOS first.
    assert!(s.tokenizer.add_bos);
    same_as_llama_cpp("tiny_llama3", 1e-4);
}

#[test]
fn gemma3_norms_gelu_and_sliding_window_equal_llama_cpp() {
    let s = Session::cpu(&bytes("tiny_gemma3")).unwrap();
    let c = s.config();
    assert!(c.qk_norm && c.post_norms && c.rope_neox && c.ffn_act == Act::GeluTanh);
    assert_eq!((c.head_dim, c.d_model, c.embd_scale), (32, 64, 8.0));
    let local: Vec<usize> = (0..c.n_layer).filter(|&l| c.is_local(l)).collect();
    assert_eq!(
        local,
        [0, 1, 2, 3, 4],
        "every sixth layer global, as llama.cpp has it"
    );
    assert_eq!((c.window(0), c.window(5)), (Some(4), None));
    assert!(s.tokenizer.add_bos && !s.tokenizer.chat_available());
    same_as_llama_cpp("tiny_gemma3", 1e-4);
}

#[test]
fn the_gpu_says_what_it_does_not_run() {
    // Heads of 16 and 32 values, f32 weights, Gemma 3's ops: the GPU runs all four
    // (same_as_llama_cpp); heads of another width it refuses, saying why.
    for model in ["tiny_qwen2", "tiny_llama", "tiny_llama3", "tiny_gemma3"] {
        let c = ModelFile::from_bytes(&bytes(model)).unwrap().config;
        assert!(c.check_gpu_runnable().is_ok(), "{model}");
    }
    let mut wide = ModelFile::from_bytes(&bytes("tiny_llama")).unwrap().config;
    wide.head_dim = 80;
    let m = wide.check_gpu_runnable().unwrap_err().to_string();
    assert_eq!(
        m,
        "webgpu: the attention kernel takes heads of 16 to 256 values (a power of two), the \
         model's have 80"
    );
    #[cfg(feature = "gpu")]
    {
        let err = limbic::backend::gpu::Gpu::new(&wide)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("heads of 16 to 256 values"), "{err}");
    }
}
