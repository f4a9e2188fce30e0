//! Extraction maths on synthetic activations (planted directions are recovered, a planted
//! nuisance direction is removed), the vectors file, and the llama.cpp control-vector export.

mod common;
use common::{cos, Rng};

use std::process::Command;

use limbic::emotions::{Direction, EmotionSet, SteerSetting, Tensors};
use limbic::extract::{
    centred, emotion_directions, fit_effects, normalise_rows, principal_components, project_out,
    rank_accuracy, Design, Moments, StoryStats, OFFSETS,
};
use limbic::readout::{auc, smooth, Calibration, Emotional};

const D: usize = 48;
const N: usize = 6;

/// Story means: a shared base, a planted direction per emotion, a strong nuisance direction
/// with a random weight per story, and noise.
fn synthetic(rng: &mut Rng, planted: &[Vec<f32>], nuisance: &[f32]) -> Vec<(usize, Vec<f32>)> {
    let base = rng.vec(D, 5.0);
    let mut out = Vec::new();
    for (e, u) in planted.iter().enumerate() {
        for _ in 0..20 {
            // Each emotion's stories also lean along the nuisance by a different amount.
            let w = (e as f32 - 2.5) * 4.0 + rng.next() * 10.0;
            let noise = rng.vec(D, 0.3);
            out.push((
                e,
                (0..D)
                    .map(|j| base[j] + 2.0 * u[j] + w * nuisance[j] + noise[j])
                    .collect(),
            ));
        }
    }
    out
}

#[test]
fn planted_directions_are_recovered_and_a_nuisance_direction_is_projected_out() {
    let mut rng = Rng(42);
    let planted: Vec<Vec<f32>> = (0..N).map(|_| rng.vec(D, 1.0)).collect();
    let mut nuisance = rng.vec(D, 1.0);
    normalise_rows(&mut nuisance, D);
    let stories = synthetic(&mut rng, &planted, &nuisance);

    // Neutral "token activations": most variance along the nuisance direction.
    let mut moments = Moments::new(1, D);
    for _ in 0..50 {
        let mut x = Vec::with_capacity(8 * D);
        for _ in 0..8 {
            let w = rng.next() * 20.0;
            let noise = rng.vec(D, 0.1);
            x.extend((0..D).map(|j| w * nuisance[j] + noise[j]));
        }
        let mut xtx = vec![0.0f32; D * D];
        for row in x.chunks_exact(D) {
            for i in 0..D {
                for j in 0..D {
                    xtx[i * D + j] += row[i] * row[j];
                }
            }
        }
        moments.add(0, &x, &xtx);
        moments.count(8);
    }
    let (basis, shares) = principal_components(&moments.covariance(0), D, 0.5);
    assert_eq!(
        basis.len(),
        1,
        "one component should explain half the neutral variance: {shares:?}"
    );
    assert!(cos(&basis[0], &nuisance).abs() > 0.99);

    let (raw, _) = emotion_directions(&stories, N, D).unwrap();
    let mut dirs = raw.clone();
    project_out(&mut dirs, D, &basis);
    normalise_rows(&mut dirs, D);
    for e in 0..N {
        let v = &dirs[e * D..(e + 1) * D];
        let r = &raw[e * D..(e + 1) * D];
        assert!(
            cos(v, &basis[0]).abs() < 1e-4,
            "emotion {e}: the neutral component was not projected out"
        );
        assert!(
            cos(r, &nuisance).abs() > 0.2 && cos(v, &nuisance).abs() < 0.02,
            "emotion {e}: nuisance cos {} before, {} after",
            cos(r, &nuisance),
            cos(v, &nuisance)
        );
        // The planted direction minus the mean of planted directions, nuisance removed, is what should come back.
        let mean_u: Vec<f32> = (0..D)
            .map(|j| planted.iter().map(|u| u[j]).sum::<f32>() / N as f32)
            .collect();
        let mut want: Vec<f32> = (0..D).map(|j| planted[e][j] - mean_u[j]).collect();
        project_out(&mut want, D, &basis);
        assert!(cos(v, &want) > 0.97, "emotion {e}: cos {}", cos(v, &want));
        // Without the projection the nuisance would pull every direction away from the planted one.
        assert!(cos(r, &want) < cos(v, &want));
    }
    let centre: Vec<f32> = (0..D)
        .map(|j| stories.iter().map(|s| s.1[j]).sum::<f32>() / stories.len() as f32)
        .collect();
    let (top1, top5) = rank_accuracy(&stories, &dirs, &centre, D);
    assert!(top1 > 0.9 && top5 == 1.0, "top-1 {top1}, top-5 {top5}");
}

