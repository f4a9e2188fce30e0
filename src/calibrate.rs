//! Runs the model over the corpus once (native, two worker threads) and keeps what it read:
//! per story and neutral scene, sums of the residual stream per layer and offset segment
//! ([`StoryStats`]); over the neutral dialogues, per-layer moments for the principal components.
//! The driver of `limbic extract`; the choices and statistics are in [`crate::crossval`].
//!
//! The corpus is read by the same engine as everything else (Q4_1 weights, our quantized
//! products), so the vectors, their validation and the page share one arithmetic. Two workers,
//! each with its own engine and a one-thread pool for its products, keep both cores busy. The pass is
//! cached on disk ([`cache`]: each text's statistics under a key of the model and the text), so
//! changing the analysis costs no second pass and new texts cost only themselves. Of the texts
//! the readout's calibration reads again once the layer is chosen, a pass that reads them keeps
//! their residual streams ([`to_keep`]), so they need not go through the model again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

mod cache;

use candle_core::{Device, Tensor};
use nalgebra::DMatrix;
use sha2::{Digest, Sha256};

use crate::chat::ChatTemplate;
use crate::corpus::{dialogue_text, Corpus};
use crate::crossval::LAMBDA_PRIOR;
use crate::emotions::EmotionSet;
use crate::error::{Error, Result};
use crate::extract::{Moments, StoryStats};
use crate::hooks::Capture;
use crate::readout::{smooth, Calibration, Emotional};
use crate::{Captures, HookPoint, Session};

const WORKERS: usize = 2;
/// Default steering strength (fraction of the mean residual norm) until a steering sweep sets
/// per-emotion ones.
pub const DEFAULT_STRENGTH: f32 = 0.15;

/// What one pass over the corpus leaves: `stories[i]` for `corpus.stories[i]`, `scenes[i]` for
/// `corpus.scenes[i]`, and the neutral dialogues' moments.
pub struct Pass {
    pub stories: Vec<StoryStats>,
    pub scenes: Vec<StoryStats>,
    pub moments: Moments,
    pub n_layer: usize,
    pub d: usize,
    /// The streams kept of the texts `keep` asked for that this pass read (none when cached).
    pub kept: Kept,
}

/// Residual streams kept of some texts, by text: `(layer, rows (T, d))` in order of layer, as
/// `hook_resid_post` captured them (every position from the first).
pub type Kept = HashMap<String, Vec<(usize, Vec<f32>)>>;

/// The layers of a text's stream the pass is asked to keep, by text.
pub type Keep = HashMap<String, Vec<usize>>;

/// What the pass keeps of the texts [`calibrate_readout`] and the window's choice read again:
/// every layer of the calibration half's neutral texts, and of [`window_stories`] and
/// [`intensity_stories`] every sixth layer (5, 11, …): read again at one layer, a story then
/// runs at most five blocks from the kept stream below it instead of every block up to it.
pub fn to_keep(bytes: &[u8], corpus: &Corpus) -> Result<Keep> {
    let n_layer = crate::Header::read(&mut std::io::Cursor::new(bytes))?
        .config
        .n_layer;
    let every: Vec<usize> = (0..n_layer).collect();
    let sixth: Vec<usize> = (0..n_layer).filter(|l| l % 6 == 5).collect();
    let stories = window_stories(corpus)
        .into_iter()
        .map(|i| corpus.stories[i].text.clone())
        .chain(intensity_stories(corpus))
        .map(|t| (t, sixth.clone()));
    Ok(neutral_texts(corpus, false, &chat_template(bytes)?)
        .into_iter()
        .map(|t| (t, every.clone()))
        .chain(stories)
        .collect())
}

/// The stories the smoothing window is chosen on: the last two of each emotion outside the
/// test split, by index.
pub fn window_stories(corpus: &Corpus) -> Vec<usize> {
    let mut by_emotion: Vec<Vec<usize>> = vec![Vec::new(); corpus.names.len()];
    for (i, s) in corpus
        .stories
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_test())
    {
        by_emotion[corpus.emotion_of(s)].push(i);
    }
    by_emotion
        .iter()
        .flat_map(|v| v.iter().rev().take(2).copied())
        .collect()
}

