//! In headless Chromium (wasm-bindgen-test): the browser's CPU engine computes the native
//! build's log-probabilities bit for bit and gives the same greedy tokens for a golden prompt,
//! on the CPU and on WebGPU (SwiftShader's adapter here, with --enable-unsafe-webgpu), and bad
//! input leaves it usable; vectors made from texts (on both) steer, are read out, export, and
//! are cleared; control-vector files import.

#![cfg(target_arch = "wasm32")]

use limbic::wasm::Engine;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A field of an object the engine returned, as JSON.
fn field(v: &wasm_bindgen::JsValue, name: &str) -> serde_json::Value {
    let f = js_sys::Reflect::get(v, &name.into()).expect("a field");
    serde_wasm_bindgen::from_value(f).expect("plain data")
}

const PIRATE: [&str; 4] = [
    "Arr matey, the treasure!",
    "Shiver me timbers!",
    "Yo ho ho and rum, arr!",
    "Avast, walk the plank!",
];

/// Reads each of `texts` for a vector being made, as the page's worker does.
async fn keep_texts(e: &mut Engine, texts: &[&str]) {
    for text in texts {
        e.make_text(text).ok().expect("text");
        JsFuture::from(e.ready()).await.expect("ready");
        e.make_keep(false).ok().expect("keep");
    }
}

/// Makes "pirate" from four short texts and describes it, as the page's worker does.
async fn make_pirate(e: &mut Engine) -> wasm_bindgen::JsValue {
    keep_texts(e, &PIRATE).await;
    e.make_vector("pirate").ok().expect("made");
    JsFuture::from(e.ready()).await.expect("ready");
    e.made_info().ok().expect("described")
}

/// Fetches a file served from the crate root by the test runner.
async fn fetch(url: &str) -> Vec<u8> {
    let window = web_sys::window().expect("window");
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .expect("fetch")
        .dyn_into()
        .unwrap();
    assert!(resp.ok(), "GET {url}: {}", resp.status());
    let buf = JsFuture::from(resp.array_buffer().unwrap()).await.unwrap();
    js_sys::Uint8Array::new(&buf).to_vec()
}

/// The id of a token `finish()` returned.
fn id_of(step: &wasm_bindgen::JsValue) -> u32 {
    js_sys::Reflect::get(step, &"id".into())
        .ok()
        .and_then(|v| v.as_f64())
        .expect("a token with an id") as u32
}

/// The remaining tokens of the reply under way, as the page's worker reads them.
async fn rest(e: &mut Engine) -> Vec<u32> {
    let mut ids = Vec::new();
    while e.step().ok().expect("step") {
        JsFuture::from(e.ready()).await.expect("ready");
        ids.push(id_of(&e.finish().ok().expect("finish step")));
    }
    ids
}

/// Greedy ids after `prompt`, driven as the page's worker drives the engine.
async fn greedy(e: &mut Engine, prompt: &str, n: usize) -> Vec<u32> {
    e.start(prompt, false, n, 0.0, 1.0, 0).ok().expect("start");
    JsFuture::from(e.ready()).await.expect("ready");
    e.finish().ok().expect("finish prompt");
    rest(e).await
}

/// The golden cases (tests/fixtures/golden.json, from the native CLI).
async fn golden_cases() -> serde_json::Value {
    serde_json::from_slice(&fetch("/tests/fixtures/golden.json").await).unwrap()
}

/// A golden case's (prompt, native greedy ids).
fn prompt_and_ids(case: &serde_json::Value) -> (String, Vec<u32>) {
    let ids = case["ids"].as_array().unwrap();
    (
        case["text"].as_str().unwrap().to_string(),
        ids.iter().map(|v| v.as_u64().unwrap() as u32).collect(),
    )
}

/// The golden case `i`: (prompt, native greedy ids).
async fn golden(i: usize) -> (String, Vec<u32>) {
    prompt_and_ids(&golden_cases().await[i])
}

/// Bytes as JavaScript holds them (the engine reads a model from there).
fn js(bytes: &[u8]) -> js_sys::Uint8Array {
    js_sys::Uint8Array::from(bytes)
}