#[test]
fn story_means_start_at_the_offset_and_short_stories_use_every_token() {
    let mut rng = Rng(7);
    let t = 60;
    let layers: Vec<Vec<f32>> = (0..2).map(|_| rng.vec(t * D, 1.0)).collect();
    let refs: Vec<&[f32]> = layers.iter().map(|l| l.as_slice()).collect();
    let s = StoryStats::new(&refs, D);
    for (o, &from) in OFFSETS.iter().enumerate() {
        let m = s.mean(1, o, D);
        for j in 0..D {
            let want = (from..t).map(|r| layers[1][r * D + j]).sum::<f32>() / (t - from) as f32;
            assert!((m[j] - want).abs() < 1e-4);
        }
    }
    let short: Vec<f32> = rng.vec(5 * D, 1.0);
    let s = StoryStats::new(&[&short], D);
    let m = s.mean(0, OFFSETS.len() - 1, D);
    let want: f32 = (0..5).map(|r| short[r * D]).sum::<f32>() / 5.0;
    assert!(
        (m[0] - want).abs() < 1e-5,
        "a story shorter than the offset must average all its tokens"
    );
}

/// A small synthetic set made for the real model file (so the CLI accepts it).
/// `n` random unit rows of width 576 held in f16, as a vectors file's means are.
fn unit_rows_f16(rng: &mut Rng, n: usize) -> Vec<half::f16> {
    let mut v = rng.vec(n * 576, 1.0);
    normalise_rows(&mut v, 576);
    limbic::emotions::narrow(v)
}

fn small_set(sha: &str) -> EmotionSet {
    let mut rng = Rng(3);
    let (n_layer, d, names) = (
        30,
        576,
        vec!["happy".to_string(), "sad".to_string(), "calm".to_string()],
    );
    let vectors = (0..n_layer)
        .map(|_| {
            let mut v = rng.vec(names.len() * d, 1.0);
            normalise_rows(&mut v, d);
            v
        })
        .collect();
    EmotionSet {
        names,
        d_model: d,
        vectors,
        centres: (0..n_layer).map(|_| rng.vec(d, 3.0)).collect(),
        resid_norm: (0..n_layer).map(|l| 10.0 + l as f32).collect(),
        default_layer: 20,
        token_offset: 10,
        neutral_pcs: vec![4; n_layer],
        model_sha256: sha.to_string(),
        method: "synthetic".into(),
        default_strength: 0.15,
        ..Default::default()
    }
}