/// Reads the corpus through the model, or loads the cached parts: the stories with the neutral
/// dialogues (the long part), and the neutral scenes; `tick` is called once per text read. Of
/// the texts it reads, it keeps the layers `keep` asks for.
pub fn pass(
    bytes: &[u8],
    model_sha256: &str,
    corpus: &Corpus,
    cache: Option<&Path>,
    keep: &Keep,
    tick: &(dyn Fn() + Sync),
) -> Result<Pass> {
    let stories: Vec<String> = corpus.stories.iter().map(|s| s.text.clone()).collect();
    let dialogues = dialogue_texts(bytes, corpus)?;
    let scenes: Vec<String> = corpus.scenes.iter().map(|s| s.text.clone()).collect();
    let kept = RefCell::new(Kept::new());
    let read = |t: &[String], d: &[String]| {
        let (part, k) = read(bytes, t, d, keep, tick)?;
        kept.borrow_mut().extend(k);
        Ok(part)
    };
    let part = |what, texts: &[String], dialogues: &[String]| match cache {
        Some(dir) => cache::cached_part(dir, what, model_sha256, texts, dialogues, tick, read),
        None => read(texts, dialogues),
    };
    let (stories, moments) = part("stories", &stories, &dialogues)?;
    let moments = moments.ok_or_else(|| Error::Model("no neutral dialogue was read".into()))?;
    let (scenes, _) = if scenes.is_empty() {
        (Vec::new(), None)
    } else {
        part("scenes", &scenes, &[])?
    };
    let d = moments.d;
    Ok(Pass {
        n_layer: moments.sum.len() / d,
        d,
        stories,
        scenes,
        moments,
        kept: kept.into_inner(),
    })
}

use cache::Part;

/// The neutral dialogues as the model reads them, in the model file's chat format.
fn dialogue_texts(bytes: &[u8], corpus: &Corpus) -> Result<Vec<String>> {
    let chat = chat_template(bytes)?;
    Ok(corpus
        .dialogues
        .iter()
        .map(|d| dialogue_text(d, &chat))
        .collect())
}

/// The neutral dialogues' per-layer moments alone (what the pass keeps of them), uncached.
pub fn neutral_moments(bytes: &[u8], corpus: &Corpus, tick: &(dyn Fn() + Sync)) -> Result<Moments> {
    let dialogues = dialogue_texts(bytes, corpus)?;
    let ((_, moments), _) = read(bytes, &[], &dialogues, &Keep::new(), tick)?;
    moments.ok_or_else(|| Error::Model("no neutral dialogue was read".into()))
}

/// Story statistics of `texts` and, when `dialogues` is not empty, the dialogues' moments;
/// and the streams `keep` asks for of any of them.
fn read(
    bytes: &[u8],
    texts: &[String],
    dialogues: &[String],
    keep: &Keep,
    tick: &(dyn Fn() + Sync),
) -> Result<(Part, Kept)> {
    let all: Vec<String> = texts.iter().chain(dialogues).cloned().collect();
    let n_texts = texts.len();
    let (out, moments) = map_texts(
        bytes,
        &all,
        None,
        &Kept::new(),
        |cfg| Moments::new(cfg.n_layer, cfg.d_model),
        |mom, i, captures| {
            let d = mom.d;
            let kept = keep.get(&all[i]).map(|layers| {
                let at = |l: usize| captures.get(HookPoint::ResidPost(l));
                let kept = layers
                    .iter()
                    .filter_map(|&l| Some((l, at(l)?.values.clone())));
                (all[i].clone(), kept.collect::<Vec<_>>())
            });
            if i < n_texts {
                let layers: Vec<&[f32]> = captures
                    .entries
                    .iter()
                    .map(|c| c.values.as_slice())
                    .collect();
                Ok((Some(StoryStats::new(&layers, d)), kept))
            } else {
                add_dialogue(mom, captures, d)?;
                Ok((None, kept))
            }
        },
        tick,
    )?;
    let (stats, kept): (Vec<Option<StoryStats>>, Vec<_>) = out.into_iter().unzip();
    let kept: Kept = kept.into_iter().flatten().collect();
    let stats: Vec<StoryStats> = stats
        .into_iter()
        .take(n_texts)
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Model("a text was not read".into()))?;
    let moments = if dialogues.is_empty() {
        None
    } else {
        let mut it = moments.into_iter();
        let mut all_m = it.next().ok_or_else(|| Error::Model("no worker".into()))?;
        it.for_each(|m| all_m.merge(&m));
        Some(all_m)
    };
    Ok(((stats, moments), kept))
}

