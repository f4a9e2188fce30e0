//! What each target does with an input, and what it may hold in memory while doing it. A
//! target returns `Ok`, or `Err(message)` for an error of the kind its input calls for; an
//! error of another kind or a broken invariant is a panic, which the harness reports.

use limbic::control_vector::ControlVector;
use limbic::emotions::EmotionSet;
use limbic::tokenizer::{TextStream, Tokenizer};
use limbic::{Error, ModelFile, Sampler, Session};

use crate::harness::Outcome;

const MIB: usize = 1 << 20;

/// The GGUF reader: the model file as the browser reads it, then the tokenizer built from its
/// vocabulary. Bound: 64 bytes per input byte (the parsed metadata: each 1-byte array element
/// becomes a 32-byte value) plus 4 MiB.
pub fn gguf(bytes: &[u8]) -> Outcome {
    let file = match ModelFile::from_bytes(bytes) {
        Ok(f) => f,
        Err(e @ Error::Model(_)) => return Err(e.to_string()),
        Err(e) => panic!("GGUF reader gave a non-model error: {e}"),
    };
    assert_eq!(file.vocab.tokens.len(), file.config.vocab);
    assert_eq!(file.weights.blocks.len(), file.config.n_layer);
    match Tokenizer::new(&file.vocab) {
        Ok(_) => Ok(()),
        Err(e @ Error::Tokenizer(_)) => Err(e.to_string()),
        Err(e) => panic!("tokenizer gave a non-tokenizer error: {e}"),
    }
}
pub fn gguf_bound(len: usize) -> usize {
    64 * len + 4 * MIB
}