#[wasm_bindgen_test]
async fn webgpu_gives_the_same_greedy_tokens_as_native_cpu_and_falls_back_when_lost() {
    let model = fetch("/models/SmolLM2-135M-Instruct.Q4_1.gguf").await;
    // Golden case 3, up to its first near tie: at token 23 the CPU's best two are 0.18 nats
    // apart, and lavapipe's GPU parts there (tests/gpu_loop.rs).
    let (prompt, want) = golden(3).await;
    let mut e = Engine::create(js(&model), "webgpu".into())
        .await
        .ok()
        .expect("load");
    assert_eq!(
        e.backend(),
        "webgpu",
        "no WebGPU adapter: {:?}",
        e.fallback()
    );
    let got = greedy(&mut e, &prompt, 22).await;
    assert_eq!(
        got,
        want[..22],
        "WebGPU greedy tokens differ from native CPU"
    );
    let mut cpu = Engine::new(js(&model)).ok().expect("load on the CPU");
    assert_eq!(
        got,
        greedy(&mut cpu, &prompt, 22).await,
        "WebGPU differs from the browser's CPU"
    );
    // A vector made on WebGPU (its logit lens read back from the device) is described as on
    // the CPU: the same nearest emotions and promoted tokens.
    let vectors = fetch("/data/vectors/smollm2-135m-instruct.safetensors").await;
    e.load_emotions(js(&vectors)).ok().expect("vectors");
    cpu.load_emotions(js(&vectors)).ok().expect("vectors");
    let (on_gpu, on_cpu) = (make_pirate(&mut e).await, make_pirate(&mut cpu).await);
    let names = |v: &wasm_bindgen::JsValue| -> Vec<serde_json::Value> {
        field(v, "neighbours")
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].clone())
            .take(3)
            .collect()
    };
    assert_eq!(names(&on_gpu), names(&on_cpu));
    // The lens's top logits lie close together, so the GPU's rounding can order them otherwise
    // (seen here: the same ten, two pairs swapped); the tokens are shared.
    let (lens_gpu, lens_cpu) = (field(&on_gpu, "lens"), field(&on_cpu, "lens"));
    let lens_gpu = lens_gpu.as_array().expect("a list");
    assert_eq!(lens_gpu.len(), 10);
    let shared = lens_gpu
        .iter()
        .filter(|t| lens_cpu.as_array().unwrap().contains(t))
        .count();
    assert!(shared >= 8, "{lens_gpu:?} vs {lens_cpu:?}");
    e.set_steers(vec![], vec![], None, None)
        .ok()
        .expect("no steering");
    e.set_readout(20).ok().expect("readout");
    // A device lost mid-reply: the reply finishes on the CPU, and says so.
    e.start(&prompt, false, 8, 0.0, 1.0, 0).ok().expect("start");
    JsFuture::from(e.ready()).await.expect("ready");
    e.finish().ok().expect("finish prompt");
    let mut reply = Vec::new();
    for _ in 0..3 {
        assert!(e.step().ok().expect("step"));
        JsFuture::from(e.ready()).await.expect("ready");
        reply.push(id_of(&e.finish().ok().expect("finish step")));
    }
    assert!(e.gpu_live(), "the device is open before it is lost");
    assert_eq!(limbic::wasm::live_gpu_devices(), 1, "one engine on WebGPU");
    e.lose_device();
    reply.extend(rest(&mut e).await);
    assert_eq!(e.backend(), "cpu");
    assert!(!e.gpu_live(), "the CPU holds no device");
    assert_eq!(limbic::wasm::live_gpu_devices(), 0, "no device left open");
    assert!(
        e.fallback().is_some_and(|f| f.contains("webgpu")),
        "{:?}",
        e.fallback()
    );
    assert_eq!(
        reply,
        want[..8].to_vec(),
        "the reply was finished, unchanged"
    );
}