/// Runs every text through the model (two workers, each with its own engine capturing every
/// layer's `hook_resid_post`, and its own state from `init`), calls `f(state, index, captures)`
/// on the worker, and returns the results in the texts' order with the workers' states. With
/// `blocks`, only the first that many blocks run (and are captured). A text with streams in
/// `kept` is read from them ([`captures_to`]).
pub fn map_texts<S: Send, T: Send>(
    bytes: &[u8],
    texts: &[String],
    blocks: Option<usize>,
    kept: &Kept,
    init: impl Fn(&crate::Config) -> S + Sync,
    f: impl Fn(&mut S, usize, &crate::Captures) -> Result<T> + Sync,
    tick: &(dyn Fn() + Sync),
) -> Result<(Vec<T>, Vec<S>)> {
    let jobs: Vec<usize> = (0..texts.len()).collect();
    let (out, states) = parallel(
        &jobs,
        || {
            let mut engine = capturing_engine(bytes)?;
            if let Some(n) = blocks {
                engine.model().keep_blocks(n);
            }
            let state = init(engine.config());
            Ok((engine, state))
        },
        |(engine, state), &i| {
            let last = blocks.unwrap_or(engine.config().n_layer) - 1;
            f(state, i, &captures_to(engine, &texts[i], kept, last)?)
        },
        |(_, state)| state,
        tick,
    )?;
    Ok((out, states))
}

/// `text`'s captures of every layer up to `last` (the engine runs no block after it): from
/// `kept` when it holds all of them; else the layers after the kept stream nearest below `last`,
/// run from it (all of them when there is none), or that stream alone when it is `last`'s.
fn captures_to(engine: &mut Session, text: &str, kept: &Kept, last: usize) -> Result<Captures> {
    let d = engine.config().d_model;
    let capture = |(l, x): &(usize, Vec<f32>)| Capture {
        point: HookPoint::ResidPost(*l),
        cols: d,
        values: x.clone(),
    };
    let mine = kept.get(text).map_or(&[][..], |k| k.as_slice());
    let upto: Vec<&(usize, Vec<f32>)> = mine.iter().filter(|(l, _)| *l <= last).collect();
    Ok(match upto.last() {
        Some(_) if upto.len() == last + 1 => Captures {
            entries: upto.into_iter().map(capture).collect(),
        },
        Some(&k) if k.0 == last => Captures {
            entries: vec![capture(k)],
        },
        Some((l, x)) => engine.model().forward_stream(x, l + 1)?.captures,
        None => engine.run(&engine.encode_prompt(text)?)?.captures,
    })
}

