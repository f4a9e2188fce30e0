//! Hook points: capturing changes nothing, steering adds exactly alpha·v and stays consistent
//! with the key/value cache, projections equal captures times the basis.

mod common;
use common::*;
use limbic::{HookPoint, HookSet, Intervention};

const TEXT: &str = "The old lighthouse keeper looked out at the grey sea and";

/// A fixed, irregular unit-ish vector (d) from a seed.
fn synthetic(d: usize, seed: u32) -> Vec<f32> {
    (0..d)
        .map(|i| {
            (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 7) % 2000) as f32 / 1000.0
                - 1.0
        })
        .collect()
}

#[test]
fn capturing_every_site_leaves_logits_bit_identical() {
    let mut e = engine();
    let ids = e.tokenizer.encode(TEXT).unwrap();
    let plain = e.run(&ids).unwrap();
    assert!(plain.captures.entries.is_empty());
    let n = e.config().n_layer;
    let mut hooks = HookSet::new();
    for l in 0..n {
        hooks.push(HookPoint::ResidPre(l), Intervention::Capture);
        hooks.push(HookPoint::ResidPost(l), Intervention::Capture);
    }
    // Adding a zero vector is also an identity.
    hooks.push(
        HookPoint::ResidPost(7),
        Intervention::Add {
            vector: vec![0.0; e.config().d_model],
            alpha: 3.0,
        },
    );
    e.set_hooks(hooks.clone()).unwrap();
    let hooked = e.run(&ids).unwrap();
    assert_eq!(
        plain.logits, hooked.logits,
        "hooks that change nothing changed the logits"
    );
    assert_eq!(hooked.captures.entries.len(), 2 * n);
    let d = e.config().d_model;
    for l in 0..n - 1 {
        let post = hooked.captures.get(HookPoint::ResidPost(l)).unwrap();
        let next_pre = hooked.captures.get(HookPoint::ResidPre(l + 1)).unwrap();
        assert_eq!(post.values.len(), ids.len() * d);
        assert_eq!(
            post.values,
            next_pre.values,
            "resid_post({l}) != resid_pre({})",
            l + 1
        );
    }
}

#[test]
fn steering_adds_exactly_alpha_v_and_changes_the_output() {
    let mut e = engine();
    let d = e.config().d_model;
    let ids = e.tokenizer.encode(TEXT).unwrap();
    let v = synthetic(d, 11);
    let alpha = 25.0f32;
    let layer = 20;
    let mut capture = HookSet::new();
    capture.push(HookPoint::ResidPost(layer), Intervention::Capture);
    e.set_hooks(capture.clone()).unwrap();
    let base = e.run(&ids).unwrap();

    let mut steer = HookSet::new();
    steer.push(
        HookPoint::ResidPost(layer),
        Intervention::Add {
            vector: v.clone(),
            alpha,
        },
    );
    steer.push(HookPoint::ResidPost(layer), Intervention::Capture);
    e.set_hooks(steer.clone()).unwrap();
    let steered = e.run(&ids).unwrap();

    let before = &base
        .captures
        .get(HookPoint::ResidPost(layer))
        .unwrap()
        .values;
    let after = &steered
        .captures
        .get(HookPoint::ResidPost(layer))
        .unwrap()
        .values;
    for (i, (a, b)) in after.iter().zip(before).enumerate() {
        assert_eq!(*a, b + v[i % d] * alpha, "position {} dim {}", i / d, i % d);
    }
    let moved = base
        .logits
        .iter()
        .zip(&steered.logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 0.1, "steering moved the logits by only {moved}");
}

