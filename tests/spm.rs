//! Gemma 3's SentencePiece-style tokenizer against llama.cpp, on the real vocabulary of
//! models/gemma-3-270m.Q4_K_M.gguf (`make gemma`): ids and decoded text equal llama.cpp's for
//! every text of tests/fixtures/gemma3_ids.json (scripts/spm_fixture.py).

mod common;
use common::*;

use std::time::Instant;

use limbic::tokenizer::{TextStream, Tokenizer};

/// The tokenizer built from the Gemma file's vocabulary, and how long building it took.
fn gemma() -> (Tokenizer, f64) {
    let bytes = std::fs::read(gemma_path()).expect("read the Gemma file");
    let vocab = limbic::ModelFile::vocab_from_bytes(&bytes).expect("Gemma's vocabulary");
    let start = Instant::now();
    let tok = Tokenizer::new(&vocab).expect("Gemma's tokenizer");
    (tok, start.elapsed().as_secs_f64())
}

fn cases() -> Vec<(String, Vec<u32>, String)> {
    let f = fixture("gemma3_ids.json");
    f["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["text"].as_str().expect("text").to_string(),
                ids(&c["ids"]),
                c["decoded"].as_str().expect("decoded").to_string(),
            )
        })
        .collect()
}

#[test]
fn ids_and_text_equal_llama_cpp_on_gemma3() {
    let (tok, secs) = gemma();
    eprintln!(
        "Tokenizer::new on Gemma 3's 262,144 tokens: {:.0} ms",
        secs * 1e3
    );
    assert!(secs < 3.0, "building the tokenizer took {secs:.1} s");
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut bytes_fell_back = false;
    for (text, want, decoded) in &cases {
        let got = tok.encode(text).unwrap();
        assert_eq!(&got, want, "ids differ for {text:?}");
        assert_eq!(
            &tok.decode(&got).unwrap(),
            decoded,
            "llama.cpp decodes {text:?} otherwise"
        );
        assert_eq!(
            &tok.decode(&got).unwrap(),
            text,
            "no round trip for {text:?}"
        );
        // Streamed one id at a time, the text is the same (byte tokens assemble characters).
        let mut stream = TextStream::default();
        let streamed: String = got.iter().map(|&i| stream.push(&tok, i).unwrap()).collect();
        assert_eq!(&streamed, text, "streaming {text:?}");
        bytes_fell_back |= tok.pieces(&got).unwrap().iter().any(|p| p == "\u{FFFD}");
    }
    assert!(bytes_fell_back, "no case needs byte fallback");
}

#[test]
fn gemma3_starts_prompts_with_bos_and_writes_its_tokens() {
    let (tok, _) = gemma();
    assert!(tok.add_bos, "add_bos_token is true in the file");
    assert_eq!((tok.bos, tok.eos), (2, 1));
    assert_eq!(tok.encode("<bos>").unwrap(), vec![2]);
    // No space prefix in Gemma's file: a text's first word has no `▁`.
    let hello = tok.encode("Hello").unwrap();
    assert_eq!(tok.pieces(&hello).unwrap(), vec!["Hello"]);
    assert_eq!(
        tok.pieces(&tok.encode("<start_of_turn>user\n hi").unwrap())
            .unwrap(),
        vec!["<start_of_turn>", "user", "\n", " hi"]
    );
    assert!(
        !tok.chat_available(),
        "the 270M base file has no chat template"
    );
    assert!(matches!(
        tok.decode(&[262_144]),
        Err(limbic::Error::Tokenizer(_))
    ));
}