/// Runs `f(worker, job)` over `jobs` on two workers, each made by `init` on its thread and
/// running its products on a one-thread pool of its own (sharing one pool, the two workers'
/// products would wait for each other); results in the jobs' order, and what `keep` keeps of
/// each worker.
pub fn parallel<W, S: Send, J: Sync, T: Send>(
    jobs: &[J],
    init: impl Fn() -> Result<W> + Sync,
    f: impl Fn(&mut W, &J) -> Result<T> + Sync,
    keep: impl Fn(W) -> S + Sync,
    tick: &(dyn Fn() + Sync),
) -> Result<(Vec<T>, Vec<S>)> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Result<(usize, T)>>();
    let mut out: Vec<Option<T>> = (0..jobs.len()).map(|_| None).collect();
    let workers = std::thread::scope(|scope| -> Result<Vec<S>> {
        let handles: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (tx, next, init, f, keep) = (tx.clone(), &next, &init, &f, &keep);
                scope.spawn(move || -> Result<S> {
                    let own = rayon::ThreadPoolBuilder::new()
                        .num_threads(1)
                        .build()
                        .map_err(|e| Error::Model(e.to_string()))?;
                    let run = || -> Result<S> {
                        let mut worker = init()?;
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(job) = jobs.get(i) else { break };
                            let _ = tx.send(Ok((i, f(&mut worker, job)?)));
                        }
                        Ok(keep(worker))
                    };
                    own.install(run).inspect_err(|e| {
                        let _ = tx.send(Err(Error::Model(e.to_string())));
                    })
                })
            })
            .collect();
        drop(tx);
        for done in rx {
            let (i, t) = done?;
            out[i] = Some(t);
            tick();
        }
        handles
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| Error::Model("a worker panicked".into()))?
            })
            .collect()
    })?;
    let out = out
        .into_iter()
        .collect::<Option<Vec<T>>>()
        .ok_or_else(|| Error::Model("a job did not finish".into()))?;
    Ok((out, workers))
}

/// Adds a dialogue's token activations (every layer) to the moments.
fn add_dialogue(mom: &mut Moments, captures: &crate::Captures, d: usize) -> Result<()> {
    for (l, c) in captures.entries.iter().enumerate() {
        // Position 0 carries the model's attention-sink activation, not content.
        let x = &c.values[d.min(c.values.len())..];
        let t = Tensor::from_slice(x, (x.len() / d, d), &Device::Cpu)?;
        let xtx: Vec<f32> = t.t()?.matmul(&t)?.flatten_all()?.to_vec1()?;
        mom.add(l, x, &xtx);
    }
    mom.count(captures.entries[0].values.len() / d - 1);
    Ok(())
}

/// An engine that reads every layer's residual stream (hook_resid_post), one thread.
pub fn capturing_engine(bytes: &[u8]) -> Result<Session> {
    let mut engine = Session::cpu(bytes)?;
    let n_layer = engine.config().n_layer;
    engine.set_hooks(crate::make::capture_every_layer(n_layer))?;
    Ok(engine)
}

/// Smoothing windows (tokens) the readout is calibrated for.
pub const WINDOWS: [usize; 5] = [1, 4, 8, 16, 32];

/// How the corpus's dialogues are written for the model file in `bytes`: its chat format, or a
/// plain transcript when it has no template (a base model); only the header is read. A
/// template limbic does not know is an error (the dialogues would not read as the model's):
/// [`ChatTemplate::for_requests`], the rule the validation's requests follow too.
pub fn chat_template(bytes: &[u8]) -> Result<ChatTemplate> {
    let vocab = crate::ModelFile::vocab_from_bytes(bytes)?;
    ChatTemplate::for_requests(&vocab).map_err(|why| {
        Error::Prompt(format!(
            "the corpus's dialogues need the model's chat format: {why}"
        ))
    })
}

/// Neutral texts of the calibration half (`held_out == false`) or the held-out half: the neutral
/// scenes by their hash, the dialogues (written in `chat`) alternately.
pub fn neutral_texts(corpus: &Corpus, held_out: bool, chat: &ChatTemplate) -> Vec<String> {
    corpus
        .scenes
        .iter()
        .filter(|s| s.is_held_out() == held_out)
        .map(|s| s.text.clone())
        .chain(
            corpus
                .dialogues
                .iter()
                .enumerate()
                .filter(|(i, _)| (i % 2 == 1) == held_out)
                .map(|(_, d)| dialogue_text(d, chat)),
        )
        .collect()
}

