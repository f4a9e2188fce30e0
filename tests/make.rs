//! Vectors made from texts (src/make.rs): the method's maths on a small synthetic set, the made
//! vector's checks, steering with it beside emotions, its JSON and GGUF exports; and once on the
//! real model and vectors file, a vector made from pirate texts.

use std::collections::BTreeMap;

use limbic::control_vector::ControlVector;
use limbic::emotions::EmotionSet;
use limbic::hooks::{Capture, Captures, HookPoint, Intervention};
use limbic::make::{self, MadeVector};

const D: usize = 6;
const L: usize = 3;

/// Three emotions, three layers of width 6; the neutral PC at every layer is axis 5.
fn set() -> EmotionSet {
    let unit = |i: usize| (0..D).map(|j| (i == j) as u8 as f32).collect::<Vec<f32>>();
    let rows: Vec<f32> = (0..3).flat_map(unit).collect();
    EmotionSet {
        names: vec!["happy".into(), "sad".into(), "calm".into()],
        d_model: D,
        vectors: vec![rows.clone(); L],
        means: vec![limbic::emotions::narrow(rows); L],
        centres: vec![vec![1.0; D]; L],
        resid_norm: vec![10.0, 20.0, 40.0],
        default_layer: 2,
        token_offset: 2,
        neutral_pcs: vec![1; L],
        neutral_basis: vec![unit(5); L],
        steer_layers: vec![1, 2],
        ..Default::default()
    }
}

/// Per-layer means where every layer is `v`.
fn means(v: [f32; D]) -> Vec<Vec<f32>> {
    vec![v.to_vec(); L]
}

#[test]
fn text_means_skip_the_offset_or_only_the_sink() {
    let cap = |t: usize| Captures {
        entries: vec![Capture {
            point: HookPoint::ResidPost(0),
            cols: 2,
            values: (0..t)
                .flat_map(|i| [i as f32, 100.0 * (i == 0) as u8 as f32])
                .collect(),
        }],
    };
    // 5 tokens, offset 2: tokens 2, 3, 4.
    assert_eq!(
        make::text_means(&cap(5), 1, 2, 2).unwrap(),
        vec![vec![3.0, 0.0]]
    );
    // 3 tokens, offset 3: no token past it, so tokens 1 and 2 (never the sink at 0).
    assert_eq!(
        make::text_means(&cap(3), 1, 2, 3).unwrap(),
        vec![vec![1.5, 0.0]]
    );
    assert!(make::text_means(&cap(1), 1, 2, 0).is_err());
    // A readout's scores at the same point (another width) are passed over; a missing layer is an error.
    let mut with_readout = cap(5);
    let scores = Capture {
        point: HookPoint::ResidPost(0),
        cols: 3,
        values: vec![9.0; 15],
    };
    with_readout.entries.insert(0, scores);
    assert_eq!(
        make::text_means(&with_readout, 1, 2, 2).unwrap(),
        vec![vec![3.0, 0.0]]
    );
    assert!(make::text_means(&cap(5), 2, 2, 2)
        .unwrap_err()
        .to_string()
        .contains("layer 1"));
}

#[test]
fn concept_minus_centre_with_neutral_pcs_out_unit_length() {
    let s = set();
    // Concept mean (3, 1, 1, 1, 1, 9) minus centre 1: (2, 0, 0, 0, 0, 8); axis 5 projected out.
    let concept = vec![
        means([2.0, 1.0, 1.0, 1.0, 1.0, 9.0]),
        means([4.0, 1.0, 1.0, 1.0, 1.0, 9.0]),
        means([3.0, 0.0, 1.0, 1.0, 1.0, 9.0]),
        means([3.0, 2.0, 1.0, 1.0, 1.0, 9.0]),
    ];
    let v = make::make_vector(&s, &concept, &[]).unwrap();
    assert_eq!(v.len(), L);
    for row in &v {
        assert!(
            (row[0] - 1.0).abs() < 1e-6 && row[1..].iter().all(|x| x.abs() < 1e-6),
            "{row:?}"
        );
    }
    // With opposite texts, they are the baseline instead of the centre.
    let opp = vec![means([3.0, -1.0, 1.0, 1.0, 1.0, 0.0])];
    let v = make::make_vector(&s, &concept, &opp).unwrap();
    assert!(
        (v[0][1] - 1.0).abs() < 1e-6 && v[0][0].abs() < 1e-6,
        "{:?}",
        v[0]
    );
    // Nearest emotion by cosine.
    let near = make::neighbours(&s, 2, &v[2], 2).unwrap();
    assert_eq!(near[0].0, 1);
    assert!((near[0].1 - 1.0).abs() < 1e-6 && near.len() == 2);
}