/// The whole load as the page does it (`Session::cpu`), then a 3-token greedy reply to a chat
/// prompt. Bound: 64 bytes per input byte plus 160 MiB (rope tables for the longest context
/// and widest head the reader accepts).
pub fn engine(bytes: &[u8]) -> Outcome {
    let mut e = limbic::Session::cpu(bytes).map_err(|e| e.to_string())?;
    let ids = e
        .encode_prompt(
            &e.tokenizer
                .chat_prompt("Hi there", None)
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
    e.start_now(ids, &Sampler::default(), 3)
        .map_err(|e| e.to_string())?;
    while e.step_now().map_err(|e| e.to_string())?.is_some() {}
    Ok(())
}
pub fn engine_bound(len: usize) -> usize {
    64 * len + 160 * MIB
}

/// The vectors file, then what the page does with a loaded set: its strengths and steering
/// layers, the readout at the default layer, an emotion by name, steering, the vectors.
/// Bound: 8 bytes per input byte plus 1 MiB.
pub fn vectors(bytes: &[u8]) -> Outcome {
    let set = match EmotionSet::from_bytes(bytes) {
        Ok(s) => s,
        Err(e @ Error::Steer(_)) => return Err(e.to_string()),
        Err(e) => panic!("vectors reader gave a non-steering error: {e}"),
    };
    let n = set.names.len();
    let _strengths: Vec<f32> = (0..n).map(|e| set.strength_of(e)).collect();
    for l in set.default_steer_layers() {
        set.check_layer(l).map_err(|e| e.to_string())?;
    }
    let layer = set.default_layer;
    let r = set.readout(layer).map_err(|e| e.to_string())?;
    assert_eq!((r.basis.len(), r.offsets.len()), (n * set.d_model, n));
    let _ = set.calibration(layer, set.default_window);
    let _ = set.scores(layer, &vec![0.5; set.d_model]);
    let _ = set.index("sad");
    if n > 0 {
        let e = set
            .index(&set.names[n - 1].to_uppercase())
            .map_err(|e| e.to_string())?;
        set.steer_vectors(&[(e, set.strength_of(e))], None)
            .map_err(|e| e.to_string())?;
        let _ = set.vector(layer, e);
    }
    Ok(())
}
pub fn vectors_bound(len: usize) -> usize {
    8 * len + MIB
}

/// Chat turns and prompts as the page sends them (fields split by 0x1E: system, earlier turns,
/// the user's turn), tokenized and decoded back; any ids decoded and streamed. Decoding what
/// was encoded must give the text back. Bound: 4 KiB per input byte plus 16 MiB.
pub fn chat(engine: &Session, bytes: &[u8]) -> Outcome {
    let tok = &engine.tokenizer;
    let text = String::from_utf8_lossy(bytes);
    let fields: Vec<&str> = text.split('\x1e').collect();
    let (system, rest) = fields
        .split_first()
        .expect("split gives one field at least");
    let (user, history) = rest.split_last().unwrap_or((&"", &[]));
    let history: Vec<String> = history.iter().map(|s| s.to_string()).collect();
    let system = (!system.is_empty()).then_some(*system);
    let prompt = tok
        .chat_turns(&history, user, system)
        .expect("the model has chat");
    let ids = tok.encode(&prompt).map_err(|e| e.to_string())?;
    let back = tok.decode(&ids).map_err(|e| e.to_string())?;
    if text.chars().all(|c| survives(tok, c)) {
        assert_eq!(back, prompt, "decode(encode(x)) != x");
    }
    let _ = engine.encode_prompt(user);
    let vocab = engine.config().vocab as u32;
    let raw: Vec<u32> = bytes
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .collect();
    let mut stream = TextStream::default();
    let mut streamed = String::new();
    for &id in raw.iter().take(64) {
        streamed.push_str(&stream.push(tok, id % vocab).map_err(|e| e.to_string())?);
    }
    let ids: Vec<u32> = raw.iter().take(64).map(|id| id % vocab).collect();
    let whole = tok.decode(&ids).map_err(|e| e.to_string())?;
    assert!(
        whole.starts_with(&streamed),
        "streamed text is not a prefix of the decoded text"
    );
    let _ = tok.pieces(&ids);
    let _ = tok.decode(&raw);
    Ok(())
}
/// Whether `c` comes back from encoding and decoding: the model's vocabulary has no token for
/// bytes 0x04, 0x06, 0x13, 0x14, 0x16, 0x1d and the lead bytes of code points past U+3FFFF,
/// which the tokenizer drops (as llama.cpp does).
fn survives(tok: &Tokenizer, c: char) -> bool {
    thread_local! {
        static KNOWN: std::cell::RefCell<std::collections::HashMap<char, bool>> = Default::default();
    }
    KNOWN.with(|k| {
        *k.borrow_mut().entry(c).or_insert_with(|| {
            let s = c.to_string();
            tok.encode(&s)
                .and_then(|ids| tok.decode(&ids))
                .is_ok_and(|d| d == s)
        })
    })
}

pub fn chat_bound(len: usize) -> usize {
    4096 * len + 16 * MIB
}

/// A control vector as `limbic import` reads it (llama.cpp's or repeng's layout), checked against
/// SmolLM2-135M's shape (30 blocks of 576), then scaled. Bound: 64 bytes per input byte plus 4 MiB.
pub fn control_vector(bytes: &[u8]) -> Outcome {
    let cv = match ControlVector::read_gguf(bytes) {
        Ok(cv) => cv,
        Err(e @ Error::Steer(_)) => return Err(e.to_string()),
        Err(e) => panic!("control vector reader gave a non-steering error: {e}"),
    };
    let n = cv.n_embd();
    assert!(cv.directions.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(cv
        .directions
        .iter()
        .all(|(l, v)| *l > 0 && v.len() == n && v.iter().all(|x| x.is_finite())));
    match cv.check(30, 576) {
        Ok(()) => {
            assert_eq!(cv.scaled(2.0).len(), cv.directions.len());
            Ok(())
        }
        Err(e @ Error::Steer(_)) => Err(e.to_string()),
        Err(e) => panic!("control vector check gave a non-steering error: {e}"),
    }
}
