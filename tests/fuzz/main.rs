//! Mutation fuzzing on stable Rust of everything that reads input from anywhere: the GGUF
//! reader (a file a visitor picks), the whole model load and a short reply, the emotion vectors
//! file, and chat turns through the tokenizer. Deterministic for a seed (`FUZZ_SEED`); the
//! number of GGUF-reader executions is `FUZZ_EXECS` (default 12,000, a few seconds in
//! `make test`; `make fuzz` runs 10^6), the other targets a fixed share of it.
//!
//! Contract, for every input: `Ok`, or an error of the input's kind whose message is one
//! readable line; never a panic; never more memory held at once than the target's stated
//! bound (targets.rs), and no single allocation over 1 GiB (alloc.rs aborts and saves the
//! input). Crashing inputs are saved under `target/tmp/fuzz/`; each one found became a fixture
//! in `tests/fixtures/fuzz/`, replayed by the `regression_*` tests below.

#[path = "../common/mod.rs"]
mod common;

mod alloc;
mod gguf_gen;
mod harness;
mod mutate;
mod seeds;
mod targets;

use std::path::PathBuf;
use std::sync::OnceLock;

use gguf_gen::{mutate_gguf, Gguf};
use harness::{fuzz, Generate, Outcome, Run, Target};
use mutate::Rng;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// candle captures a backtrace in every error when `RUST_BACKTRACE` is set (as it is here) and
/// formats it into the message we cut to one line: megabytes and milliseconds per error that
/// the browser never spends. Library backtraces are turned off before any error is made;
/// panics still print theirs.
fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("RUST_LIB_BACKTRACE", "0"));
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Executions for a target: `FUZZ_EXECS` (GGUF reader) divided by `share`.
fn execs(share: u64) -> u64 {
    (env_u64("FUZZ_EXECS", 12_000) / share).max(200)
}

fn seed() -> u64 {
    env_u64("FUZZ_SEED", 0x11_4b1c)
}

struct Seeds {
    header: Vec<u8>,
    tiny: Gguf,
}

fn gguf_seeds() -> &'static Seeds {
    setup();
    static S: OnceLock<Seeds> = OnceLock::new();
    S.get_or_init(|| {
        let header = seeds::real_header();
        let tiny = seeds::tiny_model(&header);
        Seeds { header, tiny }
    })
}

const GGUF_DICT: &[&[u8]] = &[
    b"GGUF",
    b"general.alignment",
    b"general.architecture",
    b"llama.context_length",
    b"llama.block_count",
    b"tokenizer.ggml.tokens",
    b"tokenizer.ggml.token_type",
    b"token_embd.weight",
    b"output_norm.weight",
    b"blk.0.attn_q.weight",
    b"\x09\x00\x00\x00",
    b"\x08\x00\x00\x00",
    b"\x00\x00\x00\x00\x00\x00\x00\x10",
];

/// Runs one target and fails with every crash it found, the inputs saved.
fn run_and_check(t: &Target, execs: u64) {
    setup();
    let r = fuzz(t, execs, seed());
    println!("{}", r.line(t.name));
    let crashes: Vec<String> = r
        .crashes
        .iter()
        .map(|(what, path)| format!("  {what}\n    input: {}", path.display()))
        .collect();
    assert!(
        r.crashes.is_empty(),
        "fuzz {}: {} crashes\n{}",
        t.name,
        r.crashes.len(),
        crashes.join("\n")
    );
}

fn gguf_target<'a>(run: Run<'a>, gen: Generate<'a>) -> Target<'a> {
    let s = gguf_seeds();
    Target {
        name: "gguf",
        seeds: vec![
            ("tiny model", s.tiny.to_bytes(), 60),
            (
                "real table, small vocabulary",
                seeds::real_table(&s.header),
                20,
            ),
            ("control vector", seeds::control_vector(), 15),
            ("real header and tensor table", s.header.clone(), 1),
        ],
        dict: GGUF_DICT.to_vec(),
        run,
        alloc_bound: targets::gguf_bound,
        generate: Some((3, gen)),
    }
}

fn structured(rng: &mut Rng) -> Vec<u8> {
    let mut g = gguf_seeds().tiny.clone();
    mutate_gguf(&mut g, rng);
    g.to_bytes()
}

#[test]
fn fuzz_gguf_reader() {
    run_and_check(&gguf_target(&targets::gguf, &structured), execs(1));
}