#[test]
fn bad_inputs_are_errors() {
    let s = set();
    let four = vec![means([2.0, 1.0, 1.0, 1.0, 1.0, 1.0]); 4];
    assert!(make::make_vector(&s, &four[..3], &[])
        .unwrap_err()
        .to_string()
        .contains("at least 4"));
    // Texts equal to their baseline (only the neutral PC differs): no direction.
    let flat = vec![means([1.0, 1.0, 1.0, 1.0, 1.0, 7.0]); 4];
    assert!(make::make_vector(&s, &flat, &[]).is_err());
    let mut short = four.clone();
    short[0][1].pop();
    assert!(make::make_vector(&s, &short, &[]).is_err());
    let mut old = set();
    old.neutral_basis.clear();
    assert!(make::make_vector(&old, &four, &[])
        .unwrap_err()
        .to_string()
        .contains("neutral PCs"));
    let one = |v: Vec<f32>| BTreeMap::from([(1usize, v)]);
    assert!(
        MadeVector::new(&s, "Happy", one(vec![1.0; D]), 1).is_err(),
        "an emotion's name"
    );
    assert!(MadeVector::new(&s, "", one(vec![1.0; D]), 1).is_err());
    assert!(MadeVector::new(&s, "x\u{7}", one(vec![1.0; D]), 1).is_err());
    assert!(MadeVector::new(&s, "x", one(vec![f32::NAN; D]), 1).is_err());
    assert!(MadeVector::new(&s, "x", one(vec![0.0; D]), 1).is_err());
    assert!(MadeVector::new(&s, "x", one(vec![1.0; D - 1]), 1).is_err());
    assert!(
        MadeVector::new(&s, "x", one(vec![1.0; D]), 2).is_err(),
        "no vector at the steering layer"
    );
    assert!(MadeVector::new(&s, "x", BTreeMap::from([(9, vec![1.0; D])]), 9).is_err());
    let m = MadeVector::new(&s, " pirate ", one(vec![2.0; D]), 1).unwrap();
    assert_eq!(m.name, "pirate");
    // The steering layer is held in f16, and a vector read back from those values is the same.
    let v = &m.layers[&1];
    assert!(v.iter().all(|&x| half::f16::from_f32(x).to_f32() == x));
    let again = MadeVector::new(&s, "pirate", one(v.clone()), 1).unwrap();
    assert_eq!(&again.layers[&1], v);
    assert!(m.steering(&s, f32::INFINITY).is_err());
    assert!(make::to_json(&m, &s, 99.0).is_err());
}

#[test]
fn steering_adds_the_made_vector_beside_the_emotions() {
    let s = set();
    let v: Vec<f32> = (0..D).map(|j| (j == 3) as u8 as f32).collect();
    let m = MadeVector::new(&s, "pirate", BTreeMap::from([(1, v)]), 1).unwrap();
    assert_eq!(m.shown_layer(2), 1);
    let (l, add) = m.steering(&s, 0.5).unwrap().remove(0);
    assert_eq!((l, add[3]), (1, 0.5 * 20.0));
    // happy at 0.2 split over layers 1 and 2, the made vector at layer 1: one vector per layer.
    let hooks = s.steer_hooks_with(&[(0, 0.2)], None, &[(l, add)]).unwrap();
    let adds: Vec<(HookPoint, Vec<f32>)> = hooks
        .hooks
        .iter()
        .map(|(p, i)| match i {
            Intervention::Add { vector, .. } => (*p, vector.clone()),
            _ => panic!("not an add"),
        })
        .collect();
    assert_eq!(adds.len(), 2);
    assert_eq!(adds[0].0, HookPoint::ResidPost(1));
    assert!((adds[0].1[0] - 0.1 * 20.0).abs() < 1e-5 && (adds[0].1[3] - 10.0).abs() < 1e-5);
    assert!((adds[1].1[0] - 0.1 * 40.0).abs() < 1e-5 && adds[1].1[3] == 0.0);
    assert!(s.steer_hooks_with(&[], None, &[(7, vec![0.0; D])]).is_err());
}

