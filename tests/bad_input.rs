//! Every bad input gives a clear one-line error and leaves the engine usable.

mod common;
use common::*;
use std::process::Command;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};
use limbic::{Error, HookPoint, HookSet, Intervention, ModelFile, Sampler};

fn model_err(bytes: &[u8]) -> String {
    match ModelFile::from_bytes(bytes) {
        Err(e @ Error::Model(_)) => e.to_string(),
        Err(e) => panic!("wrong error kind: {e}"),
        Ok(_) => panic!("bad model file was accepted"),
    }
}

/// A small GGUF file with the given metadata and one f32 tensor.
fn gguf(metadata: &[(&str, Value)]) -> Vec<u8> {
    let t = QTensor::quantize(
        &Tensor::zeros(64, candle_core::DType::F32, &Device::Cpu).unwrap(),
        candle_core::quantized::GgmlDType::F32,
    )
    .unwrap();
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md, &[("token_embd.weight", &t)]).unwrap();
    out.into_inner()
}

#[test]
fn foreign_truncated_and_corrupt_model_files_are_rejected() {
    assert!(model_err(b"").contains("not a GGUF"));
    assert!(model_err(b"PK\x03\x04 this is a zip").contains("not a GGUF"));
    let real = model_bytes();
    let header = model_err(&real[..4096]);
    assert!(header.contains("truncated"), "{header}");
    let half = model_err(&real[..real.len() / 2]);
    assert!(
        half.contains("truncated") && half.contains("tensor"),
        "{half}"
    );
    let gpt2 = model_err(&gguf(&[(
        "general.architecture",
        Value::String("gpt2".into()),
    )]));
    assert!(gpt2.contains("architecture is \"gpt2\""), "{gpt2}");

    // A llama header whose tensors are missing: copy the real metadata, keep one tensor.
    let content = gguf_file::Content::read(&mut std::io::Cursor::new(&real)).unwrap();
    let md: Vec<(&str, Value)> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let missing = model_err(&gguf(&md));
    assert!(
        missing.contains("missing") || missing.contains("shape"),
        "{missing}"
    );
    for msg in [header, half, gpt2, missing] {
        assert!(!msg.contains('\n'), "error is not one line: {msg}");
    }
}

#[test]
fn bad_prompts_sampling_and_hooks_are_errors_and_the_engine_still_works() {
    let mut e = engine();
    let good = e.encode_prompt("Tell me about rivers.").unwrap();
    let reference = greedy(&mut e, good.clone(), 8);

    assert!(matches!(e.encode_prompt(""), Err(Error::Prompt(_))));
    assert!(matches!(e.encode_prompt("  \n\t "), Err(Error::Prompt(_))));
    let long = "word ".repeat(9000);
    let err = e.encode_prompt(&long).unwrap_err().to_string();
    assert!(err.contains("8192"), "{err}");
    assert!(e.start(Vec::new(), &Sampler::default(), 4).is_err());
    assert!(
        e.model().forward(&[60_000]).is_err(),
        "token id outside the vocabulary was run"
    );

    for bad in [
        Sampler {
            temperature: -1.0,
            ..Sampler::default()
        },
        Sampler {
            temperature: f64::NAN,
            ..Sampler::default()
        },
        Sampler {
            top_p: 0.0,
            ..Sampler::default()
        },
        Sampler {
            top_p: 1.5,
            ..Sampler::default()
        },
        Sampler {
            repeat_penalty: f32::INFINITY,
            ..Sampler::default()
        },
    ] {
        assert!(
            matches!(e.start(good.clone(), &bad, 4), Err(Error::Sampling(_))),
            "{bad:?} accepted"
        );
    }

    let d = e.config().d_model;
    let bad_hooks = [
        (HookPoint::ResidPost(30), Intervention::Capture),
        (HookPoint::ResidPre(99), Intervention::Capture),
        (
            HookPoint::ResidPost(5),
            Intervention::Add {
                vector: vec![1.0; d],
                alpha: f32::NAN,
            },
        ),
        (
            HookPoint::ResidPost(5),
            Intervention::Add {
                vector: vec![1.0; d],
                alpha: f32::INFINITY,
            },
        ),
        (
            HookPoint::ResidPost(5),
            Intervention::Add {
                vector: vec![1.0; d - 1],
                alpha: 1.0,
            },
        ),
        (
            HookPoint::ResidPost(5),
            Intervention::Project {
                basis: vec![f32::NAN; d],
                n: 1,
            },
        ),
    ];
    for (point, what) in bad_hooks {
        let mut h = HookSet::new();
        h.push(point, what);
        assert!(matches!(e.set_hooks(h.clone()), Err(Error::Hook(_))));
    }
    assert_eq!(
        greedy(&mut e, good, 8),
        reference,
        "the engine changed after bad inputs"
    );
}