#[test]
fn fuzz_model_load_and_reply() {
    let mut t = gguf_target(&targets::engine, &structured);
    t.name = "engine";
    t.seeds.truncate(1);
    t.alloc_bound = targets::engine_bound;
    run_and_check(&t, execs(24));
}

#[test]
fn fuzz_control_vector() {
    setup();
    let fixture = |name: &str| {
        std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name),
        )
        .expect("control vector fixture")
    };
    let t = Target {
        name: "control-vector",
        seeds: vec![
            ("limbic export", seeds::control_vector(), 10),
            ("cvector-generator", fixture("cvec_generator.gguf"), 5),
            ("repeng", fixture("cvec_repeng.gguf"), 5),
            ("another model", fixture("cvec_wrong_embd.gguf"), 2),
        ],
        dict: vec![
            b"direction.",
            b"direction.0",
            b"direction.30",
            b"controlvector",
            b"controlvector.model_hint",
            b"general.architecture",
        ],
        run: &targets::control_vector,
        alloc_bound: targets::gguf_bound,
        generate: None,
    };
    run_and_check(&t, execs(8));
}

#[test]
fn fuzz_vectors_file() {
    setup();
    let real = seeds::real_vectors();
    let t = Target {
        name: "vectors",
        seeds: vec![
            ("small v2", seeds::small_vectors(&real, true, 5), 50),
            ("small v1", seeds::small_vectors(&real, false, 5), 30),
            ("one emotion", seeds::small_vectors(&real, true, 1), 10),
            ("no emotions", seeds::small_vectors(&real, true, 0), 5),
        ],
        dict: vec![
            b"\"emotions\"",
            b"\"steer\"",
            b"layer.0",
            b"calibration.0",
            b"F32",
            b"[]",
            b"1e400",
            b"-1",
            b"null",
            b"\"windows\":\"[0]\"",
        ],
        run: &targets::vectors,
        alloc_bound: targets::vectors_bound,
        generate: None,
    };
    run_and_check(&t, execs(4));
    // The real 12 MB file: a few mutations of it (each exec copies it).
    let t = Target {
        name: "vectors-real",
        seeds: vec![("real", real, 1)],
        ..t
    };
    run_and_check(&t, (execs(1) / 1000).max(20));
}

#[test]
fn fuzz_chat_turns() {
    setup();
    let engine = common::engine();
    let run = |b: &[u8]| targets::chat(&engine, b);
    let t = Target {
        name: "chat",
        seeds: seeds::chat_turns()
            .into_iter()
            .map(|s| ("chat", s, 1))
            .collect(),
        dict: vec![
            b"<|im_start|>",
            b"<|im_end|>",
            b"<|endoftext|>",
            b"\x1e",
            "😢".as_bytes(),
            b"\xf0\x9f",
            "e\u{301}".as_bytes(),
            b"0123456789",
            b"\r\n",
            b"          ",
        ],
        run: &run,
        alloc_bound: targets::chat_bound,
        generate: None,
    };
    run_and_check(&t, execs(5));
}

/// Replays a saved crash through its target (named by the file's prefix) under the contract.
fn replay(name: &str) -> Outcome {
    setup();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let engine = name.starts_with("chat").then(common::engine);
    let chat = |b: &[u8]| targets::chat(engine.as_ref().expect("engine"), b);
    let (run, bound): (Run, fn(usize) -> usize) = match name.split('-').next() {
        Some("gguf") => (&targets::gguf, targets::gguf_bound),
        Some("engine") => (&targets::engine, targets::engine_bound),
        Some("vectors") => (&targets::vectors, targets::vectors_bound),
        Some("chat") => (&chat, targets::chat_bound),
        _ => panic!("{name}: no target for this prefix"),
    };
    let start = alloc::begin(&bytes, "");
    let outcome = run(&bytes);
    let peak = alloc::peak_since(start);
    assert!(peak <= bound(bytes.len()), "{name}: held {peak} bytes");
    if let Err(msg) = &outcome {
        assert_eq!(harness::bad_message(msg), None, "{name}");
    }
    outcome
}

#[test]
fn every_fixture_replays_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.iter().filter(|n| n.ends_with(".bin")).for_each(|n| {
        let _ = replay(n);
    });
}