#[test]
fn a_control_vector_steers_as_llama_cpp_and_traces_at_the_readout_layer() {
    let s = set();
    let dir = |i: usize, x: f32| {
        (0..D)
            .map(|j| if j == i { x } else { 0.0 })
            .collect::<Vec<f32>>()
    };
    let cv = |dirs: Vec<(usize, Vec<f32>)>| ControlVector {
        model_hint: None,
        directions: dirs,
    };
    let m = MadeVector::from_control(&s, "file", cv(vec![(1, dir(3, 3.0)), (2, dir(4, -2.0))]))
        .unwrap();
    assert!(m.control.is_some());
    // Shown (and traced) at the readout layer 2, which it has, as a unit vector.
    assert_eq!(m.steer_layer, 2);
    assert_eq!(m.layers[&2], dir(4, -1.0));
    // Strength is llama.cpp's scale: each direction times it, at its own layer.
    assert_eq!(
        m.steering(&s, 0.5).unwrap(),
        vec![(1, dir(3, 1.5)), (2, dir(4, -1.0))]
    );
    assert!(m.steering(&s, f32::NAN).is_err());
    // Its trace: (x − centre) · v̂ at layer 2, read from a projection of width 1 there.
    let r = m.trace(&s).unwrap();
    assert_eq!((r.layer, r.offsets.clone()), (2, vec![-1.0]));
    let caps = Captures {
        entries: vec![Capture {
            point: HookPoint::ResidPost(2),
            cols: 1,
            values: vec![5.0, -3.0],
        }],
    };
    assert_eq!(r.scores(&caps).unwrap(), vec![6.0, -2.0]);
    // Without the readout layer: shown at its longest direction.
    let m = MadeVector::from_control(&s, "file", cv(vec![(1, dir(3, 3.0))])).unwrap();
    assert_eq!((m.steer_layer, m.trace(&s).unwrap().layer), (1, 1));
    // Refused: another model's width, a layer the model lacks, only zeros, an emotion's name.
    assert!(MadeVector::from_control(&s, "f", cv(vec![(1, vec![1.0; D + 1])])).is_err());
    assert!(MadeVector::from_control(&s, "f", cv(vec![(3, dir(0, 1.0))])).is_err());
    assert!(MadeVector::from_control(&s, "f", cv(vec![(1, vec![0.0; D])])).is_err());
    assert!(MadeVector::from_control(&s, "sad", cv(vec![(1, dir(0, 1.0))])).is_err());
}

#[test]
fn exports_json_and_a_control_vector() {
    let s = set();
    let m = MadeVector::new(&s, "pirate", BTreeMap::from([(1, vec![1.0; D])]), 1).unwrap();
    let j: serde_json::Value = serde_json::from_str(&make::to_json(&m, &s, 0.3).unwrap()).unwrap();
    assert_eq!(j["name"], "pirate");
    assert_eq!(j["steer_layer"], 1);
    assert_eq!(j["layers"]["1"].as_array().unwrap().len(), D);
    let bytes = limbic::control_vector::write_gguf(&m.steering(&s, 0.3).unwrap(), "llama").unwrap();
    let mut cur = std::io::Cursor::new(&bytes);
    let g = candle_core::quantized::gguf_file::Content::read(&mut cur).unwrap();
    assert_eq!(
        g.metadata["general.architecture"].to_string().unwrap(),
        "controlvector"
    );
    assert_eq!(g.metadata["controlvector.layer_count"].to_u32().unwrap(), 1);
    let t = g
        .tensor(&mut cur, "direction.1", &candle_core::Device::Cpu)
        .unwrap();
    let v: Vec<f32> = t
        .dequantize(&candle_core::Device::Cpu)
        .unwrap()
        .to_vec1()
        .unwrap();
    let want = 0.3 * 20.0 / (D as f32).sqrt();
    assert!(v.iter().all(|x| (x - want).abs() < 1e-3 * want), "{v:?}"); // f16 at the steering layer
    assert!(limbic::control_vector::write_gguf(&[(0, vec![1.0; D])], "llama").is_err());
}

