//! Runs the model over the corpus (native, two worker threads) and turns what it reads into an
//! [`EmotionSet`]: the driver of `limbic extract`. The maths lives in [`crate::extract`].
//!
//! The corpus is read with weights dequantized to f32 ([`Cpu::new_f32`]): the same weights,
//! several times faster for whole stories than the Q4_1 path. Two single-threaded workers
//! keep both cores busier than one two-threaded matrix product does.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use candle_core::{Device, Tensor};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::emotions::EmotionSet;
use crate::error::{Error, Result};
use crate::extract::{
    dialogue_text, emotion_directions, normalise_rows, principal_components, project_out,
    rank_accuracy, Corpus, Moments, StoryStats, NEUTRAL_VARIANCE, OFFSETS,
};
use crate::hooks::{HookPoint, HookSet, Intervention};
use crate::{Cpu, Engine, ModelFile};

/// Default steering strength (fraction of the mean residual norm), from the validation sweep.
pub const DEFAULT_STRENGTH: f32 = 0.15;
const WORKERS: usize = 2;

/// What `limbic extract` produces: the vectors and a JSON account of how they were chosen.
pub struct Extraction {
    pub set: EmotionSet,
    pub report: serde_json::Value,
}

/// A model file's bytes and their SHA-256 (hex), with a clear error when it cannot be read.
pub fn read_model(path: &Path) -> Result<(Vec<u8>, String)> {
    let bytes = crate::read_model_file(path)?;
    let sha = sha256_hex(&bytes);
    Ok((bytes, sha))
}

/// SHA-256 of a file's bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

enum Job<'a> {
    Story(usize, &'a str),
    Dialogue(String),
}

enum Done {
    Story(usize, StoryStats),
    Dialogue,
    Moments(Box<Moments>),
}

/// Reads every story and neutral dialogue; `tick` is called once per finished item.
pub fn extract(model: &Path, corpus: &Corpus, tick: &(dyn Fn() + Sync)) -> Result<Extraction> {
    let (bytes, model_sha256) = read_model(model)?;
    let mut jobs: Vec<Job> = corpus
        .stories
        .iter()
        .enumerate()
        .map(|(i, s)| Job::Story(i, &s.text))
        .collect();
    jobs.extend(
        corpus
            .dialogues
            .iter()
            .map(|d| Job::Dialogue(dialogue_text(d))),
    );
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Result<Done>>();
    let emotion_of = |i: usize| {
        corpus
            .names
            .iter()
            .position(|n| *n == corpus.stories[i].emotion)
            .unwrap_or(0)
    };

    let (mut stats, mut moments): (Vec<Option<StoryStats>>, Option<Moments>) =
        (vec![None; corpus.stories.len()], None);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..WORKERS {
            let (tx, jobs, next, bytes) = (tx.clone(), &jobs, &next, &bytes);
            let emotion_of = &emotion_of;
            scope.spawn(move || {
                let run = || -> Result<()> {
                    let file = ModelFile::from_bytes(bytes)?;
                    let backend = Cpu::new_f32(&file.config)?;
                    let mut engine = Engine::new(file, backend)?;
                    let (n_layer, d) = (engine.model.config.n_layer, engine.model.config.d_model);
                    let mut hooks = HookSet::new();
                    (0..n_layer).for_each(|l| {
                        hooks.push(HookPoint::ResidPost(l), Intervention::Capture);
                    });
                    engine.model.set_hooks(&hooks)?;
                    let mut mom = Moments::new(n_layer, d);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        match job {
                            Job::Story(k, text) => {
                                let fwd = engine.run(&engine.encode_prompt(text)?)?;
                                let layers: Vec<&[f32]> = fwd
                                    .captures
                                    .entries
                                    .iter()
                                    .map(|c| c.values.as_slice())
                                    .collect();
                                let dev = corpus.stories[*k].split == "dev";
                                let _ = tx.send(Ok(Done::Story(
                                    *k,
                                    StoryStats::new(emotion_of(*k), dev, &layers, d),
                                )));
                            }
                            Job::Dialogue(text) => {
                                let fwd = engine.run(&engine.encode_prompt(text)?)?;
                                for (l, c) in fwd.captures.entries.iter().enumerate() {
                                    // Position 0 carries the model's attention-sink activation, not content.
                                    let x = &c.values[d.min(c.values.len())..];
                                    let t = Tensor::from_slice(x, (x.len() / d, d), &Device::Cpu)?;
                                    let xtx: Vec<f32> =
                                        t.t()?.matmul(&t)?.flatten_all()?.to_vec1()?;
                                    mom.add(l, x, &xtx);
                                }
                                mom.count(fwd.captures.entries[0].values.len() / d - 1);
                                let _ = tx.send(Ok(Done::Dialogue));
                            }
                        }
                    }
                    let _ = tx.send(Ok(Done::Moments(Box::new(mom))));
                    Ok(())
                };
                if let Err(e) = run() {
                    let _ = tx.send(Err(e));
                }
            });
        }
        drop(tx);
        for done in rx {
            match done? {
                Done::Story(k, s) => {
                    stats[k] = Some(s);
                    tick();
                }
                Done::Dialogue => tick(),
                Done::Moments(m) => match moments.as_mut() {
                    Some(all) => all.merge(&m),
                    None => moments = Some(*m),
                },
            }
        }
        Ok(())
    })?;
    let stats: Vec<StoryStats> = stats
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Model("a story was not read".into()))?;
    let moments = moments.ok_or_else(|| Error::Model("no neutral dialogue was read".into()))?;
    build(corpus, &stats, &moments, model_sha256)
}

