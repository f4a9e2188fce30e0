//! Control vectors in and out (src/control_vector.rs; `limbic import`, `--control-vector`,
//! `limbic export --format llama-cpp`): files in the layouts of llama.cpp's cvector-generator
//! and repeng's `export_gguf` (tests/fixtures/cvec_*.gguf, scripts/cvec_fixtures.py) read back
//! exactly and steer at the block outputs llama.cpp adds them to; a file for another model is
//! refused with its reason; an export without `--layers` steers as `--steer` does. The
//! comparison with llama.cpp itself is scripts/cvec_roundtrip.py (`make cvec-roundtrip`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use limbic::control_vector::ControlVector;
use limbic::emotions::EmotionSet;
use limbic::{HookPoint, HookSet, Intervention};

const N_LAYER: usize = 30;
const D: usize = 576;
const TEXT: &str = "When I opened the letter, I felt";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fixtures' closed form (scripts/cvec_fixtures.py): ∝ sin(a·(i+1) + b·layer), unit length.
fn direction(layer: usize, a: f64, b: f64) -> Vec<f32> {
    let v: Vec<f64> = (1..=D)
        .map(|i| (a * i as f64 + b * layer as f64).sin())
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter().map(|x| (x / norm) as f32).collect()
}

const LAYOUTS: [(&str, f64, f64); 2] = [
    ("cvec_generator.gguf", 0.37, 1.3),
    ("cvec_repeng.gguf", 0.23, 0.7),
];

fn limbic(args: &[&str]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(env!("CARGO_BIN_EXE_limbic"))
        .arg("--model")
        .arg(common::model_path())
        .arg("--vectors")
        .arg(root.join(limbic::DEFAULT_VECTORS))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `limbic next --json`'s top tokens as (id, p).
fn next_top(args: &[&str]) -> Vec<(usize, f64)> {
    let o = limbic(&[&["next", "--text", TEXT, "--top", "8", "--json"], args].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_u64().unwrap() as usize, t["p"].as_f64().unwrap()))
        .collect()
}

/// Next-token probabilities `(vocab)` after TEXT with `hooks`.
fn probs(session: &mut limbic::Session, hooks: HookSet) -> Vec<f64> {
    let ids = session.encode_prompt(TEXT).unwrap();
    session.set_hooks(hooks).unwrap();
    let logits = session.run(&ids).unwrap().logits;
    limbic::numerics::log_softmax(&logits)
        .iter()
        .map(|&x| (x as f64).exp())
        .collect()
}