#[test]
fn cli_reports_bad_input_in_one_line_with_a_failing_exit() {
    let long = "word ".repeat(9000);
    let cases: &[(&[&str], &str)] = &[
        (&["generate", "--prompt", ""], "empty"),
        (&["generate", "--prompt", &long], "context"),
        (
            &["generate", "--prompt", "hi", "--temperature", "-1"],
            "temperature",
        ),
        (&["generate", "--prompt", "hi", "--top-p", "0"], "top-p"),
        (&["generate", "--prompt", "hi", "--top-p", "1.5"], "top-p"),
        (
            &["generate", "--prompt", "hi", "--steer", "happy:nan"],
            "finite",
        ),
        (
            &["generate", "--prompt", "hi", "--steer", "happy:inf"],
            "finite",
        ),
        (&["generate", "--prompt", "hi", "--steer", "happy:9"], "±5"),
        (
            &["generate", "--prompt", "hi", "--steer", "happy:lots"],
            "not a number",
        ),
        (
            &[
                "generate", "--prompt", "hi", "--steer", "happy", "--layer", "30",
            ],
            "layer 30",
        ),
        (
            &["generate", "--prompt", "hi", "--steer", "hapy"],
            "closest: happy",
        ),
        (
            &[
                "generate",
                "--prompt",
                "hi",
                "--steer",
                "happy",
                "--vectors",
                "/nonexistent.safetensors",
            ],
            "emotion vectors",
        ),
        (
            &[
                "next",
                "--text",
                "hi",
                "--prob-of",
                " happy",
                "--layer",
                "31",
            ],
            "layer 31",
        ),
        (
            &["probe", "--input", "/nonexistent.jsonl"],
            "/nonexistent.jsonl",
        ),
        (&["logits", "--text", ""], "empty"),
    ];
    for (args, needle) in cases {
        let (ok, _, err) = cli(args);
        assert!(!ok, "{args:?} succeeded");
        let err = err.trim_end();
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {err:?}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        // The kind of error is said once ("steering: \"happy\": strength …", not "steering: \"happy\": steering: …").
        let kind = err["error: ".len()..].split(':').next().unwrap_or("");
        assert_eq!(
            err.matches(&format!("{kind}:")).count(),
            1,
            "{args:?}: {err:?}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_limbic"))
        .args([
            "--model",
            "/nonexistent/model.gguf",
            "tokenize",
            "--text",
            "hi",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/model.gguf"));
}

#[test]
fn cli_json_contracts() {
    let (ok, out, err) = cli(&["tokenize", "--text", "Hello world", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ids"], serde_json::json!([19556, 905]));
    assert_eq!(v["tokens"], serde_json::json!(["Hello", " world"]));

    let (ok, out, err) = cli(&[
        "logits",
        "--text",
        "The capital of France is",
        "--top",
        "3",
        "--full",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["top"][0]["token"], " Paris");
    assert_eq!(v["top"].as_array().unwrap().len(), 3);
    let lp = v["logprobs"].as_array().unwrap();
    assert_eq!(lp.len(), 49152);
    let mass: f64 = lp.iter().map(|x| x.as_f64().unwrap().exp()).sum();
    assert!((mass - 1.0).abs() < 1e-3, "probabilities sum to {mass}");

    let (ok, out, err) = cli(&[
        "generate",
        "--prompt",
        "What is 2+2?",
        "--chat",
        "--max-tokens",
        "6",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let n = v["ids"].as_array().unwrap().len();
    assert!((1..=6).contains(&n));
    assert_eq!(v["tokens"].as_array().unwrap().len(), n);
    assert_eq!(
        v["text"].as_str().unwrap(),
        v["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect::<String>()
    );
}

#[test]
fn the_page_checks_the_model_against_the_hash_make_model_checks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sums = std::fs::read_to_string(root.join("models.sha256")).unwrap();
    let want = sums.split_whitespace().next().unwrap();
    let config = std::fs::read_to_string(root.join("www/src/config.ts")).unwrap();
    assert!(
        config
            .lines()
            .any(|l| l.contains("MODEL_SHA256") && l.contains(&format!("\"{want}\""))),
        "www/src/config.ts must carry the SHA-256 in models.sha256"
    );
    let (_, sha) = limbic::io::read_model(&model_path()).unwrap();
    assert_eq!(sha, want, "the model file on disk");
}