/// The seeds are what they claim: the tiny model loads and replies, the others are clean errors
/// or load.
#[test]
fn seeds_behave() {
    let s = gguf_seeds();
    assert_eq!(targets::engine(&s.tiny.to_bytes()), Ok(()));
    let err = |b: &[u8]| targets::gguf(b).expect_err("an error");
    assert!(err(&s.header).contains("past the file's end"));
    assert!(err(&seeds::real_table(&s.header)).contains("past the file's end"));
    assert!(err(&seeds::control_vector()).contains("architecture is \"controlvector\""));
    let real = seeds::real_vectors();
    for full in [true, false] {
        assert_eq!(
            targets::vectors(&seeds::small_vectors(&real, full, 5)),
            Ok(())
        );
    }
}

// Crashes the fuzzer found, each fixed and replayed here (inputs in tests/fixtures/fuzz/).

/// `llama.block_count` = u32::MAX: the reader reserved room for 4·10⁹ blocks (a 3.8 TB request,
/// an abort) before looking for their tensors.
#[test]
fn regression_gguf_block_count_u32_max() {
    let msg = replay("gguf-block-count-u32-max.bin").expect_err("rejected");
    assert!(msg.contains("blocks claimed"), "{msg}");
}

/// `general.alignment` = 0: candle's header reader divided by it (a panic; an abort in wasm).
#[test]
fn regression_gguf_alignment_zero() {
    let msg = replay("gguf-alignment-zero.bin").expect_err("rejected");
    assert!(msg.contains("general.alignment"), "{msg}");
}

/// A mangled tensor table: the error quoted 3 KB of the file, NULs and all.
#[test]
fn regression_gguf_long_error_message() {
    let msg = replay("gguf-long-error-message.bin").expect_err("rejected");
    assert!(msg.len() < 300, "{msg}");
}

/// A merge naming a token `\n` that is not in the vocabulary: the tokenizer's error broke
/// over two lines.
#[test]
fn regression_gguf_newline_in_tokenizer_error() {
    let msg = replay("gguf-newline-in-tokenizer-error.bin").expect_err("rejected");
    assert!(
        msg.starts_with("tokenizer:") && !msg.contains('\n'),
        "{msg}"
    );
}

// Found while fixing those, by reading the reader: values a header may claim that would have
// aborted or panicked further on, each now an error at load.

fn tiny_with(change: impl FnOnce(&mut Gguf)) -> Vec<u8> {
    let mut g = gguf_seeds().tiny.clone();
    change(&mut g);
    g.to_bytes()
}

#[test]
fn hostile_header_values_are_errors() {
    use candle_core::quantized::gguf_file::Value;
    let err = |bytes: Vec<u8>, want: &str| {
        let start = alloc::begin(&bytes, "");
        let msg = targets::engine(&bytes).expect_err(want);
        assert!(alloc::peak_since(start) < 64 << 20, "{want}");
        assert!(
            msg.contains(want) && harness::bad_message(&msg).is_none(),
            "{msg}"
        );
    };
    // Rope tables for 4·10⁹ positions (a 137 GB request).
    err(
        tiny_with(|g| g.set("llama.context_length", Value::U32(u32::MAX))),
        "context length",
    );
    // One more token type than tokens, marked control: the tokenizer indexed past the tokens.
    err(
        tiny_with(|g| {
            let Some((_, Value::Array(t))) = g
                .metadata
                .iter_mut()
                .find(|(k, _)| k == "tokenizer.ggml.token_type")
            else {
                panic!("token types")
            };
            t.push(Value::I32(3));
        }),
        "token types",
    );
    // 2^64 elements wrap to 0 in the size sum: no bytes read for a tensor claiming them.
    err(
        tiny_with(|g| g.tensors[0].dims = vec![1 << 32, 1 << 32]),
        "does not fit",
    );
    err(
        tiny_with(|g| g.metadata.push(g.metadata[0].clone())),
        "appears twice",
    );
    err(
        tiny_with(|g| g.tensors[3].name = g.tensors[2].name.clone()),
        "appears twice",
    );
    // Heads of width 1: rope pairs need an even width.
    err(
        tiny_with(|g| g.set("llama.attention.head_count", Value::U32(64))),
        "head width",
    );
    // Version 1 (u32 lengths) still loads.
    assert_eq!(targets::engine(&tiny_with(|g| g.version = 1)), Ok(()));
}

/// A vectors file with no emotions but calibration windows: `chunks_exact(0)` panicked.
#[test]
fn vectors_without_emotions_are_an_error() {
    let msg = targets::vectors(&seeds::small_vectors(&seeds::real_vectors(), true, 0));
    assert!(
        matches!(&msg, Err(m) if harness::bad_message(m).is_none()),
        "{msg:?}"
    );
}

// The model seam: what the file says picks the output matrix, the pre-tokenizer and the chat
// format; what limbic cannot run yet is refused in one line.