#[test]
fn vectors_file_round_trips_and_rejects_bad_input() {
    let dir = std::env::temp_dir().join(format!("limbic-test-{}", std::process::id()));
    let path = dir.join("v.safetensors");
    let mut set = small_set("ab".repeat(32).as_str());
    // v6: the discriminant's weight and bias per emotion and layer.
    let mut rng = Rng(4);
    set.weights = (0..30)
        .map(|_| rng.vec(3, 0.5).iter().map(|w| w + 1.0).collect())
        .collect();
    set.biases = (0..30).map(|_| rng.vec(3, 2.0)).collect();
    set.save(&path).unwrap();
    assert!(
        !dir.join("v.partial").exists(),
        "temporary file left behind"
    );
    let back = EmotionSet::load(&path, Some(&"ab".repeat(32))).unwrap();
    assert_eq!(back, set);

    let other = EmotionSet::load(&path, Some(&"cd".repeat(32)))
        .unwrap_err()
        .to_string();
    assert!(other.contains("another model"), "{other}");
    let bytes = std::fs::read(&path).unwrap();
    assert!(EmotionSet::from_bytes(&bytes[..bytes.len() / 2])
        .unwrap_err()
        .to_string()
        .contains("malformed"));
    assert!(EmotionSet::from_bytes(b"garbage").is_err());
    // Read a range at a time (as the page reads JavaScript's copy): the same set, and a file
    // cut short, or with a header past its end, is refused with a reason.
    let ranges = |b: &'static [u8]| move |a: usize, e: usize| b[a..e].to_vec();
    let bytes: &'static [u8] = bytes.leak();
    let read = Tensors::from_ranges(bytes.len(), ranges(bytes)).unwrap();
    assert_eq!(EmotionSet::from_tensors(&read).unwrap(), set);
    for cut in [bytes.len() - 1, 100, 7, 0] {
        let e = Tensors::from_ranges(cut, ranges(&bytes[..cut]))
            .map(|_| ())
            .unwrap_err();
        assert!(
            e.to_string().contains("malformed vectors file"),
            "{cut}: {e}"
        );
    }

    let unknown = set.index("hapy").unwrap_err().to_string();
    assert!(
        unknown.contains("unknown emotion") && unknown.contains("happy"),
        "{unknown}"
    );
    assert_eq!(set.index(" Sad ").unwrap(), 1);
    for bad in [f32::NAN, f32::INFINITY, 5.5, -7.0] {
        assert!(
            set.steering(20, &[(0, bad)]).is_err(),
            "strength {bad} accepted"
        );
    }
    assert!(set.steering(30, &[(0, 0.1)]).is_err());
    let v = set.steering(20, &[(0, 0.5), (2, -0.25)]).unwrap();
    for (j, got) in v.iter().enumerate() {
        let want = 0.5 * 30.0 * set.vector(20, 0)[j] - 0.25 * 30.0 * set.vector(20, 2)[j];
        assert!((got - want).abs() < 1e-5);
    }
    let x: Vec<f32> = (0..576)
        .map(|j| set.centres[20][j] + 2.0 * set.vector(20, 1)[j])
        .collect();
    let s = set.scores(20, &x);
    let (w, b) = (set.weights[20][1], set.biases[20][1]);
    assert!(
        (s[1] - (2.0 * w + b)).abs() < 1e-4,
        "score 2 along its own unit vector, weighted and offset: want {}, got {}",
        2.0 * w + b,
        s[1]
    );
    // The readout the engine projects with gives the same scores.
    let r = set.readout(20).unwrap();
    for (e, &want) in s.iter().enumerate() {
        let p: f32 = r.basis[e * 576..(e + 1) * 576]
            .iter()
            .zip(&x)
            .map(|(v, x)| v * x)
            .sum();
        assert!(
            (p - r.offsets[e] - want).abs() < 1e-3,
            "{e}: {} vs {want}",
            p - r.offsets[e]
        );
    }
    // And the calibration's matrix product over rows (the first row, the attention sink, dropped).
    let rows: Vec<f32> = vec![9.0; 576]
        .into_iter()
        .chain(x.iter().copied())
        .collect();
    let t = limbic::calibrate::token_scores(&set, 20, &rows);
    assert_eq!(t.len(), s.len());
    for (a, b) in t.iter().zip(&s) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
    assert!(limbic::calibrate::token_scores(&set, 20, &[]).is_empty());
    assert!(limbic::calibrate::token_scores(&set, 20, &x).is_empty());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn llama_cpp_control_vector_export_reads_back_with_our_layer_mapping() {
    use candle_core::quantized::gguf_file;
    let bytes = common::model_bytes();
    let sha = limbic::io::sha256_hex(&bytes);
    let dir = std::env::temp_dir().join(format!("limbic-cv-{}", std::process::id()));
    let vectors = dir.join("v.safetensors");
    let set = small_set(&sha);
    set.save(&vectors).unwrap();
    let out = dir.join("happy.gguf");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_limbic"))
            .args([
                "--model",
                common::model_path().to_str().unwrap(),
                "--vectors",
                vectors.to_str().unwrap(),
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&[
        "export",
        "--format",
        "llama-cpp",
        "--layers",
        "18-22",
        "--steer",
        "happy:0.4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut f = std::fs::File::open(&out).unwrap();
    let content = gguf_file::Content::read(&mut f).unwrap();
    assert_eq!(
        content.metadata["general.architecture"]
            .to_string()
            .unwrap(),
        "controlvector"
    );
    assert_eq!(
        content.metadata["controlvector.layer_count"]
            .to_u32()
            .unwrap(),
        5
    );
    for l in 18..=22 {
        let t = content
            .tensor(&mut f, &format!("direction.{l}"), &candle_core::Device::Cpu)
            .unwrap();
        let got: Vec<f32> = t
            .dequantize(&candle_core::Device::Cpu)
            .unwrap()
            .to_vec1()
            .unwrap();
        // direction.{l} is what limbic adds at blocks.{l}.hook_resid_post.
        assert_eq!(got, set.steering(l, &[(0, 0.4)]).unwrap(), "direction.{l}");
    }
    assert!(!content.tensor_infos.contains_key("direction.17"));

    let zero = run(&[
        "export",
        "--format",
        "llama-cpp",
        "--layers",
        "0-3",
        "--steer",
        "happy",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!zero.status.success() && String::from_utf8_lossy(&zero.stderr).contains("block 0"));
    let json_out = dir.join("web.json");
    let o = run(&[
        "export",
        "--format",
        "json",
        "--layers",
        "20",
        "--out",
        json_out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_out).unwrap()).unwrap();
    assert_eq!(v["emotions"][2], "calm");
    assert_eq!(v["layers"]["20"]["vectors"].as_array().unwrap().len(), 3);
    let bad = run(&[
        "export",
        "--format",
        "json",
        "--layers",
        "25-40",
        "--out",
        json_out.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    std::fs::remove_dir_all(dir).ok();
}

/// Story means whose topics are unevenly shared between emotions (each emotion's stories sit
/// mostly on "its" topics, as in the first corpus), with strong topic effects: the plain means
/// carry the topics, the least-squares fit recovers the planted emotion effects.
#[test]
fn the_topic_fit_removes_what_topics_add_to_the_means() {
    let mut rng = Rng(11);
    let (n_topics, n) = (8, N);
    let planted: Vec<Vec<f32>> = (0..n).map(|_| rng.vec(D, 1.0)).collect();
    let topic_eff: Vec<Vec<f32>> = (0..n_topics).map(|_| rng.vec(D, 3.0)).collect();
    let person_eff = [rng.vec(D, 1.0), rng.vec(D, 1.0)];
    let mut means = Vec::new();
    for e in 0..n {
        for k in 0..12 {
            // Two thirds of an emotion's stories on two "own" topics, the rest anywhere.
            let t = if k % 3 != 0 {
                (e * 2 + k % 2) % n_topics
            } else {
                (k * 5 + e) % n_topics
            };
            let p = k % 2;
            let noise = rng.vec(D, 0.2);
            let x: Vec<f32> = (0..D)
                .map(|j| planted[e][j] + topic_eff[t][j] + person_eff[p][j] + noise[j])
                .collect();
            means.push((
                Design {
                    level: e,
                    topic: t,
                    person: Some(p),
                },
                x,
            ));
        }
    }
    let samples: Vec<(Design, &[f32])> = means.iter().map(|(k, x)| (*k, x.as_slice())).collect();
    let mean_u: Vec<f32> = (0..D)
        .map(|j| planted.iter().map(|u| u[j]).sum::<f32>() / n as f32)
        .collect();
    let worst = |topics: bool| {
        let a = fit_effects(&samples, n, n_topics, D, topics).unwrap();
        let (dirs, _) = centred(&a, n, D);
        (0..n)
            .map(|e| {
                let want: Vec<f32> = (0..D).map(|j| planted[e][j] - mean_u[j]).collect();
                cos(&dirs[e * D..(e + 1) * D], &want)
            })
            .fold(1.0f32, f32::min)
    };
    let (fit, plain) = (worst(true), worst(false));
    assert!(
        fit > 0.98,
        "topic fit: worst cosine to the planted effect {fit}"
    );
    assert!(
        plain < 0.9,
        "plain means should be pulled by the topics: worst cosine {plain}"
    );
    // Without the topic fit the effects are exactly the plain means, as emotion_directions has them.
    let a = fit_effects(&samples, n, n_topics, D, false).unwrap();
    let (dirs, _) = centred(&a, n, D);
    let plain_pairs: Vec<(usize, Vec<f32>)> =
        means.iter().map(|(k, x)| (k.level, x.clone())).collect();
    let (want, _) = emotion_directions(&plain_pairs, n, D).unwrap();
    assert!(dirs.iter().zip(&want).all(|(x, y)| (x - y).abs() < 1e-4));
    // A level with no story is an error, not a zero vector.
    assert!(fit_effects(&samples, n + 1, n_topics, D, true).is_err());
}

#[test]
fn running_means_intensity_and_auc() {
    // Two emotions, five tokens.
    let raw = [1.0, 0.0, 3.0, 0.0, 2.0, 4.0, 0.0, 0.0, 6.0, 2.0];
    let s = smooth(&raw, 2, 2);
    assert_eq!(s, vec![1.0, 0.0, 2.0, 0.0, 2.5, 2.0, 1.0, 2.0, 3.0, 1.0]);
    assert_eq!(smooth(&raw, 2, 1), raw.to_vec());
    let c = Calibration::fit(&[0.0, 1.0, 2.0, 3.0], 2);
    assert_eq!(c.mean, vec![1.0, 2.0]);
    assert_eq!(c.sd, vec![1.0, 1.0]);
    // The top emotion's z-score: emotion 1 at 4.0 is 2 sd above its neutral mean.
    assert_eq!(c.intensity(&[0.5, 4.0]), 2.0);
    assert_eq!(auc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
    assert_eq!(auc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
    assert_eq!(auc(&[1.0, 3.0], &[1.0, 2.0]), 0.625);
}

#[test]
fn v2_fields_round_trip_and_steer_contrastively() {
    let dir = std::env::temp_dir().join(format!("limbic-test-v2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut set = small_set("cd".repeat(32).as_str());
    let mut rng = Rng(5);
    let n = set.names.len();
    set.raw_norm = (0..30).map(|_| vec![2.0; n]).collect();
    set.neutral = (0..30).map(|_| rng.vec(576, 0.5)).collect();
    set.windows = vec![1, 8];
    set.default_window = 8;
    set.calibration = (0..30)
        .map(|_| {
            (0..2)
                .map(|_| Calibration {
                    mean: rng.vec(n, 1.0),
                    sd: vec![0.5; n],
                    emotional: None,
                })
                .collect()
        })
        .collect();
    // The intensity's direction, at the default layer only.
    let l = set.default_layer;
    for c in &mut set.calibration[l] {
        c.emotional = Some(Emotional {
            w: rng.vec(n, 1.0),
            mean: 0.3,
            sd: 1.2,
        });
    }
    set.steer_layers = vec![12, 14];
    set.steer_direction = Direction::Contrastive;
    set.steer_strength = vec![0.2, 0.3, 0.1];
    let path = dir.join("v2.safetensors");
    set.save(&path).unwrap();
    let back = EmotionSet::load(&path, None).unwrap();
    assert_eq!(back, set);
    assert_eq!(back.default_steer_layers(), vec![12, 14]);
    assert_eq!(back.strength_of(1), 0.3);
    assert!(back.calibration(3, 8).is_some() && back.calibration(3, 4).is_none());
    // The contrastive direction is 2·v̂ − neutral, scaled to unit length.
    let u = back.steer_direction(12, 0);
    let mut want: Vec<f32> = back
        .vector(12, 0)
        .iter()
        .zip(&back.neutral[12])
        .map(|(v, n)| 2.0 * v - n)
        .collect();
    normalise_rows(&mut want, 576);
    assert!(cos(&u, &want) > 0.9999);
    let mut plain = back.clone();
    plain.steer_direction = Direction::Mean;
    assert_eq!(plain.steer_direction(12, 0), plain.vector(12, 0).to_vec());
    // Out-of-range steering metadata is refused.
    let mut bad = set.clone();
    bad.steer_layers = vec![30];
    bad.save(&path).unwrap();
    assert!(EmotionSet::load(&path, None).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn v3_means_travel_in_f16_and_emotions_steer_at_their_own_layers() {
    let dir = std::env::temp_dir().join(format!("limbic-test-v3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut set = small_set("ef".repeat(32).as_str());
    let mut rng = Rng(9);
    let n = set.names.len();
    set.means = (0..30).map(|_| unit_rows_f16(&mut rng, n)).collect();
    set.steer_layers = vec![12, 14];
    set.steer_own = vec![
        None,
        Some(SteerSetting {
            layers: vec![5],
            direction: Direction::Mean,
        }),
        None,
    ];
    let path = dir.join("v3.safetensors");
    set.save(&path).unwrap();
    let back = EmotionSet::load(&path, None).unwrap();
    assert_eq!(back, set);
    // Steering adds the mean, not the readout's vector.
    assert_eq!(back.steer_direction(12, 0), back.mean(12, 0));
    assert!(cos(&back.mean(12, 0), back.vector(12, 0)).abs() < 0.2);
    // sad at its own layer 5, happy split over the default layers 12 and 14.
    let got = back.steer_vectors(&[(0, 0.2), (1, 0.3)], None).unwrap();
    assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec![5, 12, 14]);
    // What lands at a layer: strength × resid_norm × the emotion's unit mean there.
    let adds = |got: &[f32], l: usize, e: usize, s: f32| {
        let m = back.mean(l, e);
        let want = m.iter().map(|x| s * back.resid_norm[l] * x);
        got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5)
    };
    assert!(adds(&got[0].1, 5, 1, 0.3));
    assert!(adds(&got[1].1, 12, 0, 0.1) && adds(&got[2].1, 14, 0, 0.1));
    // A given layer overrides every emotion's own.
    assert_eq!(back.steer_vectors(&[(1, 0.3)], Some(7)).unwrap()[0].0, 7);
    // An own layer out of range is refused.
    let mut bad = set.clone();
    bad.steer_own[1] = Some(SteerSetting {
        layers: vec![30],
        direction: Direction::Contrastive,
    });
    bad.save(&path).unwrap();
    assert!(EmotionSet::load(&path, None).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn v5_generated_directions_travel_in_f16_at_some_layers_and_steer_where_chosen() {
    let dir = std::env::temp_dir().join(format!("limbic-test-v5-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut set = small_set("ab".repeat(32).as_str());
    let mut rng = Rng(11);
    let n = set.names.len();
    set.means = (0..30).map(|_| unit_rows_f16(&mut rng, n)).collect();
    // Generated directions at layers 10 and 13 only.
    set.generated = (0..30)
        .map(|l| {
            if l == 10 || l == 13 {
                unit_rows_f16(&mut rng, n)
            } else {
                Vec::new()
            }
        })
        .collect();
    set.steer_direction = Direction::Generated;
    set.steer_own = vec![
        None,
        Some(SteerSetting {
            layers: vec![13],
            direction: Direction::Mean,
        }),
        None,
    ];
    let path = dir.join("v5.safetensors");
    set.save(&path).unwrap();
    let back = EmotionSet::load(&path, None).unwrap();
    assert_eq!(back, set);
    assert_eq!(back.direction_for(0), Direction::Generated);
    assert_eq!(back.direction_for(1), Direction::Mean);
    // Emotion 0 adds its generated row at 10; emotion 1 its mean at its own layer 13; where a
    // layer holds no generated directions, the mean.
    assert_eq!(
        back.steer_direction(10, 0),
        limbic::emotions::widen(&back.generated[10][..576])
    );
    assert_eq!(back.steer_direction(13, 1), back.mean(13, 1));
    assert_eq!(back.steer_direction(11, 0), back.mean(11, 0));
    assert!(cos(&back.steer_direction(10, 2), &back.mean(10, 2)).abs() < 0.2);
    // A file without them reads with none.
    let mut old = set.clone();
    old.generated.clear();
    old.save(&path).unwrap();
    assert!(EmotionSet::load(&path, None).unwrap().generated.is_empty());
    // Generated directions of the wrong shape are refused, not written.
    let mut bad = set.clone();
    bad.generated[10].truncate(576);
    assert!(bad.save(&path).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn steering_settings_of_older_files_say_contrastive_and_still_read() {
    let old: SteerSetting = serde_json::from_str(r#"{"layers":[4],"contrastive":true}"#).unwrap();
    assert_eq!(old.direction, Direction::Contrastive);
    let plain: SteerSetting =
        serde_json::from_str(r#"{"layers":[4],"contrastive":false}"#).unwrap();
    assert_eq!(plain.direction, Direction::Mean);
    let new: SteerSetting =
        serde_json::from_str(r#"{"layers":[4],"direction":"generated"}"#).unwrap();
    assert_eq!(new.direction, Direction::Generated);
    // What is written now says the direction by name and reads back the same.
    let text = serde_json::to_string(&new).unwrap();
    assert!(text.contains(r#""direction":"generated""#), "{text}");
    assert_eq!(serde_json::from_str::<SteerSetting>(&text).unwrap(), new);
}