fn added_at(terms: &[(usize, Vec<f32>)], point: impl Fn(usize) -> HookPoint) -> HookSet {
    let mut hooks = HookSet::new();
    for (l, v) in terms {
        hooks.push(
            point(*l),
            Intervention::Add {
                vector: v.clone(),
                alpha: 1.0,
            },
        );
    }
    hooks
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn reads_the_layouts_of_cvector_generator_and_repeng() {
    for (name, a, b) in LAYOUTS {
        let cv = ControlVector::read_gguf(&std::fs::read(fixture(name)).unwrap()).unwrap();
        assert_eq!(cv.model_hint.as_deref(), Some("llama"), "{name}");
        let layers: Vec<usize> = cv.directions.iter().map(|(l, _)| *l).collect();
        assert_eq!(layers, (1..N_LAYER).collect::<Vec<_>>(), "{name}");
        for (l, v) in &cv.directions {
            let want = direction(*l, a, b);
            let worst = v
                .iter()
                .zip(&want)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-6, "{name} direction.{l}: off by {worst}");
        }
        cv.check(N_LAYER, D).unwrap();

        let o = limbic(&["import", fixture(name).to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["n_embd"], 576);
        assert_eq!(v["layers"].as_array().unwrap().len(), N_LAYER - 1);
        assert!((v["norms"][0].as_f64().unwrap() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn an_imported_file_steers_at_the_block_outputs_llama_cpp_adds_it_to() {
    let mut session = common::engine();
    let unsteered = probs(&mut session, HookSet::new());
    for (name, a, b) in LAYOUTS {
        let strength = 10.0f32;
        let terms: Vec<(usize, Vec<f32>)> = (1..N_LAYER)
            .map(|l| (l, direction(l, a, b).iter().map(|x| x * strength).collect()))
            .collect();
        let want = probs(&mut session, added_at(&terms, HookPoint::ResidPost));
        // One block early (the input of block l instead of its output) is measurably different.
        let early = probs(&mut session, added_at(&terms, HookPoint::ResidPre));
        let (moved, site) = (max_diff(&want, &unsteered), max_diff(&want, &early));
        eprintln!("{name}: steering moves p by {moved:.4}; one block early differs by {site:.4}");
        assert!(moved > 0.03, "{name} steers little");
        assert!(site > 0.02, "{name}: the site does not matter?");

        let spec = format!("{}:{strength}", fixture(name).display());
        let got = next_top(&["--control-vector", &spec]);
        for (id, p) in &got {
            assert!(
                (p - want[*id]).abs() < 1e-5,
                "{name} token {id}: limbic next {p}, hooks at resid_post {}",
                want[*id]
            );
        }
        // Strength 0 is no steering at all.
        let zero = format!("{}:0", fixture(name).display());
        for (id, p) in next_top(&["--control-vector", &zero]) {
            assert!((p - unsteered[id]).abs() < 1e-6, "{name} at strength 0");
        }
    }
}

#[test]
fn a_file_for_another_model_is_refused_with_its_reason() {
    let read = |name: &str| ControlVector::read_gguf(&std::fs::read(fixture(name)).unwrap());
    let e = read("cvec_wrong_embd.gguf")
        .unwrap()
        .check(N_LAYER, D)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("960 values") && e.contains("embedding has 576"),
        "{e}"
    );
    let e = read("cvec_wrong_layers.gguf")
        .unwrap()
        .check(N_LAYER, D)
        .unwrap_err()
        .to_string();
    assert!(e.contains("direction.30") && e.contains("30 layers"), "{e}");

    let o = limbic(&["import", fixture("cvec_wrong_embd.gguf").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("embedding has 576"), "{}", stderr(&o));
    let spec = format!("{}:1", fixture("cvec_wrong_layers.gguf").display());
    for verb in [
        vec!["generate", "--prompt", "Hi", "--max-tokens", "1"],
        vec!["next", "--text", "Hi"],
    ] {
        let o = limbic(&[&verb[..], &["--control-vector", &spec]].concat());
        assert!(
            !o.status.success(),
            "{verb:?} ran with a file for another model"
        );
        assert!(stderr(&o).contains("direction.30"), "{}", stderr(&o));
    }

    // Not a control vector at all: the model file itself.
    let e = ControlVector::read_gguf(&common::model_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("general.architecture is \"llama\""), "{e}");
}

/// A GGUF with the given tensors and a controlvector architecture.
fn gguf_with(tensors: &[(&str, Vec<f32>, GgmlDType)]) -> Vec<u8> {
    let qs: Vec<(String, QTensor)> = tensors
        .iter()
        .map(|(n, v, ty)| {
            let t = candle_core::Tensor::from_slice(v, v.len(), &candle_core::Device::Cpu).unwrap();
            (n.to_string(), QTensor::quantize(&t, *ty).unwrap())
        })
        .collect();
    let arch = Value::String("controlvector".into());
    let t_refs: Vec<(&str, &QTensor)> = qs.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut buf = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &[("general.architecture", &arch)], &t_refs).unwrap();
    buf.into_inner()
}

#[test]
fn what_llama_cpp_would_skip_is_refused() {
    let err = |t: &[(&str, Vec<f32>, GgmlDType)]| {
        ControlVector::read_gguf(&gguf_with(t))
            .unwrap_err()
            .to_string()
    };
    let v = vec![0.5f32; 64];
    assert!(err(&[("direction.0", v.clone(), GgmlDType::F32)]).contains("direction.0"));
    assert!(err(&[("output.weight", v.clone(), GgmlDType::F32)]).contains("not named direction.N"));
    assert!(err(&[("direction.1", v.clone(), GgmlDType::F16)]).contains("f32"));
    let e = err(&[
        ("direction.1", v.clone(), GgmlDType::F32),
        ("direction.2", vec![0.5; 32], GgmlDType::F32),
    ]);
    assert!(e.contains("32 values") || e.contains("64 values"), "{e}");
    assert!(err(&[("direction.1", vec![f32::NAN; 64], GgmlDType::F32)]).contains("non-finite"));
    assert!(err(&[]).contains("no direction tensors"));
    // One that is fine reads back.
    let cv = ControlVector::read_gguf(&gguf_with(&[("direction.3", v.clone(), GgmlDType::F32)]))
        .unwrap();
    assert_eq!(cv.directions, vec![(3, v)]);
    assert_eq!(cv.model_hint, None);
}

/// `--steer` specs and the `(emotion, strength)` pairs they mean.
type Case<'a> = (&'a [&'a str], Vec<(usize, f32)>);

#[test]
fn an_export_without_layers_steers_as_steer_does() {
    let bytes = common::model_bytes();
    let set = EmotionSet::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(limbic::DEFAULT_VECTORS),
        Some(&limbic::io::sha256_hex(&bytes)),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("limbic-cvec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (happy, afraid) = (set.index("happy").unwrap(), set.index("afraid").unwrap());
    let cases: [Case; 3] = [
        (&["happy:0.3"], vec![(happy, 0.3)]),
        (
            &["happy:0.2", "afraid:0.1"],
            vec![(happy, 0.2), (afraid, 0.1)],
        ),
        (&["afraid"], vec![(afraid, set.strength_of(afraid))]),
    ];
    for (i, (specs, steers)) in cases.iter().enumerate() {
        let out = dir.join(format!("{i}.gguf"));
        let steer_args: Vec<&str> = specs.iter().flat_map(|s| ["--steer", s]).collect();
        let o = limbic(
            &[
                &[
                    "export",
                    "--format",
                    "llama-cpp",
                    "--out",
                    out.to_str().unwrap(),
                ],
                &steer_args[..],
            ]
            .concat(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let cv = ControlVector::read_gguf(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(
            cv.directions,
            set.steer_vectors(steers, None).unwrap(),
            "{specs:?}: the file holds what --steer adds"
        );
        let spec = format!("{}:1", out.display());
        let via_file = next_top(&["--control-vector", &spec]);
        let via_steer = next_top(&steer_args);
        for ((i1, p1), (i2, p2)) in via_file.iter().zip(&via_steer) {
            assert_eq!(i1, i2, "{specs:?}");
            assert!((p1 - p2).abs() < 1e-6, "{specs:?}: {p1} vs {p2}");
        }
    }
    std::fs::remove_dir_all(dir).ok();
}