/// The last position's logits after three ids.
fn logits_of(bytes: &[u8]) -> Vec<f32> {
    let mut e = limbic::Session::cpu(bytes).expect("loads");
    e.run(&[5, 17, 42]).expect("runs").logits
}

#[test]
fn a_separate_output_matrix_is_read_and_used() {
    let tied = logits_of(&tiny_with(|_| {}));
    // The embedding's own bytes as output.weight: the same logits as tied.
    let copy = logits_of(&tiny_with(|g| {
        let mut t = g.tensors[0].clone();
        assert_eq!(t.name, "token_embd.weight");
        t.name = "output.weight".into();
        g.tensors.push(t);
    }));
    assert_eq!(copy, tied);
    // Other weights there: other logits.
    let own = logits_of(&tiny_with(|g| {
        let (d, vocab) = (g.tensors[0].dims[0] as usize, g.tensors[0].dims[1] as usize);
        let mut rng = Rng::new(3);
        seeds::push_tensor(
            g,
            &mut rng,
            "output.weight",
            vocab,
            d,
            candle_core::quantized::GgmlDType::Q8_0,
        );
    }));
    assert_eq!(own.len(), tied.len());
    assert_ne!(own, tied);
}

#[test]
fn what_limbic_cannot_run_yet_is_refused_in_one_line() {
    use candle_core::quantized::gguf_file::Value;
    let err = |bytes: Vec<u8>| {
        let msg = targets::engine(&bytes).expect_err("refused");
        assert!(harness::bad_message(&msg).is_none(), "{msg}");
        msg
    };
    // The tiny model's keys under another family's prefix: the family is named.
    let rename = |arch: &'static str| {
        move |g: &mut Gguf| {
            for (k, _) in g.metadata.iter_mut() {
                if let Some(rest) = k.strip_prefix("llama.") {
                    *k = format!("{arch}.{rest}");
                }
            }
            g.set("general.architecture", Value::String(arch.into()));
        }
    };
    let mamba = err(tiny_with(rename("mamba")));
    assert!(
        mamba.contains(
            "architecture is \"mamba\", not supported yet (limbic runs llama, qwen2, gemma3)"
        ),
        "{mamba}"
    );
    // gemma3 runs, but this file lacks its window: the key is named.
    let gemma3 = err(tiny_with(rename("gemma3")));
    assert!(
        gemma3.contains("metadata key gemma3.attention.sliding_window is missing"),
        "{gemma3}"
    );
    // qwen2 runs, but one bias of the three is not a model: the missing one is named.
    let qwen2 = err(tiny_with(|g| {
        rename("qwen2")(g);
        let mut rng = Rng::new(5);
        seeds::push_tensor(
            g,
            &mut rng,
            "blk.0.attn_q.bias",
            1,
            64,
            candle_core::quantized::GgmlDType::F32,
        );
    }));
    assert!(
        qwen2.contains("tensor blk.0.attn_k.bias is missing"),
        "{qwen2}"
    );
    let yarn = err(tiny_with(|g| {
        g.set("llama.rope.scaling.type", Value::String("yarn".into()));
        g.set("llama.rope.scaling.factor", Value::F32(4.0));
    }));
    assert!(
        yarn.contains("rope scaling \"yarn\" ×4 is not supported yet"),
        "{yarn}"
    );
    let pre = err(tiny_with(|g| {
        g.set("tokenizer.ggml.pre", Value::String("deepseek-llm".into()))
    }));
    assert!(
        pre.contains("pre-tokenizer \"deepseek-llm\" is not supported yet"),
        "{pre}"
    );
}

#[test]
fn a_model_without_a_chat_template_runs_plain_text_only() {
    let mut g = gguf_seeds().tiny.clone();
    g.metadata
        .retain(|(k, _)| k != "tokenizer.chat_template" && k != "tokenizer.ggml.pre");
    let mut e = limbic::Session::cpu(&g.to_bytes())
        .expect("loads without a template or pre-tokenizer name");
    assert!(!e.tokenizer.chat_available());
    let msg = e.tokenizer.chat_prompt("hi", None).unwrap_err().to_string();
    assert_eq!(
        msg,
        "prompt: chat is unavailable: the model file has no chat template"
    );
    let ids = e.encode_prompt("Hi there 12").expect("plain text");
    assert!(e.run(&ids).is_ok());
    assert_eq!(
        targets::engine(&g.to_bytes()).unwrap_err(),
        msg,
        "the engine target asks for chat"
    );
}