/// The emotional stories the intensity's direction is fitted on: two per emotion from the pool
/// (never the test split), those with the lowest hash of their id.
pub fn intensity_stories(corpus: &Corpus) -> Vec<String> {
    let mut by: Vec<([u8; 32], usize, &str)> = corpus
        .stories
        .iter()
        .filter(|s| !s.is_test())
        .map(|s| {
            let h = Sha256::digest(format!("limbic-intensity:{}", s.id).as_bytes());
            (h.into(), corpus.emotion_of(s), s.text.as_str())
        })
        .collect();
    by.sort();
    let mut taken = vec![0; corpus.names.len()];
    by.into_iter()
        .filter(|(_, e, _)| {
            taken[*e] += 1;
            taken[*e] <= 2
        })
        .map(|(_, _, t)| t.to_string())
        .collect()
}

/// Raw readout scores `(T, n)` of captured residuals `x (T, d)` (position 0, the attention sink,
/// dropped) against `set` at `layer`: [`EmotionSet::scores`] of every row, as one matrix product.
pub fn token_scores(set: &EmotionSet, layer: usize, x: &[f32]) -> Vec<f32> {
    let (d, n) = (set.d_model, set.names.len());
    let rows = (x.len() / d).saturating_sub(1);
    if rows == 0 {
        return Vec::new();
    }
    let c = &set.centres[layer];
    let xc: Vec<f32> = x[d..(rows + 1) * d]
        .chunks_exact(d)
        .flat_map(|r| r.iter().zip(c).map(|(a, b)| a - b))
        .collect();
    let bias: Vec<f32> = (0..n).map(|e| set.affine(layer, e).1).collect();
    let basis = DMatrix::from_row_slice(n, d, &set.weighted_basis(layer));
    let s = DMatrix::from_row_slice(rows, d, &xc) * basis.transpose();
    (0..rows)
        .flat_map(|t| (0..n).map(move |e| (t, e)))
        .map(|(t, e)| s[(t, e)] + bias[e])
        .collect()
}

/// Share of neutral tokens whose intensity stays below the floor ([`calibrate_readout`]).
pub const FLOOR_QUANTILE: f64 = 0.95;