#[test]
fn steering_is_consistent_with_the_kv_cache() {
    // Steered prompt + 6 steered decode steps must equal one steered pass over the same tokens.
    let mut e = engine();
    let d = e.config().d_model;
    let mut hooks = HookSet::new();
    hooks.push(
        HookPoint::ResidPost(12),
        Intervention::Add {
            vector: synthetic(d, 5),
            alpha: 8.0,
        },
    );
    e.set_hooks(hooks.clone()).unwrap();
    let prompt = e.tokenizer.encode(TEXT).unwrap();
    let generated = greedy(&mut e, prompt.clone(), 6);
    assert_eq!(generated.len(), 6);
    let all: Vec<u32> = prompt.iter().chain(&generated[..5]).copied().collect();
    let once = e.run(&all).unwrap().logits;
    let mut inc = e.run(&prompt).unwrap().logits;
    for &t in &generated[..5] {
        inc = e.model().forward(&[t]).unwrap().logits;
    }
    // Activations are rounded to 8 bits before each product, and one value rounded the other
    // way moves the logits a little: held to a small KL divergence (a stale or unsteered
    // cache gives far more) and the same top token below.
    let (p, q) = (log_softmax(&once), log_softmax(&inc));
    let kl: f64 = p.iter().zip(&q).map(|(p, q)| p.exp() * (p - q)).sum();
    assert!(
        kl < 0.01,
        "incremental and one-pass steered logits: KL {kl}"
    );
    let argmax = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    assert_eq!(argmax(&once), generated[5] as usize);
}