#[wasm_bindgen_test]
async fn same_logprob_bits_and_greedy_tokens_as_native_and_bad_input_is_survivable() {
    assert!(Engine::new(js(b"not a model")).is_err());
    let model = fetch("/models/SmolLM2-135M-Instruct.Q4_1.gguf").await;
    // Every golden prompt's next-token log-probabilities, bit for bit as natively: the same
    // kernels' sums, exp in f64 rounded once, and the rope's sin, cos and pow from the same
    // `libm` code on both targets (src/numerics.rs).
    let cases = golden_cases().await;
    let mut session = limbic::Session::cpu(&model).expect("load");
    for case in cases.as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let ids = session.encode_prompt(text).expect("ids");
        let lp = limbic::numerics::log_softmax(&session.run(&ids).expect("run").logits);
        let here: Vec<(u64, f32)> = case["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .map(|id| (id, lp[id as usize]))
            .collect();
        assert_eq!(
            limbic::numerics::digest(&lp),
            case["logprobs_sha256"].as_str().unwrap(),
            "browser log-probabilities differ from native for {text:?}: here {here:?}, natively {}",
            case["top"]
        );
    }
    drop(session);
    let (prompt, want) = prompt_and_ids(&cases[3]);
    let prompt = prompt.as_str();

    let mut e = Engine::new(js(&model)).ok().expect("load");
    assert_eq!(e.backend(), "cpu");
    assert_eq!(
        greedy(&mut e, prompt, 32).await,
        want,
        "wasm greedy tokens differ from native"
    );

    assert!(e.start("", false, 4, 0.0, 1.0, 0).is_err());
    assert!(e.start("hi", false, 4, -1.0, 1.0, 0).is_err());
    assert!(e.start("hi", false, 4, 0.0, 0.0, 0).is_err());
    // Steering before vectors are loaded, then bad rows: unknown emotion, NaN or absurd
    // strength, a layer past the last, unmatched lengths.
    let steer = |e: &mut Engine, names: &[&str], s: &[f32], layer| {
        let names = names.iter().map(|n| n.to_string()).collect();
        e.set_steers(names, s.to_vec(), layer, None)
    };
    assert!(steer(&mut e, &["happy"], &[0.1], None).is_err());
    let vectors = fetch("/data/vectors/smollm2-135m-instruct.safetensors").await;
    e.load_emotions(js(&vectors)).ok().expect("vectors");
    assert!(steer(&mut e, &["no such feeling"], &[0.1], None).is_err());
    assert!(steer(&mut e, &["happy"], &[f32::NAN], None).is_err());
    assert!(steer(&mut e, &["happy"], &[1e9], None).is_err());
    assert!(steer(&mut e, &["happy"], &[0.1], Some(99)).is_err());
    assert!(steer(&mut e, &["happy", "sad"], &[0.1], None).is_err());
    assert!(e.set_readout(30).is_err());
    assert!(steer(&mut e, &["happy", "sad", "calm"], &[0.1, 0.1, 0.1], None).is_ok());
    assert!(
        steer(&mut e, &[], &[], None).is_ok(),
        "no rows clear the steering"
    );
    assert_eq!(
        greedy(&mut e, prompt, 8).await,
        want[..8].to_vec(),
        "engine changed after bad input"
    );
}