/// Per layer and window: the mean and spread of smoothed scores over the calibration half of the
/// neutral texts; per window at the default layer, the intensity's direction (those texts
/// against [`intensity_stories`], [`Emotional`]) and the intensity floor: the
/// [`FLOOR_QUANTILE`] quantile of the intensity over the neutral texts' tokens. Texts with
/// streams in `kept` are read from them.
pub fn calibrate_readout(
    bytes: &[u8],
    corpus: &Corpus,
    set: &EmotionSet,
    kept: &Kept,
    tick: &(dyn Fn() + Sync),
) -> Result<(Vec<Vec<Calibration>>, Vec<f32>)> {
    let n = set.names.len();
    let texts = neutral_texts(corpus, false, &chat_template(bytes)?);
    // Per worker, per layer and window: Σ s, Σ s², tokens; and the raw scores at the default layer.
    type Acc = (Vec<Vec<(Vec<f64>, Vec<f64>, usize)>>, Vec<Vec<f32>>);
    let (_, accs) = map_texts(
        bytes,
        &texts,
        None,
        kept,
        |cfg| -> Acc {
            (
                vec![vec![(vec![0.0; n], vec![0.0; n], 0); WINDOWS.len()]; cfg.n_layer],
                Vec::new(),
            )
        },
        |(acc, kept): &mut Acc, _, captures| {
            for (l, c) in captures.entries.iter().enumerate() {
                let raw = token_scores(set, l, &c.values);
                for (w, &win) in WINDOWS.iter().enumerate() {
                    let (s, sq, k) = &mut acc[l][w];
                    for row in smooth(&raw, n, win).chunks_exact(n) {
                        for (e, &v) in row.iter().enumerate() {
                            s[e] += v as f64;
                            sq[e] += (v as f64).powi(2);
                        }
                        *k += 1;
                    }
                }
                if l == set.default_layer {
                    kept.push(raw);
                }
            }
            Ok(())
        },
        tick,
    )?;
    let n_layer = set.n_layer();
    let l = set.default_layer;
    let stories = scores_at(bytes, &intensity_stories(corpus), set, l, kept, tick)?;
    let mut cal = (0..n_layer)
        .map(|l| {
            (0..WINDOWS.len())
                .map(|w| {
                    let (mut s, mut sq, mut k) = (vec![0.0; n], vec![0.0; n], 0usize);
                    for a in &accs {
                        let (s2, sq2, k2) = &a.0[l][w];
                        s.iter_mut().zip(s2).for_each(|(x, y)| *x += y);
                        sq.iter_mut().zip(sq2).for_each(|(x, y)| *x += y);
                        k += k2;
                    }
                    Calibration::from_sums(&s, &sq, k)
                })
                .collect()
        })
        .collect::<Vec<Vec<Calibration>>>();
    // The intensity's direction per window: the stories' smoothed scores against neutral text's.
    let neutral: Vec<&Vec<f32>> = accs.iter().flat_map(|a| &a.1).collect();
    let smoothed = |raw: &[&Vec<f32>], win| -> Vec<f32> {
        raw.iter().flat_map(|r| smooth(r, n, win)).collect()
    };
    let stories: Vec<&Vec<f32>> = stories.iter().collect();
    for (w, &win) in WINDOWS.iter().enumerate() {
        let (s, z) = (smoothed(&stories, win), smoothed(&neutral, win));
        cal[l][w].emotional = Some(Emotional::fit(&s, &z, n, LAMBDA_PRIOR)?);
    }
    let floors = WINDOWS
        .iter()
        .enumerate()
        .map(|(w, &win)| {
            let c = &cal[l][w];
            let mut z: Vec<f32> = smoothed(&neutral, win)
                .chunks_exact(n)
                .map(|row| c.intensity(row))
                .collect();
            z.sort_by(f32::total_cmp);
            z.get(((z.len() as f64 * FLOOR_QUANTILE) as usize).min(z.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        })
        .collect();
    Ok((cal, floors))
}

/// Per-token (top-1, top-5) accuracy of the readout smoothed over each of [`WINDOWS`], on
/// stories labelled with their emotion: `scores[i]` is story `i`'s raw `(T, n)`.
pub fn window_accuracy(scores: &[(usize, Vec<f32>)], n: usize) -> Vec<(f64, f64)> {
    WINDOWS
        .iter()
        .map(|&w| token_accuracy(scores, n, w))
        .collect()
}

/// Per-token (top-1, top-5) accuracy of the readout smoothed over `w` tokens.
pub fn token_accuracy(scores: &[(usize, Vec<f32>)], n: usize, w: usize) -> (f64, f64) {
    let (mut t1, mut t5, mut all) = (0usize, 0usize, 0usize);
    for (e, raw) in scores {
        for row in smooth(raw, n, w).chunks_exact(n) {
            let better = row.iter().filter(|&&v| v > row[*e]).count();
            t1 += (better == 0) as usize;
            t5 += (better < 5) as usize;
            all += 1;
        }
    }
    (t1 as f64 / all.max(1) as f64, t5 as f64 / all.max(1) as f64)
}

/// Raw scores `(T, n)` at `layer` of each text, read by the model through that layer only
/// (from the stream `kept` holds below it, if any).
pub fn scores_at(
    bytes: &[u8],
    texts: &[String],
    set: &EmotionSet,
    layer: usize,
    kept: &Kept,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Vec<f32>>> {
    Ok(map_texts(
        bytes,
        texts,
        Some(layer + 1), // no block after the one read
        kept,
        |_| (),
        |_, _, c| {
            let at = c.get(HookPoint::ResidPost(layer));
            let x = at.ok_or_else(|| Error::Model(format!("layer {layer} was not read")))?;
            Ok(token_scores(set, layer, &x.values))
        },
        tick,
    )?
    .0)
}
