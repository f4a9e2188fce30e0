//! The committed emotion vectors with the real model: probe, next, steered generation.

mod common;
use common::*;

/// The committed vectors file, checked against the model's SHA-256.
fn committed() -> limbic::emotions::EmotionSet {
    let sha = limbic::io::sha256_hex(&model_bytes());
    limbic::emotions::EmotionSet::load(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/vectors/smollm2-135m-instruct.safetensors"
        )),
        Some(&sha),
    )
    .unwrap()
}

#[test]
fn committed_vectors_match_the_model_and_the_catalogue() {
    let set = committed();
    let catalogue: Vec<String> = fixture("../../data/emotions.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(set.names, catalogue);
    assert_eq!((set.n_layer(), set.d_model), (30, 576));
    for l in 0..30 {
        for e in 0..set.names.len() {
            let n: f32 = set.vector(l, e).iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-3, "layer {l} emotion {e} has norm {n}");
        }
        assert!(set.resid_norm[l] > 0.0);
    }
}

/// The committed file is a v2 file: a neutral calibration for every layer and window, a default
/// window among them, steering layers and a strength per emotion, the contrastive offset.
#[test]
fn committed_vectors_carry_the_readout_calibration_and_steering_settings() {
    let set = committed();
    let n = set.names.len();
    assert!(
        set.windows.len() > 1
            && set.windows.contains(&1)
            && set.windows.contains(&set.default_window)
    );
    assert_eq!(set.calibration.len(), 30);
    for l in 0..30 {
        assert_eq!(set.calibration[l].len(), set.windows.len());
        assert!(set.calibration[l]
            .iter()
            .all(|c| c.mean.len() == n && c.sd.iter().all(|&s| s > 0.0)));
        assert_eq!(set.raw_norm[l].len(), n);
        assert_eq!(set.neutral[l].len(), 576);
        // v6: the discriminant's score weight (positive) and bias per emotion.
        assert!(set.weights[l].len() == n && set.weights[l].iter().all(|&w| w > 0.0));
        assert_eq!(set.biases[l].len(), n);
    }
    // Smoothing narrows the spread of neutral scores: a longer window, a smaller sd.
    let (first, last) = (
        &set.calibration[set.default_layer][0],
        set.calibration[set.default_layer].last().unwrap(),
    );
    let mean_sd = |c: &limbic::readout::Calibration| c.sd.iter().sum::<f32>() / n as f32;
    assert!(mean_sd(last) < mean_sd(first));
    assert!(!set.steer_layers.is_empty() && set.steer_layers.iter().all(|&l| l < 30));
    assert_eq!(set.steer_strength.len(), n);
    assert!(set.steer_strength.iter().all(|s| *s > 0.0 && *s <= 1.0));
    // v5: generation-based directions, unit rows, at the layers the sweep tried; every emotion
    // steered with them has them at each of its layers.
    let at: Vec<usize> = (0..30)
        .filter(|&l| set.generated.get(l).is_some_and(|g| !g.is_empty()))
        .collect();
    assert!(!at.is_empty());
    for &l in &at {
        for row in set.generated[l].chunks_exact(576) {
            let norm = row.iter().map(|x| x.to_f32().powi(2)).sum::<f32>().sqrt();
            assert!(
                (norm - 1.0).abs() < 1e-2,
                "layer {l}: a generated direction of norm {norm}"
            );
        }
    }
    for e in 0..n {
        if set.direction_for(e) == limbic::emotions::Direction::Generated {
            assert!(set.steer_layers_for(e).iter().all(|l| at.contains(l)));
        }
    }
}

#[test]
fn probe_scores_a_frightening_text_as_more_afraid_than_a_calm_one() {
    let dir = std::env::temp_dir().join(format!("limbic-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.jsonl");
    std::fs::write(&input, concat!(
        "{\"id\":\"fear\",\"text\":\"The footsteps behind her grew louder in the dark alley. Her heart hammered, her hands shook, and she ran, sobbing, certain that whoever followed would catch her before she reached the lit street.\"}\n",
        "{\"id\":\"calm\",\"text\":\"She sat on the porch with her tea as the evening settled over the fields. Her breathing was slow, her shoulders loose, and she watched the sky turn pink without a single thought hurrying her.\"}\n",
    )).unwrap();
    let (ok, out, err) = cli(&["probe", "--input", input.to_str().unwrap(), "--per-token"]);
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        let n = r["n_tokens"].as_u64().unwrap() as usize;
        assert_eq!(r["tokens"].as_array().unwrap().len(), n);
        assert_eq!(r["per_token"].as_array().unwrap().len(), n);
        assert_eq!(r["per_token"][0].as_array().unwrap().len(), 171);
        assert_eq!(r["mean"].as_object().unwrap().len(), 171);
    }
    let s = |r: &serde_json::Value, e: &str| r["mean"][e].as_f64().unwrap();
    let margin = |e1: &str, e2: &str| {
        (s(&rows[0], e1) - s(&rows[0], e2)) - (s(&rows[1], e1) - s(&rows[1], e2))
    };
    assert!(
        margin("afraid", "calm") > 0.0,
        "fear text is not more afraid-than-calm than the calm text"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn steering_toward_an_emotion_raises_its_word_and_changes_the_reply() {
    let text = "How does he feel? He feels";
    let p = |extra: &[&str]| -> f64 {
        let mut args = vec!["next", "--text", text, "--prob-of", " happy", "--json"];
        args.extend_from_slice(extra);
        let (ok, out, err) = cli(&args);
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["prob_of"][" happy"]
            .as_f64()
            .unwrap()
    };
    let (base, steered) = (p(&[]), p(&["--steer", "happy:0.3"]));
    assert!(
        steered > base,
        "p(' happy') {base} → {steered} when steered toward happy"
    );

    let gen = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "--chat",
            "--prompt",
            "Tell me about your weekend.",
            "--max-tokens",
            "16",
            "--json",
        ];
        args.extend_from_slice(extra);
        let (ok, out, err) = cli(&args);
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(
        gen(&[]),
        gen(&["--steer", "sad:0.3"]),
        "steering changed nothing"
    );
}