#[wasm_bindgen_test]
fn simd128_products_equal_the_scalar_reference() {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    use limbic::backend::quant::{Kernel, QMatrix, Q8};
    let mut s = 1u64;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    // The test build has relaxed SIMD (Chromium runs it): both browser kernels are here.
    assert!(Kernel::available().contains(&Kernel::Simd128));
    assert!(Kernel::available().contains(&Kernel::Relaxed));
    // Extremes too: weights at both ends of their range (nibbles 0 and 15, ±127) against
    // activations of ±127 with matching signs, where the sums in i16 lanes are largest.
    let alt = |c: usize| if c.is_multiple_of(2) { 1.0f32 } else { -1.0 };
    for dtype in [
        GgmlDType::Q4_1,
        GgmlDType::Q8_0,
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
    ] {
        let shapes = match dtype {
            GgmlDType::Q5K | GgmlDType::Q6K => {
                [(37, 256, false), (203, 768, false), (16, 256, true)]
            }
            _ => [(37, 96, false), (203, 576, false), (16, 64, true)],
        };
        for (rows, cols, extreme) in shapes {
            let w: Vec<f32> = (0..rows * cols)
                .map(|i| {
                    if extreme {
                        alt(i % cols) * alt(i / cols)
                    } else {
                        next()
                    }
                })
                .collect();
            let t = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
            let q = QMatrix::new(
                &limbic::gguf::qweight(&QTensor::quantize(&t, dtype).unwrap()).unwrap(),
            )
            .unwrap()
            .unwrap();
            let xs: Vec<f32> = (0..cols)
                .map(|i| match extreme {
                    true => alt(i),
                    false => next() * if i % 13 == 0 { 8.0 } else { 1.0 },
                })
                .collect();
            let x = Q8::new(&xs);
            assert_eq!(x, Q8::reference(&xs));
            let mut want = vec![0.0f32; rows - 3];
            q.rows_with(Kernel::Reference, std::slice::from_ref(&x), 3, &mut want);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            for k in [Kernel::Simd128, Kernel::Relaxed] {
                let mut got = vec![0.0f32; rows - 3];
                q.rows_with(k, std::slice::from_ref(&x), 3, &mut got);
                assert_eq!(bits(&got), bits(&want), "{k:?} {dtype:?} {rows}x{cols}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn simd128_quantization_equals_the_scalar_reference() {
    use limbic::backend::quant::Q8;
    // Scale 1 (amax 127): exact halves must round away from zero as `f32::round` does.
    let mut ties: Vec<f32> = (0..32).map(|i| i as f32 - 15.5).collect();
    ties[31] = 127.0;
    ties[30] = -126.5;
    let zero = vec![0.0f32; 32];
    let tiny: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) * 1e-30).collect();
    let wide: Vec<f32> = (0..64)
        .map(|i| ((i * 7919) % 101) as f32 * 0.37 - 18.0)
        .collect();
    for x in [ties, zero, tiny, wide] {
        assert_eq!(Q8::new(&x), Q8::reference(&x), "{x:?}");
    }
}

#[wasm_bindgen_test]
async fn made_vectors_are_made_steered_exported_and_bad_input_is_survivable() {
    let model = fetch("/models/SmolLM2-135M-Instruct.Q4_1.gguf").await;
    let mut e = Engine::new(js(&model)).ok().expect("load");
    assert!(e.make_text("Arr matey").is_err(), "no vectors loaded yet");
    let vectors = fetch("/data/vectors/smollm2-135m-instruct.safetensors").await;
    e.load_emotions(js(&vectors)).ok().expect("vectors");
    let plain = greedy(&mut e, "Tell me about your day.", 8).await;
    // Too few texts, then a name taken by an emotion: errors, and nothing kept.
    keep_texts(&mut e, &PIRATE[..3]).await;
    assert!(e.make_vector("pirate").is_err());
    assert!(e.make_text("").is_err());
    keep_texts(&mut e, &PIRATE).await;
    assert!(e.make_vector("happy").is_err(), "an emotion's name");
    let info = make_pirate(&mut e).await;
    assert_eq!(
        field(&info, "neighbours").as_array().map(|n| n.len()),
        Some(10)
    );
    let steer = |e: &mut Engine, s: f32| e.set_steers(vec!["pirate".into()], vec![s], None, None);
    // (At 0.4 these 8 greedy tokens are still the plain reply's; at 0.6 they change.)
    assert!(steer(&mut e, 0.6).is_ok());
    assert_ne!(greedy(&mut e, "Tell me about your day.", 8).await, plain);
    // Read out per token: one score at each prompt token and at each reply token.
    assert!(e
        .set_steers(vec![], vec![], None, Some("nobody".into()))
        .is_err());
    e.set_steers(vec![], vec![], None, Some("pirate".into()))
        .ok()
        .expect("trace");
    e.start("Arr, the treasure!", false, 2, 0.0, 1.0, 0)
        .ok()
        .expect("start");
    JsFuture::from(e.ready()).await.expect("ready");
    e.finish().ok().expect("finish prompt");
    let n = e
        .tokenize("Arr, the treasure!", false)
        .ok()
        .expect("ids")
        .len();
    let prompt_trace = e.prompt_trace();
    assert_eq!(prompt_trace.len(), n);
    assert!(prompt_trace.iter().all(|x| x.is_finite()));
    assert!(e.step().ok().expect("step"));
    JsFuture::from(e.ready()).await.expect("ready");
    assert!(field(&e.finish().ok().expect("finish step"), "trace").is_f64());
    // Control vectors: both producers' layouts import; another model's file says why.
    for (file, ok) in [
        ("cvec_generator", true),
        ("cvec_repeng", true),
        ("cvec_wrong_embd", false),
    ] {
        let bytes = fetch(&format!("/tests/fixtures/{file}.gguf")).await;
        match e.import_vector(file, &bytes) {
            Ok(()) => {
                assert!(ok, "{file}");
                JsFuture::from(e.ready()).await.expect("ready");
                let info = e.made_info().ok().expect("described");
                assert_eq!(field(&info, "layers"), 29);
                assert_eq!(field(&info, "imported"), true);
            }
            Err(_) => assert!(!ok, "{file}"),
        }
    }
    assert!(e
        .set_steers(vec!["cvec_repeng".into()], vec![2.0], None, None)
        .is_ok());
    // A link's vector: NaN, a wrong length, layer 0 … 30, an emotion's name are refused.
    assert!(e.add_vector("x", 13, vec![f32::NAN; 576]).is_err());
    assert!(e.add_vector("x", 13, vec![1.0; 575]).is_err());
    assert!(e.add_vector("x", 30, vec![1.0; 576]).is_err());
    assert!(e.add_vector("calm", 13, vec![1.0; 576]).is_err());
    assert!(e.add_vector("x", 13, vec![1.0; 576]).is_ok());
    let gguf = e.export_vector("pirate", "gguf", 0.3).ok().expect("gguf");
    assert_eq!(&gguf[..4], b"GGUF");
    assert!(e.export_vector("pirate", "exe", 0.3).is_err());
    assert!(e.export_vector("nobody", "json", 0.3).is_err());
    // Cleared: the made names are gone, the emotions and the engine as before.
    e.clear_vectors();
    assert!(steer(&mut e, 0.4).is_err());
    assert!(e.set_steers(vec![], vec![], None, None).is_ok());
    assert_eq!(greedy(&mut e, "Tell me about your day.", 8).await, plain);
}

#[wasm_bindgen_test]
async fn qwen2_llama3_and_gemma3_models_tokenize_and_answer_in_the_browser_as_in_llama_cpp() {
    // The tiny fixtures (tests/tiny_models.rs): their pre-tokenizers' regexes (lookahead,
    // Unicode classes, {1,3}) through the browser build's regex engine; biases, NEOX rope, rope
    // frequency factors; Gemma 3's SentencePiece-style vocabulary, norms, GELU and sliding
    // window. `tokenize` gives the text's ids; llama-bpe's and Gemma's prompts start with BOS.
    let all: serde_json::Value =
        serde_json::from_slice(&fetch("/tests/fixtures/tiny_models.json").await).expect("json");
    for (model, bos) in [("tiny_qwen2", 0), ("tiny_llama3", 1), ("tiny_gemma3", 1)] {
        let bytes = fetch(&format!("/tests/fixtures/{model}.gguf")).await;
        let mut e = Engine::new(js(&bytes)).ok().expect("load");
        for case in all[model].as_array().expect("cases") {
            let text = case["text"].as_str().expect("text");
            let want: Vec<u32> = serde_json::from_value(case["ids"].clone()).expect("ids");
            let ids = e.tokenize(text, false).ok().expect("ids");
            assert_eq!(ids, want[bos..], "{model} {text:?}");
            let logits: Vec<f32> = serde_json::from_value(case["logits"].clone()).expect("logits");
            let top = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b]));
            let first = greedy(&mut e, text, 1).await.first().copied();
            assert_eq!(first, top.map(|t| t as u32), "{model} {text:?}");
        }
    }
}