#[test]
fn the_vectors_file_keeps_the_neutral_pcs() {
    let dir = std::env::temp_dir().join(format!("limbic-test-make-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v.safetensors");
    let s = set();
    s.save(&path).unwrap();
    assert_eq!(EmotionSet::load(&path, None).unwrap(), s);
    // Without them (an older file) it loads too, and making a vector says what is missing.
    let mut old = set();
    old.neutral_basis.clear();
    old.save(&path).unwrap();
    assert!(EmotionSet::load(&path, None)
        .unwrap()
        .neutral_basis
        .is_empty());
    // A count that disagrees with neutral_pcs is refused.
    let mut bad = set();
    bad.neutral_pcs[1] = 2;
    bad.save(&path).unwrap();
    let err = EmotionSet::load(&path, None).unwrap_err().to_string();
    assert!(err.contains("neutral_pc.1"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn pirate_texts_on_the_real_model() {
    let s = EmotionSet::load(std::path::Path::new(limbic::DEFAULT_VECTORS), None).unwrap();
    let mut engine = limbic::Session::cpu(&std::fs::read(limbic::DEFAULT_MODEL).unwrap()).unwrap();
    let texts = [
        "Arr, me hearties! Hoist the Jolly Roger and sail for the treasure, ye scallywags!",
        "Shiver me timbers, the captain buried his gold on a cursed island, matey.",
        "Avast, ye landlubber! Walk the plank or swab the poop deck, arr!",
        "Yo ho ho and a bottle of rum, the pirate crew sang as the ship sailed at dawn.",
    ];
    let v = make::make_from_texts(&mut engine, &s, &texts.map(String::from), &[], &|_| {}).unwrap();
    assert_eq!(v.len(), s.n_layer());
    for row in &v {
        let n: f32 = row.iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-4);
    }
    let l = s.default_layer;
    let basis = &s.neutral_basis[l];
    for pc in basis.chunks_exact(s.d_model) {
        let c: f32 = pc.iter().zip(&v[l]).map(|(a, b)| a * b).sum();
        assert!(c.abs() < 1e-4, "neutral PC left in: {c}");
    }
    let near = make::neighbours(&s, l, &v[l], 10).unwrap();
    assert_eq!(near.len(), 10);
    assert!(near.windows(2).all(|w| w[0].1 >= w[1].1));
}

#[test]
fn a_traced_vector_reads_the_stream_as_a_capture_does_on_the_real_model() {
    let s = EmotionSet::load(std::path::Path::new(limbic::DEFAULT_VECTORS), None).unwrap();
    let mut engine = limbic::Session::cpu(&std::fs::read(limbic::DEFAULT_MODEL).unwrap()).unwrap();
    let l = s.default_layer;
    // The "calm" mean as a made vector at the readout layer (and every other, for from_control).
    let cv = ControlVector {
        model_hint: None,
        directions: vec![(l, s.mean(l, s.index("calm").unwrap()))],
    };
    let m = MadeVector::from_control(&s, "calm copy", cv).unwrap();
    let r = m.trace(&s).unwrap();
    assert_eq!(r.layer, l);
    let mut hooks = limbic::HookSet::new();
    hooks.push(HookPoint::ResidPost(l), Intervention::Capture);
    hooks.push(
        r.point(),
        Intervention::Project {
            basis: r.basis.clone(),
            n: 1,
        },
    );
    engine.set_hooks(hooks).unwrap();
    let ids = engine.encode_prompt("The sea was quiet at dawn.").unwrap();
    let n = ids.len();
    engine
        .start_now(ids, &limbic::sampler::Sampler::default(), 3)
        .unwrap();
    let expect = |caps: &Captures| -> Vec<f32> {
        let c = caps.entries.iter().find(|c| c.cols == s.d_model).unwrap();
        c.values
            .chunks_exact(s.d_model)
            .map(|x| {
                let d: f32 = x.iter().zip(&r.basis).map(|(a, b)| a * b).sum();
                d - r.offsets[0]
            })
            .collect()
    };
    let g = engine.generation.as_ref().unwrap();
    let got = r.scores(&g.prompt_captures).unwrap();
    assert_eq!(got.len(), n);
    for (a, b) in got.iter().zip(expect(&g.prompt_captures)) {
        assert!((a - b).abs() < 1e-3 * b.abs().max(1.0), "{a} vs {b}");
    }
    let step = engine.step_now().unwrap().unwrap();
    let (a, b) = (r.scores(&step.captures).unwrap(), expect(&step.captures));
    assert_eq!(a.len(), 1);
    assert!(
        (a[0] - b[0]).abs() < 1e-3 * b[0].abs().max(1.0),
        "{a:?} vs {b:?}"
    );
}
