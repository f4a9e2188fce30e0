//! Shared by the native integration tests: the model file, a fresh engine, seeded numbers and
//! a tolerance check.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn model_path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(limbic::DEFAULT_MODEL);
    assert!(p.exists(), "{} is missing: run `make model`", p.display());
    p
}

/// Gemma 3 270M (Q4_K_M), the second architecture's test model (`make gemma`).
pub fn gemma_path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/gemma-3-270m.Q4_K_M.gguf");
    assert!(p.exists(), "{} is missing: run `make gemma`", p.display());
    p
}

pub fn model_bytes() -> Vec<u8> {
    std::fs::read(model_path()).expect("read model")
}

pub fn engine() -> limbic::Session {
    limbic::Session::open(&model_path()).expect("load model")
}

pub fn fixture(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).expect("read fixture"))
        .expect("fixture is JSON")
}

pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

pub fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = max
        + logits
            .iter()
            .map(|&l| (l as f64 - max).exp())
            .sum::<f64>()
            .ln();
    logits.iter().map(|&l| l as f64 - lse).collect()
}

/// Greedy ids after `prompt` (token ids), at most `n`.
pub fn greedy(engine: &mut limbic::Session, prompt: Vec<u32>, n: usize) -> Vec<u32> {
    engine
        .reply(prompt, &limbic::Sampler::default(), n)
        .expect("greedy reply")
}

/// Runs the `limbic` binary on the real model from the crate root: (success, stdout, stderr).
pub fn cli(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_limbic"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--model", model_path().to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Deterministic pseudo-random numbers in [-scale, scale).
pub fn rand(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Asserts `|got - want| ≤ tol · (1 + |want|)` everywhere, naming the worst index.
pub fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let (worst, err) = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / (1.0 + w.abs()))
        .enumerate()
        .fold(
            (0, 0.0f32),
            |a, (i, e)| if e > a.1 || e.is_nan() { (i, e) } else { a },
        );
    assert!(
        err <= tol,
        "{what}: worst at index {worst}: {} vs {} (relative error {err}, tolerance {tol})",
        got[worst],
        want[worst]
    );
}

/// A llama-family config with 64-wide heads and none of the other families' extras:
/// `(n_head, n_kv_head)` over `d_model`.
pub fn llama_config(
    n_layer: usize,
    d_model: usize,
    (n_head, n_kv_head): (usize, usize),
    d_ff: usize,
    rope_base: f32,
    (context, vocab): (usize, usize),
) -> limbic::Config {
    limbic::Config {
        arch: "llama".into(),
        n_layer,
        d_model,
        n_head,
        n_kv_head,
        head_dim: 64,
        d_ff,
        rope_base,
        rope_dim: 64,
        rope_scaling: limbic::gguf::RopeScaling::None,
        rms_eps: 1e-5,
        context,
        vocab,
        tied_output: true,
        qkv_bias: false,
        rope_neox: false,
        rope_freq_factors: None,
        embd_scale: 1.0,
        attn_scale: 0.125,
        ffn_act: limbic::gguf::Act::Silu,
        qk_norm: false,
        post_norms: false,
        sliding: None,
    }
}

/// Deterministic pseudo-random numbers in [-1, 1).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, d: usize, scale: f32) -> Vec<f32> {
        (0..d).map(|_| self.next() * scale).collect()
    }
}

pub fn cos(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}