#[test]
fn projection_equals_capture_times_basis() {
    let mut e = engine();
    let d = e.config().d_model;
    let n = 7;
    let basis: Vec<f32> = (0..n).flat_map(|k| synthetic(d, 100 + k as u32)).collect();
    let mut hooks = HookSet::new();
    hooks.push(HookPoint::ResidPost(3), Intervention::Capture);
    hooks.push(
        HookPoint::ResidPost(3),
        Intervention::Project {
            basis: basis.clone(),
            n,
        },
    );
    e.set_hooks(hooks.clone()).unwrap();
    let ids = e.tokenizer.encode(TEXT).unwrap();
    let out = e.run(&ids).unwrap();
    let x = &out.captures.entries[0].values;
    let scores = &out.captures.entries[1];
    assert_eq!((scores.cols, scores.values.len()), (n, ids.len() * n));
    for t in 0..ids.len() {
        for k in 0..n {
            let want: f32 = (0..d).map(|j| x[t * d + j] * basis[k * d + j]).sum();
            let got = scores.values[t * n + k];
            assert!(
                (want - got).abs() <= 1e-3 * want.abs().max(1.0),
                "t {t} k {k}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn hook_names_round_trip() {
    for p in [HookPoint::ResidPre(0), HookPoint::ResidPost(29)] {
        assert_eq!(HookPoint::parse(&p.name()).unwrap(), p);
    }
    assert_eq!(HookPoint::ResidPost(20).name(), "blocks.20.hook_resid_post");
    assert!(HookPoint::parse("blocks.x.hook_resid_post").is_err());
    assert!(HookPoint::parse("blocks.3.hook_attn").is_err());
}

#[test]
fn seeded_sampling_is_reproducible() {
    let mut e = engine();
    let prompt = e.tokenizer.encode(TEXT).unwrap();
    let sample = |e: &mut limbic::Session, seed| {
        let s = limbic::Sampler {
            temperature: 0.9,
            top_p: 0.95,
            repeat_penalty: 1.1,
            seed,
            ..Default::default()
        };
        e.reply(prompt.clone(), &s, 24).unwrap()
    };
    let a = sample(&mut e, 1);
    assert_eq!(a, sample(&mut e, 1), "same seed, different tokens");
    assert_ne!(
        a,
        sample(&mut e, 2),
        "different seeds gave the same 24 sampled tokens"
    );
}

#[test]
fn every_generated_token_has_its_capture_including_the_last() {
    // The last token is not needed for sampling, but a reading hook still sees it.
    let mut r = limbic::Session::cpu(&model_bytes()).unwrap();
    let mut hooks = HookSet::new();
    hooks.push(HookPoint::ResidPost(21), Intervention::Capture);
    r.set_hooks(hooks).unwrap();
    let ids = r.tokenizer.encode(TEXT).unwrap();
    r.start_now(ids.clone(), &limbic::Sampler::default(), 5)
        .unwrap();
    let mut steps = Vec::new();
    while let Some(s) = r.step_now().unwrap() {
        steps.push(s);
    }
    assert_eq!(steps.len(), 5);
    for (i, s) in steps.iter().enumerate() {
        let c = s.captures.get(HookPoint::ResidPost(21));
        assert!(
            c.is_some_and(|c| c.values.len() == 576),
            "token {i} has no capture"
        );
    }
    // The extra pass changes nothing: the same tokens as without hooks.
    let mut plain = limbic::Session::cpu(&model_bytes()).unwrap();
    plain
        .start_now(ids, &limbic::Sampler::default(), 5)
        .unwrap();
    let mut want = Vec::new();
    while let Some(s) = plain.step_now().unwrap() {
        want.push(s.id);
    }
    assert_eq!(steps.iter().map(|s| s.id).collect::<Vec<_>>(), want);
}

#[test]
fn a_steer_of_three_rows_is_one_call_and_one_upload_per_layer() {
    // What the page's Steer view sends (`setSteers`): one check, one vector per layer steered,
    // and the readout's 171 × 576 basis is not uploaded again.
    let mut s = engine();
    let set =
        limbic::emotions::EmotionSet::load(std::path::Path::new(limbic::DEFAULT_VECTORS), None)
            .expect("vectors");
    s.set_readout(Some(set.readout(set.default_layer).unwrap()))
        .unwrap();
    let rows: Vec<(usize, f32)> = ["happy", "sad", "calm"]
        .iter()
        .map(|n| (set.index(n).unwrap(), 0.1))
        .collect();
    let uploads = |s: &mut limbic::Session| s.model().uploads();
    let before = uploads(&mut s);
    s.set_steers(&set, &rows, Some(12)).unwrap();
    assert_eq!(uploads(&mut s) - before, 1, "three rows at one layer");
    let layers: std::collections::BTreeSet<usize> = rows
        .iter()
        .flat_map(|&(e, _)| set.steer_layers_for(e))
        .collect();
    let before = uploads(&mut s);
    s.set_steers(&set, &rows, None).unwrap();
    assert_eq!(
        uploads(&mut s) - before,
        layers.len(),
        "each row at its own layers"
    );
    // A bad row is refused whole: nothing uploaded, the steering as it was.
    let before = uploads(&mut s);
    assert!(s
        .set_steers(&set, &[rows[0], (rows[1].0, f32::NAN)], None)
        .is_err());
    assert_eq!(uploads(&mut s), before);
    let steered = s.run(&s.tokenizer.encode(TEXT).unwrap()).unwrap();
    s.set_steers(&set, &rows, None).unwrap();
    let again = s.run(&s.tokenizer.encode(TEXT).unwrap()).unwrap();
    assert_eq!(
        steered.logits, again.logits,
        "the refused row changed the steering"
    );
    // The readout still reads, after the steers, at its layer.
    let scores = s.scores(&again.captures).expect("readout scores");
    assert_eq!(
        scores.len(),
        s.tokenizer.encode(TEXT).unwrap().len() * set.names.len()
    );
}

#[test]
fn the_user_span_of_a_chat_prompt_is_the_users_own_text() {
    let e = engine();
    let history = ["What is a dog?".to_string(), "An animal.".to_string()];
    for hist in [&[][..], &history[..]] {
        let user = "Tell me about cats.";
        let ids = e
            .tokenizer
            .encode(&e.tokenizer.chat_turns(hist, user, None).unwrap())
            .unwrap();
        let (start, end) = limbic::chat::user_span(&e.tokenizer, &ids, hist, user).unwrap();
        assert!(
            start < end && end < ids.len(),
            "{start}..{end} of {}",
            ids.len()
        );
        let shown = e.tokenizer.decode(&ids[start..end]).unwrap();
        assert!(shown.ends_with(user), "{shown:?}");
        match hist.first() {
            // A continued conversation shows from its first user turn on.
            Some(first) => assert!(shown.starts_with(first.as_str()), "{shown:?}"),
            None => assert_eq!(shown, user),
        }
    }
}

#[test]
fn a_model_kept_to_its_first_blocks_reads_the_same_residuals() {
    let mut e = engine();
    let ids = e.tokenizer.encode(TEXT).unwrap();
    let n = e.config().n_layer;
    e.set_hooks(limbic::make::capture_every_layer(n)).unwrap();
    let whole = e.run(&ids).unwrap();
    assert_eq!(whole.captures.entries.len(), n);
    e.model().keep_blocks(20);
    let part = e.run(&ids).unwrap();
    // Blocks 0..20 only: their residuals bit for bit, none after, and other logits (a lens).
    assert_eq!(part.captures.entries.len(), 20);
    for (a, b) in whole.captures.entries.iter().zip(&part.captures.entries) {
        assert_eq!(a.point, b.point);
        assert!(a
            .values
            .iter()
            .zip(&b.values)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
    }
    assert_ne!(whole.logits, part.logits);
}

#[test]
fn a_pass_resumed_from_a_kept_stream_reads_the_same_residuals() {
    let mut e = engine();
    let ids = e.tokenizer.encode(&[TEXT; 3].join(" ")).unwrap(); // over a block of 16 queries
    let n = e.config().n_layer;
    e.set_hooks(limbic::make::capture_every_layer(n)).unwrap();
    let whole = e.run(&ids).unwrap();
    e.model().keep_blocks(20);
    let kept = &whole.captures.entries[11];
    let resumed = e.model().forward_stream(&kept.values, 12).unwrap();
    // Blocks 12..20 run on the stream block 11 left: their residuals bit for bit.
    assert_eq!(resumed.captures.entries.len(), 8);
    for b in &resumed.captures.entries {
        let a = whole.captures.get(b.point).unwrap();
        assert!(
            a.values.len() == b.values.len()
                && a.values
                    .iter()
                    .zip(&b.values)
                    .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }
    // A stream that does not fit is an error, and the engine reads on.
    let d = e.config().d_model;
    assert!(e.model().forward_stream(&[], 12).is_err());
    assert!(e.model().forward_stream(&kept.values[..d + 1], 12).is_err());
    assert!(e.model().forward_stream(&kept.values, n + 1).is_err());
    let again = e.model().forward_stream(&kept.values, 12).unwrap();
    assert_eq!(again.logits, resumed.logits);
}

#[test]
fn texts_read_from_kept_streams_give_the_captures_of_a_whole_read() {
    use limbic::calibrate::{map_texts, Kept};
    let bytes = model_bytes();
    let texts: Vec<String> = ["A storm rolled in over the harbour.", TEXT, "We waited."]
        .iter()
        .map(|t| t.to_string())
        .collect();
    let mut e = engine();
    let n = e.config().n_layer;
    e.set_hooks(limbic::make::capture_every_layer(n)).unwrap();
    let ids = e.encode_prompt(&texts[0]).unwrap();
    let first = e.run(&ids).unwrap().captures;
    let ids = e.encode_prompt(&texts[1]).unwrap();
    let second = e.run(&ids).unwrap().captures;
    let stream = |c: &limbic::Captures, l: usize| (l, c.entries[l].values.clone());
    // The first text kept at every layer, the second at every sixth, the third not at all.
    let mut kept = Kept::new();
    kept.insert(
        texts[0].clone(),
        (0..n).map(|l| stream(&first, l)).collect(),
    );
    kept.insert(
        texts[1].clone(),
        [5, 11, 17].map(|l| stream(&second, l)).to_vec(),
    );
    for layer in [17, 18] {
        let read = |kept: &Kept| {
            map_texts(
                &bytes,
                &texts,
                Some(layer + 1),
                kept,
                |_| (),
                |_, _, c| Ok(c.get(HookPoint::ResidPost(layer)).unwrap().values.clone()),
                &|| {},
            )
            .unwrap()
            .0
        };
        let (whole, from_kept) = (read(&Kept::new()), read(&kept));
        for (a, b) in whole.iter().zip(&from_kept) {
            assert!(a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }
}

/// Replies decoded at once (`Session::replies`, a sweep's path) are the replies decoded one at
/// a time, token for token, and each row's logits a lone pass's bit for bit: SmolLM2 steered
/// and sampled (prompts of different lengths, so the rows sit at different positions, and
/// replies of different lengths), and Gemma 3 270M (per-head norms, a sliding window, scaled
/// embeddings, K-quants). A prompt given twice (a sweep's seeds) runs once, its cache copied:
/// the second reply is still its own. A mismatched call is refused and leaves the engine as it
/// was.
#[test]
fn replies_at_once_are_the_replies_one_at_a_time() {
    for (bytes, steer) in [
        (model_bytes(), true),
        (std::fs::read(gemma_path()).unwrap(), false),
    ] {
        let mut e = limbic::Session::cpu(&bytes).unwrap();
        let d = e.config().d_model;
        let mut hooks = HookSet::new();
        if steer {
            hooks.push(
                HookPoint::ResidPost(10),
                Intervention::Add {
                    vector: synthetic(d, 3),
                    alpha: 4.0,
                },
            );
        }
        let texts = [
            "Tell me about your morning.",
            "Hi",
            TEXT,
            "Tell me about your morning.",
        ];
        let prompts: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| e.tokenizer.encode(t).unwrap())
            .collect();
        let sampler = |seed: u64, temperature: f64| limbic::Sampler {
            temperature,
            top_p: 0.95,
            seed,
            ..limbic::Sampler::default()
        };
        let samplers = [
            sampler(7, 0.7),
            sampler(8, 1.0),
            sampler(9, 0.0),
            sampler(10, 0.7),
        ];
        e.set_hooks(hooks.clone()).unwrap();
        let at_once = e.replies(&prompts, &samplers, 24).unwrap();
        for ((p, s), (ids, text)) in prompts.iter().zip(&samplers).zip(&at_once) {
            e.set_hooks(hooks.clone()).unwrap();
            e.start_now(p.clone(), s, 24).unwrap();
            let (mut alone, mut streamed) = (Vec::new(), String::new());
            while let Some(step) = e.step_now().unwrap() {
                alone.push(step.id);
                streamed += &step.text;
            }
            assert_eq!(
                ids, &alone,
                "a reply decoded with others differs from it alone"
            );
            assert!(!ids.is_empty());
            assert_eq!(text, &streamed);
        }
        assert_ne!(at_once[0].0, at_once[3].0, "another seed, the same reply");
        // Underneath: the rows' logits are each sequence's own pass's, bit for bit.
        let v = e.config().vocab;
        let m = e.model();
        let mut caches = Vec::new();
        for p in [&prompts[0], &prompts[2]] {
            m.reset().unwrap();
            m.forward(p).unwrap();
            caches.push(m.take_caches().unwrap());
        }
        let rows = m.forward_rows(&[42, 43], &mut caches).unwrap();
        for (i, (p, id)) in [(&prompts[0], 42), (&prompts[2], 43)]
            .into_iter()
            .enumerate()
        {
            m.reset().unwrap();
            m.forward(p).unwrap();
            let alone = m.forward(&[id]).unwrap().logits;
            assert!(
                rows[i * v..(i + 1) * v] == alone[..],
                "row {i}'s logits differ from its own pass's"
            );
        }
        assert!(m.forward_rows(&[42], &mut caches).is_err());
        assert!(e.replies(&prompts, &samplers[..2], 24).is_err());
        assert!(e.replies(&[vec![]], &samplers[..1], 24).is_err());
        e.set_hooks(hooks.clone()).unwrap();
        assert_eq!(
            e.reply(prompts[0].clone(), &samplers[0], 24).unwrap(),
            at_once[0].0
        );
    }
}