/// Chooses the offset and default layer on the dev split and assembles the vectors.
pub fn build(
    corpus: &Corpus,
    stats: &[StoryStats],
    moments: &Moments,
    model_sha256: String,
) -> Result<Extraction> {
    let (n, d) = (corpus.names.len(), moments.d);
    let n_layer = moments.sum.len() / d;
    let pcs: Vec<(Vec<Vec<f32>>, Vec<f64>)> = (0..n_layer)
        .map(|l| principal_components(&moments.covariance(l), d, NEUTRAL_VARIANCE))
        .collect();

    // Vectors from the train split at (offset, layer): unit directions and the centre.
    let vectors_at = |offset: usize, l: usize| -> Result<(Vec<f32>, Vec<f32>)> {
        let train: Vec<(usize, Vec<f32>)> = stats
            .iter()
            .filter(|s| !s.dev)
            .map(|s| (s.emotion, s.mean(l, offset, d)))
            .collect();
        let (mut dirs, centre) = emotion_directions(&train, n, d)?;
        project_out(&mut dirs, d, &pcs[l].0);
        normalise_rows(&mut dirs, d);
        Ok((dirs, centre))
    };
    let mut accuracy = vec![vec![(0.0, 0.0); n_layer]; OFFSETS.len()];
    for (o, acc_o) in accuracy.iter_mut().enumerate() {
        for (l, acc) in acc_o.iter_mut().enumerate() {
            let (dirs, centre) = vectors_at(o, l)?;
            let dev: Vec<(usize, Vec<f32>)> = stats
                .iter()
                .filter(|s| s.dev)
                .map(|s| (s.emotion, s.mean(l, o, d)))
                .collect();
            *acc = rank_accuracy(&dev, &dirs, &centre, d);
        }
    }
    // Best (top-1, then top-5) over every (offset, layer); a tie goes to the smaller offset.
    let key = |a: (f64, f64)| (a.0 * 1e6).round() as i64 * 1_000_000 + (a.1 * 1e6).round() as i64;
    let (offset, default_layer) = (0..OFFSETS.len())
        .flat_map(|o| (0..n_layer).map(move |l| (o, l)))
        .max_by_key(|&(o, l)| (key(accuracy[o][l]), -(o as i64)))
        .unwrap_or((0, 0));

    let (mut vectors, mut centres, mut resid_norm) = (Vec::new(), Vec::new(), Vec::new());
    for l in 0..n_layer {
        let (dirs, centre) = vectors_at(offset, l)?;
        vectors.push(dirs);
        centres.push(centre);
        let (sum, count) = stats
            .iter()
            .map(|s| s.norms(l, offset))
            .fold((0.0f64, 0usize), |a, b| (a.0 + b.0 as f64, a.1 + b.1));
        resid_norm.push((sum / count.max(1) as f64) as f32);
    }
    let set = EmotionSet {
        names: corpus.names.clone(),
        d_model: d,
        vectors,
        centres,
        resid_norm,
        default_layer,
        token_offset: OFFSETS[offset],
        neutral_pcs: pcs.iter().map(|p| p.0.len()).collect(),
        model_sha256,
        method: format!(
            "story means of hook_resid_post from token {} (chosen on dev among {:?}); per emotion mean minus mean over emotions \
             (train split); neutral-dialogue PCs explaining {}% of variance projected out; unit length; f32 weights dequantized from Q4_1",
            OFFSETS[offset], OFFSETS, NEUTRAL_VARIANCE * 100.0
        ),
        default_strength: DEFAULT_STRENGTH,
    };
    let report = json!({
        "stories": stats.len(),
        "train": stats.iter().filter(|s| !s.dev).count(),
        "dev": stats.iter().filter(|s| s.dev).count(),
        "story_tokens": stats.iter().map(|s| s.n_tokens).sum::<usize>(),
        "neutral_dialogues": corpus.dialogues.len(),
        "neutral_tokens": moments.n,
        "offsets": OFFSETS,
        "token_offset": OFFSETS[offset],
        "default_layer": default_layer,
        "chance_top1": 1.0 / n as f64,
        "chance_top5": 5.0 / n as f64,
        "dev_top1": accuracy.iter().map(|a| a.iter().map(|x| x.0).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "dev_top5": accuracy.iter().map(|a| a.iter().map(|x| x.1).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "neutral_pc_shares": pcs.iter().map(|p| p.1.clone()).collect::<Vec<_>>(),
        "resid_norm": set.resid_norm,
    });
    Ok(Extraction { set, report })
}
