//! The emotion verbs: extract, probe, next, export, and `--steer` resolution for generate.

use std::io::{BufRead, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

use rayon::prelude::*;

use limbic::calibrate::{self, Kept, DEFAULT_STRENGTH, WINDOWS};
use limbic::corpus::Corpus;
use limbic::crossval::{self, Analysis};
use limbic::emotions::{check_strength, narrow, EmotionSet};
use limbic::extract::{NEUTRAL_VARIANCE, OFFSETS};
use limbic::io::{read_model, write_atomic};
use limbic::{Error, HookSet, Result, Session};

/// Parses `NAME[:STRENGTH]`; the strength must be a finite number within ±5.
pub fn parse_steer(spec: &str) -> Result<(String, Option<f32>)> {
    let (name, strength) = match spec.rsplit_once(':') {
        Some((n, s)) => {
            let v: f32 = s
                .trim()
                .parse()
                .map_err(|_| Error::Steer(format!("strength {s:?} in {spec:?} is not a number")))?;
            check_strength(v).map_err(|e| match e {
                Error::Steer(m) => Error::Steer(format!("{n:?}: {m}")),
                other => other,
            })?;
            (n, Some(v))
        }
        None => (spec, None),
    };
    if name.trim().is_empty() {
        return Err(Error::Steer(format!("{spec:?} names no emotion")));
    }
    Ok((name.trim().to_string(), strength))
}

/// Hooks for `--steer` specs at `layer` (default: the file's steering layers, each strength
/// split over them; a spec without a strength takes the file's for that emotion), plus `extra`
/// `(layer, vector (d))` terms (`--control-vector`); empty when there are none. Also returns
/// the layers steered.
pub fn steer_hooks(
    set: Option<&EmotionSet>,
    specs: &[String],
    layer: Option<usize>,
    extra: &[(usize, Vec<f32>)],
) -> Result<(HookSet, Vec<usize>)> {
    let parsed = specs
        .iter()
        .map(|s| parse_steer(s))
        .collect::<Result<Vec<_>>>()?;
    let hooks = match set.filter(|_| !parsed.is_empty()) {
        Some(set) => {
            let steers = parsed
                .iter()
                .map(|(name, s)| {
                    let e = set.index(name)?;
                    Ok((e, s.unwrap_or(set.strength_of(e))))
                })
                .collect::<Result<Vec<_>>>()?;
            set.steer_hooks_with(&steers, layer, extra)?
        }
        None if extra.is_empty() => return Ok((HookSet::new(), layer.into_iter().collect())),
        None => {
            // No emotions: the terms alone, summed per layer (one vector added per layer).
            let mut acc: std::collections::BTreeMap<usize, Vec<f32>> = Default::default();
            for (l, v) in extra {
                let sum = acc.entry(*l).or_insert_with(|| vec![0.0; v.len()]);
                sum.iter_mut().zip(v).for_each(|(a, x)| *a += x);
            }
            let mut hooks = HookSet::new();
            for (l, vector) in acc {
                hooks.push(
                    limbic::HookPoint::ResidPost(l),
                    limbic::Intervention::Add { vector, alpha: 1.0 },
                );
            }
            hooks
        }
    };
    let layers = hooks.hooks.iter().map(|(p, _)| p.layer()).collect();
    Ok((hooks, layers))
}

/// Checks `--layer` against the model before anything is loaded.
pub fn check_layer(layer: Option<usize>, n_layer: usize) -> Result<()> {
    layer.map_or(Ok(()), |l| {
        limbic::hooks::check_layer(l, n_layer).map_err(Error::Steer)
    })
}

/// A progress bar over `len` items (when stderr is not a terminal, a line every 10%).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    use std::io::IsTerminal;
    let bar = ProgressBar::new(len as u64);
    if !std::io::stderr().is_terminal() {
        let what = what.to_string();
        let step = (len / 10).max(1) as u64;
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        let t0 = std::time::Instant::now();
        let b = bar.clone();
        std::thread::spawn(move || {
            let mut next = step;
            while !b.is_finished() && b.position() < b.length().unwrap_or(0) {
                if b.position() >= next {
                    eprintln!(
                        "  {}/{} {what} in {:.0} s",
                        b.position(),
                        b.length().unwrap_or(0),
                        t0.elapsed().as_secs_f64()
                    );
                    next += step;
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        });
        return bar;
    }
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what}, eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The readout's neutral calibration and intensity floor of `set`, measured with a progress bar
/// (texts with streams in `kept` read from them).
fn recalibrate(bytes: &[u8], corpus: &Corpus, set: &mut EmotionSet, kept: &Kept) -> Result<()> {
    let bar = progress(
        calibrate::neutral_texts(corpus, false, &calibrate::chat_template(bytes)?).len()
            + calibrate::intensity_stories(corpus).len(),
        "neutral texts and stories for the intensity",
    );
    (set.calibration, set.intensity_floor) =
        calibrate::calibrate_readout(bytes, corpus, set, kept, &|| bar.inc(1))?;
    bar.finish_and_clear();
    Ok(())
}

/// `limbic extract --calibrate-only`: the readout's neutral calibration and intensity floor of
/// the vectors file `out`, measured again.
pub fn run_calibrate(model: &Path, corpus: &Path, out: &Path) -> Result<()> {
    let corpus = Corpus::load(corpus)?;
    let (bytes, sha) = read_model(model)?;
    let mut set = EmotionSet::load(out, Some(&sha))?;
    recalibrate(&bytes, &corpus, &mut set, &Kept::new())?;
    set.save(out)?;
    eprintln!(
        "wrote the calibration into {}: intensity floor {:?} (windows {:?})",
        out.display(),
        set.intensity_floor,
        set.windows
    );
    Ok(())
}

/// `limbic extract --neutral-basis-only`: the neutral dialogues' principal components of the
/// vectors file `out` measured again and written into it (`neutral_pc.{l}`); their number per
/// layer must be the file's `neutral_pcs`, else the file was made from another pass.
pub fn run_neutral_basis(model: &Path, corpus: &Path, out: &Path) -> Result<()> {
    let corpus = Corpus::load(corpus)?;
    let (bytes, sha) = read_model(model)?;
    let mut set = EmotionSet::load(out, Some(&sha))?;
    let bar = progress(corpus.dialogues.len(), "neutral dialogues");
    let moments = calibrate::neutral_moments(&bytes, &corpus, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let basis: Vec<Vec<Vec<f32>>> = (0..set.n_layer())
        .into_par_iter()
        .map(|l| {
            limbic::extract::principal_components(
                &moments.covariance(l),
                set.d_model,
                NEUTRAL_VARIANCE,
            )
            .0
        })
        .collect();
    let counts: Vec<usize> = basis.iter().map(Vec::len).collect();
    if counts != set.neutral_pcs {
        return Err(Error::Model(format!(
            "the neutral PCs measured now number {counts:?} per layer, the file's {:?}: it was made from another pass",
            set.neutral_pcs
        )));
    }
    set.neutral_basis = basis.iter().map(|b| b.concat()).collect();
    set.save(out)?;
    eprintln!(
        "wrote the neutral PCs into {}: {counts:?} per layer",
        out.display()
    );
    Ok(())
}

/// `limbic extract`: one pass over the corpus (cached under `cache`), every choice by
/// cross-validation, vectors from the whole pool at every layer, the readout's window and its
/// neutral calibration; writes the vectors file and a JSON report.
pub fn run_extract(
    model: &Path,
    corpus: &Path,
    out: &Path,
    report: &Path,
    cache: &Path,
) -> Result<()> {
    let corpus = Corpus::load(corpus)?;
    let (bytes, sha) = read_model(model)?;
    let t0 = std::time::Instant::now();
    let bar = progress(
        corpus.stories.len() + corpus.scenes.len() + corpus.dialogues.len(),
        "texts",
    );
    let keep = calibrate::to_keep(&bytes, &corpus)?;
    let pass = calibrate::pass(&bytes, &sha, &corpus, Some(cache), &keep, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let t_pass = t0.elapsed().as_secs_f64();
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .map_err(|e| Error::Model(e.to_string()))?;
    let a = Analysis::new(&corpus, &pass);
    eprintln!(
        "read {} stories, {} neutral scenes, {} dialogue tokens in {t_pass:.0} s; cross-validating {} layers x {} offsets",
        pass.stories.len(), pass.scenes.len(), pass.moments.n, pass.n_layer, OFFSETS.len()
    );
    let (offset, layer, lambda, cv) = pool.install(|| crossval::choose(&a))?;
    eprintln!(
        "chosen by cross-validation: layer {layer}, offset {}, shrinkage {lambda}; measuring the test split",
        OFFSETS[offset]
    );
    let (test, fitted) = pool.install(|| crossval::measure(&a, offset, layer, lambda))?;
    let stories = a.pool();
    let resid_norm = (0..pass.n_layer)
        .map(|l| {
            let (s, c) = stories
                .iter()
                .map(|&i| pass.stories[i].norms(l, offset))
                .fold((0.0f64, 0usize), |x, y| (x.0 + y.0 as f64, x.1 + y.1));
            (s / c.max(1) as f64) as f32
        })
        .collect();
    let mut set = EmotionSet {
        names: corpus.names.clone(),
        d_model: pass.d,
        vectors: fitted.iter().map(|f| f.dirs.clone()).collect(),
        means: fitted.iter().map(|f| narrow(f.means.clone())).collect(),
        centres: fitted.iter().map(|f| f.centre.clone()).collect(),
        weights: fitted.iter().map(|f| f.weight.clone()).collect(),
        biases: fitted.iter().map(|f| f.bias.clone()).collect(),
        raw_norm: fitted.iter().map(|f| f.raw_norm.clone()).collect(),
        neutral: fitted.iter().map(|f| f.neutral.clone()).collect(),
        resid_norm,
        default_layer: layer,
        token_offset: OFFSETS[offset],
        neutral_pcs: a.pcs.iter().map(|p| p.0.len()).collect(),
        neutral_basis: a.pcs.iter().map(|p| p.0.concat()).collect(),
        model_sha256: sha,
        method: format!(
            "story means of hook_resid_post from token {} (offset and layer chosen by {}-fold cross-validation over {:?} and every layer); \
             least-squares emotion + topic + person effects over the stories outside the test split (and half the neutral scenes), \
             emotion effects minus their mean; neutral-dialogue PCs explaining {}% of variance projected out; unit length (mean.{{l}}, what steering adds); \
             the readout's vectors (layer.{{l}}) are their discriminant directions: solved against the stories' within-emotion covariance shrunk toward the identity by {lambda} (chosen by cross-validation), \
             scored as the linear discriminant: weight.{{l}} * (x - centre.{{l}}).layer.{{l}} + bias.{{l}}; Q4_1 weights as stored",
            OFFSETS[offset], crossval::FOLDS, OFFSETS, NEUTRAL_VARIANCE * 100.0
        ),
        default_strength: DEFAULT_STRENGTH,
        windows: WINDOWS.to_vec(),
        default_window: 1,
        ..Default::default()
    };

    // The smoothing window, chosen on two pool stories per emotion that the vectors used for it
    // did not see.
    let chooser = calibrate::window_stories(&corpus);
    let rest: Vec<usize> = stories
        .iter()
        .copied()
        .filter(|i| !chooser.contains(i))
        .collect();
    let held = a.fit(&rest, layer, offset, (true, lambda), None)?;
    let mut probe = set.clone();
    probe.vectors[layer] = held.dirs;
    probe.centres[layer] = held.centre;
    probe.weights[layer] = held.weight;
    probe.biases[layer] = held.bias;
    let texts: Vec<String> = chooser
        .iter()
        .map(|&i| corpus.stories[i].text.clone())
        .collect();
    let bar = progress(texts.len(), "stories for the window");
    let scores = calibrate::scores_at(&bytes, &texts, &probe, layer, &pass.kept, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let labelled: Vec<(usize, Vec<f32>)> =
        chooser.iter().map(|&i| a.emotion(i)).zip(scores).collect();
    let window_acc = calibrate::window_accuracy(&labelled, set.names.len());
    let best = (0..WINDOWS.len())
        .max_by(|&x, &y| window_acc[x].0.total_cmp(&window_acc[y].0))
        .unwrap_or(0);
    set.default_window = WINDOWS[best];
    recalibrate(&bytes, &corpus, &mut set, &pass.kept)?;

    let report_json = json!({
        "stories": pass.stories.len(), "test_stories": a.test().len(), "pool_stories": stories.len(),
        "neutral_scenes": pass.scenes.len(), "neutral_dialogues": corpus.dialogues.len(), "neutral_tokens": pass.moments.n,
        "story_tokens": pass.stories.iter().map(|s| s.n_tokens).sum::<usize>(),
        "topics": corpus.topics.len(),
        "cv": cv, "test": test,
        "window": {"windows": WINDOWS, "top1": window_acc.iter().map(|x| x.0).collect::<Vec<_>>(), "top5": window_acc.iter().map(|x| x.1).collect::<Vec<_>>(), "chosen": set.default_window, "stories": chooser.len()},
        "neutral_pc_shares": a.pcs.iter().map(|p| p.1.clone()).collect::<Vec<_>>(),
        "resid_norm": set.resid_norm,
        "seconds_pass": t_pass, "seconds": t0.elapsed().as_secs_f64(),
    });
    set.save(out)?;
    write_atomic(
        report,
        serde_json::to_string_pretty(&report_json)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    eprintln!(
        "wrote {}: layer {layer}, offset {}, window {}; test top-1 {:.3}, top-5 {:.3} (chance {:.4}) in {:.0} s",
        out.display(),
        set.token_offset,
        set.default_window,
        report_json["test"]["variants"]["fit"]["top1"]["mean"].as_f64().unwrap_or(0.0),
        report_json["test"]["variants"]["fit"]["top5"]["mean"].as_f64().unwrap_or(0.0),
        1.0 / set.names.len() as f64,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Per-token emotion scores `(T, n)` of `ids` at `layer`.
pub fn token_scores(
    engine: &mut Session,
    set: &EmotionSet,
    ids: &[u32],
    layer: usize,
    extra: &HookSet,
) -> Result<Vec<f32>> {
    let readout = set.readout(layer)?;
    engine.set_hooks(extra.clone())?;
    let before = engine.readout().cloned();
    engine.set_readout(Some(readout.clone()))?;
    let fwd = engine.run(ids);
    engine.set_readout(before)?;
    // The readout runs after the hooks, so a steer at the same layer is already in what it reads.
    readout
        .scores(&fwd?.captures)
        .ok_or_else(|| Error::Hook("no projection came back".into()))
}

fn named(names: &[String], scores: &[f32]) -> Value {
    Value::Object(
        names
            .iter()
            .zip(scores)
            .map(|(n, s)| (n.clone(), json!(s)))
            .collect::<Map<_, _>>(),
    )
}

pub struct ProbeArgs<'a> {
    pub input: &'a Path,
    pub chat: bool,
    pub layer: Option<usize>,
    pub per_token: bool,
}

pub fn run_probe(engine: &mut Session, set: &EmotionSet, a: ProbeArgs) -> Result<()> {
    let layer = a.layer.unwrap_or(set.default_layer);
    set.check_layer(layer)?;
    let file = std::fs::File::open(a.input)
        .map_err(|e| Error::Io(std::io::Error::other(format!("{}: {e}", a.input.display()))))?;
    let n = set.names.len();
    let mut out = std::io::stdout().lock();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |m: &str| Error::Prompt(format!("{}:{}: {m}", a.input.display(), i + 1));
        let v: Value = serde_json::from_str(&line).map_err(|e| bad(&e.to_string()))?;
        let text = v["text"].as_str().ok_or_else(|| bad("no \"text\""))?;
        let text = if a.chat {
            engine.tokenizer.chat_prompt(text, None)?
        } else {
            text.to_string()
        };
        let ids = engine.encode_prompt(&text).map_err(|e| match e {
            Error::Prompt(m) => bad(&m),
            other => other,
        })?;
        let scores = token_scores(engine, set, &ids, layer, &HookSet::new())?;
        let t = ids.len();
        let from = if t > set.token_offset {
            set.token_offset
        } else {
            0
        };
        let mean: Vec<f32> = (0..n)
            .map(|e| (from..t).map(|r| scores[r * n + e]).sum::<f32>() / (t - from) as f32)
            .collect();
        let mut row = json!({
            "id": v["id"],
            "n_tokens": t,
            "layer": layer,
            "mean": named(&set.names, &mean),
            "last": named(&set.names, &scores[(t - 1) * n..]),
            "tokens": engine.tokenizer.pieces(&ids)?,
        });
        if a.per_token {
            row["per_token"] = json!(scores.chunks_exact(n).collect::<Vec<_>>());
        }
        writeln!(out, "{row}")?;
    }
    Ok(())
}

/// Probabilities that the next token is the first token of each word, plus the top tokens.
pub fn run_next(
    engine: &mut Session,
    text: &str,
    hooks: &HookSet,
    words: &[String],
    top: usize,
) -> Result<Value> {
    let ids = engine.encode_prompt(text)?;
    engine.set_hooks(hooks.clone())?;
    let logits = engine.run(&ids)?.logits;
    let logp = limbic::numerics::log_softmax(&logits);
    let p = |i: usize| (logp[i] as f64).exp();
    let mut prob_of = Map::new();
    for w in words {
        let first = *engine
            .tokenizer
            .encode(w)?
            .first()
            .ok_or_else(|| Error::Prompt(format!("{w:?} has no tokens")))?;
        prob_of.insert(w.clone(), json!(p(first as usize)));
    }
    let mut order: Vec<usize> = (0..logits.len()).collect();
    if top > 0 {
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    }
    let top = order[..top.min(order.len())]
        .iter()
        .map(|&i| Ok(json!({"id": i, "token": engine.tokenizer.decode(&[i as u32])?, "p": p(i)})))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({ "ids": ids, "prob_of": prob_of, "top": top }))
}

/// Parses `A-B` (inclusive) or a single layer.
pub fn parse_layers(spec: &str, n_layer: usize) -> Result<Vec<usize>> {
    let bad = || {
        Error::Steer(format!(
            "layers {spec:?}: want A-B with 0 ≤ A ≤ B < {n_layer}"
        ))
    };
    let (a, b) = spec.split_once('-').unwrap_or((spec, spec));
    let (a, b): (usize, usize) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > b || b >= n_layer {
        return Err(bad());
    }
    Ok((a..=b).collect())
}

/// llama.cpp control vector: `direction.{l}` is added to the output of block `l` (our
/// `blocks.{l}.hook_resid_post`); llama.cpp has no `direction.0`, so block 0 cannot be exported.
/// With `layers`, each emotion's full strength at each of them (`steering`); without, exactly
/// what `--steer` adds ([`EmotionSet::steer_vectors`]: each emotion's steering layers, its
/// strength split over them), so that llama.cpp at strength 1 steers as limbic does.
pub fn export_llama_cpp(
    set: &EmotionSet,
    steers: &[(usize, f32)],
    layers: Option<&[usize]>,
    out: &Path,
) -> Result<()> {
    if steers.is_empty() {
        return Err(Error::Steer(
            "name the emotion(s) to export with --steer NAME[:STRENGTH]".into(),
        ));
    }
    let directions = match layers {
        Some(layers) => layers
            .iter()
            .map(|&l| Ok((l, set.steering(l, steers)?)))
            .collect::<Result<Vec<_>>>()?,
        None => set.steer_vectors(steers, None)?,
    };
    write_atomic(
        out,
        &limbic::control_vector::write_gguf(&directions, "llama")?,
    )
}

/// The web's format: names, metadata, and per layer the unit vectors, centre, and the scores'
/// weights and biases.
pub fn export_json(set: &EmotionSet, layers: &[usize], out: &Path) -> Result<()> {
    let per_layer: Map<String, Value> = layers
        .iter()
        .map(|&l| {
            let vecs: Vec<&[f32]> = set.vectors[l].chunks_exact(set.d_model).collect();
            let (weight, bias): (Vec<f32>, Vec<f32>) =
                (0..set.names.len()).map(|e| set.affine(l, e)).unzip();
            let v =
                json!({"vectors": vecs, "centre": set.centres[l], "weight": weight, "bias": bias});
            (l.to_string(), v)
        })
        .collect();
    let v = json!({
        "emotions": set.names, "d_model": set.d_model, "default_layer": set.default_layer,
        "resid_norm": set.resid_norm, "hook": limbic::emotions::HOOK, "token_offset": set.token_offset,
        "default_strength": set.default_strength, "model_sha256": set.model_sha256, "method": set.method,
        "layers": per_layer,
    });
    write_atomic(out, v.to_string().as_bytes())
}
