//! Shared by the native integration tests: the model file and a fresh engine.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn model_path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(limbic::DEFAULT_MODEL);
    assert!(p.exists(), "{} is missing: run `make model`", p.display());
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
