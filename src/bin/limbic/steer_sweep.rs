//! `limbic steer-sweep`: where and how hard `--steer` pushes, chosen by measures from outside the
//! model, on prompts the report never shows; then measured on other prompts with three seeds.
//!
//! Choice: for each direction (the emotion's mean `m̂`, the contrastive emotion-against-neutral
//! one, or the generation-based one, made here: [`crate::generated`]), each layer set (single
//! layers from a third of the depth up, and bands, the strength split evenly over a band's
//! layers) and each total strength, replies to [`CHOICE_PROMPTS`] for six emotions, made as the
//! report makes its own (sampled at temperature 0.7, [`REPLY_TOKENS`] tokens) with six seeds the
//! report does not use ([`CHOICE_SEEDS`]), so a setting cannot pass the fluency bound on short
//! greedy replies and fail it on the report's, and a few seeds' luck does not decide it. A
//! reply's effect is its VADER compound minus the unsteered reply's, signed by the emotion's
//! valence; its fluency the perplexity of the reply under the unsteered model; its own-word
//! check how many times steering multiplies p(" emotion") after [`FEEL_CHOICE`] (geometric
//! mean). The choice from that table: [`crate::steer_choice`]. `--reuse-choice` pools the tables
//! of earlier sweeps with other seeds instead of measuring one, first joining tables with the
//! same seeds over different layer sets (`--layer-sets` measures only some of the grid's).
//! Each setting's replies decode together ([`limbic::Session::replies`]: the same tokens as one
//! at a time, ~2× faster).
//! Report: at the chosen setting and per-emotion strengths, replies to [`REPORT_PROMPTS`] with
//! three seeds (temperature 0.7), VADER, perplexity, and the paper's p(" emotion") after "How
//! does he feel? He feels".

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::emotion::progress;
use crate::steer_choice::{self, Cell, Table};
use crate::validate_dose::ExperimentsFile;
use crate::validate_text::{distinct_words, perplexities, repeats, sentiment};
use limbic::calibrate::parallel;
use limbic::emotions::{Direction, EmotionSet, SteerSetting};
use limbic::io::{read_model, write_atomic};
use limbic::{HookPoint, HookSet, Intervention, Result, Sampler, Session};

/// The emotions swept, with the sign their replies' valence should move.
pub const EMOTIONS: [(&str, f64); 6] = [
    ("happy", 1.0),
    ("sad", -1.0),
    ("calm", 1.0),
    ("afraid", -1.0),
    ("angry", -1.0),
    ("desperate", -1.0),
];
pub const CHOICE_PROMPTS: [&str; 6] = [
    "Tell me about your morning.",
    "Describe the street you live on.",
    "What did you do last weekend?",
    "Tell me about your job.",
    "What is the weather like today?",
    "Describe your kitchen.",
];
const REPORT_PROMPTS: [&str; 10] = [
    "Tell me about your weekend.",
    "What did you have for breakfast?",
    "Describe your journey to work.",
    "Tell me about your neighbours.",
    "What are your plans for tomorrow?",
    "Describe the view from your window.",
    "Tell me about your family.",
    "What did you do yesterday evening?",
    "Describe your favourite room.",
    "Tell me about the last film you saw.",
];
pub const STRENGTHS: [f32; 4] = [0.1, 0.2, 0.35, 0.5];
/// The own-word check during the choice (the report measures the page's "How does he feel? He
/// feels" from data/experiments.json and [`FEEL_HELD_OUT`], never chosen on).
pub const FEEL_CHOICE: [&str; 6] = [
    "How does she feel right now? She feels",
    "Asked how I was, I said that I felt",
    "He looked up from the table, and his friend could see that he was",
    "Today I feel",
    "When the day ended, she went to bed feeling",
    "Describe your mood in one word. I am",
];
/// The own-word check on other sentences, measured only for the report (one sentence's ratio
/// varies a great deal from the next's): the geometric mean over them, with a bootstrap interval
/// over the sentences.
pub const FEEL_HELD_OUT: [&str; 8] = [
    "She put the phone down. She felt",
    "Looking back on the afternoon, he felt",
    "In a word, my mood today is",
    "The nurse asked how she was feeling. She said she felt",
    "After reading the letter, he was",
    "Everyone in the room could tell that she was",
    "I woke up this morning feeling",
    "Right now I am feeling",
];
/// How many of the likeliest tokens after the paper's sentence the report keeps: whether the
/// steered model's next word leans to the emotion's kin where its own word does not rise.
const FEEL_TOP: usize = 8;
/// Every reply's length, the choice's and the report's.
const REPLY_TOKENS: usize = 48;
/// The report's seeds; the choice's are none of them. The choice averages over several seeds
/// (six: 36 replies a setting): on one seed the six unsteered replies alone moved by 0.6 VADER
/// and 20 % perplexity from one seed to the next, and the chosen settings with them.
const SEEDS: [u64; 3] = [1, 2, 3];
/// The choice's seeds unless `--choice-seeds` names others: six, as the choice's tolerance and
/// perplexity margin assume ([`crate::steer_choice`]; three gave another choice for 5 of 6
/// emotions with the next three seeds, `docs/validation/steering-stability.md`).
pub const CHOICE_SEEDS: [u64; 6] = [7, 8, 9, 10, 11, 12];
const TEMPERATURE: f64 = 0.7;

/// The layer sets tried: every third layer from about a third of the depth to three below the
/// top, and six-layer bands from a third, a little above it and two thirds of the depth.
fn layer_sets(n_layer: usize) -> Vec<Vec<usize>> {
    let third = n_layer / 3;
    let mut sets: Vec<Vec<usize>> = (third..n_layer.saturating_sub(3).max(third + 1))
        .step_by(3)
        .map(|l| vec![l])
        .collect();
    for start in [third, third + 4, 2 * third] {
        let band: Vec<usize> = (start..(start + 6).min(n_layer)).collect();
        if !band.is_empty() && !sets.contains(&band) {
            sets.push(band);
        }
    }
    sets
}

#[derive(Clone)]
struct Job {
    direction: Direction,
    layers: Vec<usize>,
    /// `None`: unsteered.
    emotion: Option<usize>,
    strength: f32,
    prompt: &'static str,
    /// Every reply is sampled ([`TEMPERATURE`], [`REPLY_TOKENS`] tokens) with a seed.
    seed: u64,
}

/// One setting's replies: every prompt with every seed, prompt by prompt, so a setting's
/// replies are `prompts.len() * seeds.len()` jobs in a row (the chunks its means read).
fn replies_of(
    setting: (Direction, &[usize], Option<usize>, f32),
    prompts: &[&'static str],
    seeds: &[u64],
) -> Vec<Job> {
    let (direction, layers, emotion, strength) = setting;
    prompts
        .iter()
        .flat_map(|&prompt| {
            seeds.iter().map(move |&seed| Job {
                direction,
                layers: layers.to_vec(),
                emotion,
                strength,
                prompt,
                seed,
            })
        })
        .collect()
}

/// Hooks that add `strength` toward `e`, split evenly over `layers`; `sets` is the vectors with
/// each [`Direction`] as the default.
fn hooks_for(
    sets: &[EmotionSet; 3],
    direction: Direction,
    layers: &[usize],
    e: usize,
    strength: f32,
) -> Result<HookSet> {
    let mut hooks = HookSet::new();
    for (l, vector) in sets[direction as usize].steer_vectors_at(&[(e, strength)], layers)? {
        hooks.push(
            HookPoint::ResidPost(l),
            Intervention::Add { vector, alpha: 1.0 },
        );
    }
    Ok(hooks)
}

/// The vectors with each [`Direction`] as the default for steering.
fn variants(set: &EmotionSet) -> [EmotionSet; 3] {
    Direction::ALL.map(|d| {
        let mut v = set.clone();
        v.steer_direction = d;
        v
    })
}

/// One setting's replies (jobs of one setting, as [`replies_of`] makes them), decoded at once:
/// each (reply text, perplexity of the reply under the unsteered model), the same as one reply
/// at a time gives ([`Session::replies`]).
fn replies(
    engine: &mut Session,
    sets: &[EmotionSet; 3],
    group: &[Job],
) -> Result<Vec<(String, f64)>> {
    let Some(j) = group.first() else {
        return Ok(Vec::new());
    };
    let hooks = match j.emotion {
        Some(e) => hooks_for(sets, j.direction, &j.layers, e, j.strength)?,
        None => HookSet::new(),
    };
    engine.set_hooks(hooks)?;
    let prompts = group
        .iter()
        .map(|j| engine.encode_prompt(&engine.tokenizer.request(j.prompt)?))
        .collect::<Result<Vec<_>>>()?;
    let samplers: Vec<Sampler> = group
        .iter()
        .map(|j| Sampler {
            temperature: TEMPERATURE,
            top_p: 0.95,
            seed: j.seed,
            ..Sampler::default()
        })
        .collect();
    let out = engine.replies(&prompts, &samplers, REPLY_TOKENS)?;
    // A reply of one token or none has no perplexity to speak of (NaN, left out of means).
    let mut ppl = vec![f64::NAN; out.len()];
    let mut i = 0;
    for run in prompts.chunk_by(|a, b| a == b) {
        let (prompt, at) = (&run[0], i..i + run.len());
        i += run.len();
        let scored: Vec<usize> = at.filter(|&k| out[k].0.len() > 1).collect();
        if scored.is_empty() {
            continue;
        }
        let texts: Vec<&[u32]> = scored.iter().map(|&k| &out[k].0[..]).collect();
        for (k, p) in scored.iter().zip(perplexities(engine, prompt, &texts)?) {
            ppl[*k] = p;
        }
    }
    Ok(out.into_iter().map(|(_, text)| text).zip(ppl).collect())
}

/// Every job's (reply, perplexity), and the replies' VADER compound scores: each setting's
/// replies decoded at once, the settings shared between the workers.
fn run_all(
    bytes: &[u8],
    set: &EmotionSet,
    jobs: &[Job],
    what: &str,
    out: &Path,
) -> Result<(Vec<(String, f64)>, Vec<f64>)> {
    let bar = progress(jobs.len(), what);
    let sets = variants(set);
    let same = |a: &Job, b: &Job| {
        (a.direction, &a.layers, a.emotion, a.strength)
            == (b.direction, &b.layers, b.emotion, b.strength)
    };
    let groups: Vec<&[Job]> = jobs.chunk_by(same).collect();
    let replies = parallel(
        &groups,
        || limbic::Session::cpu(bytes),
        |engine, group| {
            let r = replies(engine, &sets, group);
            bar.inc(group.len() as u64);
            r
        },
        |_| (),
        &|| (),
    )?
    .0
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    bar.finish_and_clear();
    let vader = sentiment(
        &replies.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        out,
    )
    .ok_or_else(|| {
        limbic::Error::Model("VADER failed (scripts/validation_data.py sentiment)".into())
    })?;
    Ok((replies, vader))
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The share of replies that repeat ([`repeats`]).
fn share_repeating(replies: &[(String, f64)]) -> f64 {
    replies.iter().filter(|r| repeats(&r.0)).count() as f64 / replies.len().max(1) as f64
}

/// Emotion `e`'s own word as `limbic next` reads it after a sentence: its leading space included.
fn word(set: &EmotionSet, e: usize) -> String {
    format!(" {}", set.names[e])
}

/// p of `word` in a `limbic next` answer (NaN where the answer lacks it).
fn p_of(answer: &Value, word: &str) -> f64 {
    answer["prob_of"][word].as_f64().unwrap_or(f64::NAN)
}

/// p(" emotion") after `prompt`, steered toward it (or not); `sets` as [`variants`] makes them.
fn feel(
    engine: &mut Session,
    sets: &[EmotionSet; 3],
    prompt: &str,
    own: (&[usize], Direction),
    e: usize,
    strength: f32,
) -> Result<f64> {
    let v = next_after(engine, sets, prompt, own, e, strength, 0)?;
    Ok(p_of(&v, &word(&sets[0], e)))
}

/// Unsteered p(" emotion") after each of `prompts`, per emotion (`[emotion][prompt]`): one pass
/// a sentence for all the emotions' words.
fn feel_unsteered(
    engine: &mut Session,
    set: &EmotionSet,
    prompts: &[&str],
    emotions: &[usize],
) -> Result<Vec<Vec<f64>>> {
    let words: Vec<String> = emotions.iter().map(|&e| word(set, e)).collect();
    let answers = prompts
        .iter()
        .map(|p| crate::emotion::run_next(engine, p, &HookSet::new(), &words, 0))
        .collect::<Result<Vec<Value>>>()?;
    Ok(words
        .iter()
        .map(|w| answers.iter().map(|a| p_of(a, w)).collect())
        .collect())
}

/// `limbic next`'s answer after `prompt` (p(" emotion") and the `top` likeliest tokens), steered
/// toward the emotion (or not).
fn next_after(
    engine: &mut Session,
    sets: &[EmotionSet; 3],
    prompt: &str,
    (layers, direction): (&[usize], Direction),
    e: usize,
    strength: f32,
    top: usize,
) -> Result<Value> {
    let hooks = if strength == 0.0 {
        HookSet::new()
    } else {
        hooks_for(sets, direction, layers, e, strength)?
    };
    crate::emotion::run_next(engine, prompt, &hooks, &[word(&sets[0], e)], top)
}

/// The likeliest next tokens of a [`next_after`] answer as `[token, p]` pairs.
fn top_of(v: &Value) -> Value {
    v["top"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| json!([t["token"], t["p"]]))
        .collect()
}

/// The choice's seeds must be some, each once, and none of the report's.
fn check_choice_seeds(seeds: &[u64]) -> Result<()> {
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if seeds.is_empty() || sorted.len() != seeds.len() || seeds.iter().any(|s| SEEDS.contains(s)) {
        return Err(limbic::Error::Steer(format!(
            "--choice-seeds {seeds:?}: give one or more seeds, each once, none of the report's {SEEDS:?}"
        )));
    }
    Ok(())
}

/// What a sweep's choice is measured over; a pooled earlier sweep must have the same.
fn grid(sets: &[Vec<usize>]) -> Value {
    json!({"prompts": CHOICE_PROMPTS, "tokens": REPLY_TOKENS, "temperature": TEMPERATURE, "feel_prompts": FEEL_CHOICE, "strengths": STRENGTHS, "layer_sets": sets})
}

/// The choice's table: the unsteered replies, then every setting's, each setting's own-word
/// ratio after [`FEEL_CHOICE`].
fn measure(
    bytes: &[u8],
    set: &EmotionSet,
    (sets, emotions): (&[Vec<usize>], &[usize]),
    seeds: &[u64],
    out: &Path,
    engine: &mut Session,
) -> Result<Table> {
    let mut jobs = replies_of((Direction::Mean, &[], None, 0.0), &CHOICE_PROMPTS, seeds);
    for direction in Direction::ALL {
        for layers in sets {
            for &strength in &STRENGTHS {
                for &e in emotions {
                    jobs.extend(replies_of(
                        (direction, layers, Some(e), strength),
                        &CHOICE_PROMPTS,
                        seeds,
                    ));
                }
            }
        }
    }
    let (replies, vader) = run_all(bytes, set, &jobs, "choice replies", out)?;
    // Replies per setting.
    let k = CHOICE_PROMPTS.len() * seeds.len();
    let base_v = mean(vader[..k].iter().copied());
    // Made once: a clone of the whole set per direction.
    let steer_sets = variants(set);
    let unsteered = feel_unsteered(engine, set, &FEEL_CHOICE, emotions)?;
    let mut cells = Vec::new();
    for (c, chunk) in jobs[k..].chunks(k).enumerate() {
        let (i, j) = (k + c * k, &chunk[0]);
        let at = emotions
            .iter()
            .position(|&e| Some(e) == j.emotion)
            .unwrap_or(0);
        let mut log = 0.0;
        for (p, &p0) in FEEL_CHOICE.iter().zip(&unsteered[at]) {
            let p1 = feel(
                engine,
                &steer_sets,
                p,
                (&j.layers, j.direction),
                emotions[at],
                j.strength,
            )?;
            log += (p1.max(1e-12) / p0.max(1e-12)).ln();
        }
        cells.push(Cell {
            direction: j.direction,
            layers: j.layers.clone(),
            strength: j.strength,
            emotion: emotions[at],
            effect: EMOTIONS[at].1 * (mean(vader[i..i + k].iter().copied()) - base_v),
            perplexity: mean(replies[i..i + k].iter().map(|r| r.1)),
            // Per seed (the setting's replies run prompt by prompt, then seed).
            group_perplexity: (0..seeds.len())
                .map(|s| {
                    mean(
                        replies[i + s..i + k]
                            .iter()
                            .step_by(seeds.len())
                            .map(|r| r.1),
                    )
                })
                .collect(),
            feel_ratio: (log / FEEL_CHOICE.len() as f64).exp(),
            distinct: mean(replies[i..i + k].iter().map(|r| distinct_words(&r.0))),
            repeating: Some(share_repeating(&replies[i..i + k])),
        });
    }
    Ok(Table {
        seeds: seeds.to_vec(),
        groups: vec![1; seeds.len()],
        vader: base_v,
        perplexity: mean(replies[..k].iter().map(|r| r.1)),
        distinct: mean(replies[..k].iter().map(|r| distinct_words(&r.0))),
        repeating: Some(share_repeating(&replies[..k])),
        cells,
    })
}

/// The grid's layer sets named by `only` (`A` or `A-B` each), in the grid's order; all of them
/// when `only` is empty.
fn only_sets(sets: &[Vec<usize>], only: &[String], n_layer: usize) -> Result<Vec<Vec<usize>>> {
    let named = only
        .iter()
        .map(|s| crate::emotion::parse_layers(s, n_layer))
        .collect::<Result<Vec<_>>>()?;
    if let Some(s) = named.iter().find(|s| !sets.contains(s)) {
        return Err(limbic::Error::Steer(format!(
            "--layer-sets: {s:?} is not one of this sweep's layer sets {sets:?}"
        )));
    }
    Ok(sets
        .iter()
        .filter(|s| named.is_empty() || named.contains(s))
        .cloned()
        .collect())
}

pub fn run(
    model: &Path,
    vectors: &Path,
    out: &Path,
    cache: &Path,
    (choice_seeds, only): (&[u64], &[String]),
    reuse: &[PathBuf],
) -> Result<()> {
    let (bytes, sha) = read_model(model)?;
    let mut set = EmotionSet::load(vectors, Some(&sha))?;
    set.steer_own.clear();
    let n_layer = set.n_layer();
    let sets = layer_sets(n_layer);
    let emotions: Vec<usize> = EMOTIONS
        .iter()
        .map(|(e, _)| set.index(e))
        .collect::<Result<_>>()?;
    // The layer sets this run measures (pooled tables cover them all).
    let measured = only_sets(&sets, only, n_layer)?;
    // The choice's seeds, or earlier sweeps' tables read, joined and pooled before anything is
    // measured, so a bad seed or file fails at once.
    let reused = if reuse.is_empty() {
        check_choice_seeds(choice_seeds)?;
        None
    } else {
        let tables = reuse
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p)
                    .map_err(|e| limbic::Error::Steer(format!("{}: {e}", p.display())))?;
                let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    limbic::Error::Steer(format!("{}: not a sweep file ({e})", p.display()))
                })?;
                Table::from_json(&v["choice"], &grid(&sets), &set)
            })
            .collect::<Result<Vec<Table>>>()?;
        let pooled = steer_choice::pool(&steer_choice::join(tables, &sets)?)?;
        check_choice_seeds(&pooled.seeds)?;
        Some(pooled)
    };
    let t0 = std::time::Instant::now();
    // The generation-based directions at every layer the sweep tries.
    let mut union: Vec<usize> = sets.iter().flatten().copied().collect();
    union.sort_unstable();
    union.dedup();
    // In f16 as the file holds them, so the sweep measures what `--steer` will add.
    let (generated, stories) = crate::generated::directions(&bytes, &sha, &set, &union, cache)?;
    set.generated = generated;

    let mut engine = limbic::Session::cpu(&bytes)?;
    let (table, covered) = match reused {
        Some(table) => (table, sets),
        None => {
            let table = measure(
                &bytes,
                &set,
                (&measured, &emotions),
                choice_seeds,
                out,
                &mut engine,
            )?;
            (table, measured)
        }
    };
    let choice = steer_choice::choose(&table, &emotions, &covered);
    let own = &choice.own;
    let best = &choice.settings[choice.best];
    let (direction, layers, score) = (best.direction, best.layers.clone(), best.score);
    let strengths: Vec<f32> = own
        .iter()
        .zip(&best.per)
        .map(|(o, p)| o.or(*p).map_or(STRENGTHS[0], |c| c.strength))
        .collect();
    let mut sorted = strengths.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    set.steer_direction = direction;
    set.steer_layers = layers.clone();
    set.default_strength = median;
    set.steer_strength = (0..set.names.len())
        .map(|e| {
            emotions
                .iter()
                .position(|&x| x == e)
                .map_or(median, |i| strengths[i])
        })
        .collect();
    set.steer_own = (0..set.names.len())
        .map(|e| {
            let i = emotions.iter().position(|&x| x == e)?;
            own[i].map(|c| SteerSetting {
                layers: c.layers.clone(),
                direction: c.direction,
            })
        })
        .collect();
    eprintln!("chosen: {} direction at layers {layers:?} for the others (score {score:+.3}); own settings {:?}, strengths {strengths:?} in {:.0} s", direction.name(), set.steer_own.iter().flatten().collect::<Vec<_>>(), t0.elapsed().as_secs_f64());

    // Report, on other prompts, with seeds.
    let mut jobs: Vec<Job> = Vec::new();
    for e in std::iter::once(None).chain(emotions.iter().map(|&e| Some(e))) {
        let layers = e.map_or_else(Vec::new, |e| set.steer_layers_for(e));
        let direction = e.map_or(Direction::Mean, |e| set.direction_for(e));
        let strength = e.map_or(0.0, |e| set.strength_of(e));
        jobs.extend(replies_of(
            (direction, &layers, e, strength),
            &REPORT_PROMPTS,
            &SEEDS,
        ));
    }
    let (replies, vader) = run_all(&bytes, &set, &jobs, "report replies", out)?;
    let per_run = REPORT_PROMPTS.len() * SEEDS.len();
    let group = |g: usize| {
        let at = g * per_run..(g + 1) * per_run;
        let runs = &replies[at.clone()];
        (
            mean(vader[at].iter().copied()),
            mean(runs.iter().map(|r| r.1)),
            mean(runs.iter().map(|r| distinct_words(&r.0))),
        )
    };
    let experiments = ExperimentsFile::load(Path::new(crate::validate_dose::EXPERIMENTS))?;
    let feel_report = experiments.feel_prompt();
    let mut report_rows = Vec::new();
    // The paper's sentence unsteered, once: the likeliest tokens and each swept emotion's word.
    let words: Vec<String> = emotions.iter().map(|&e| word(&set, e)).collect();
    let unsteered =
        crate::emotion::run_next(&mut engine, feel_report, &HookSet::new(), &words, FEEL_TOP)?;
    let p_unsteered = |e: usize| p_of(&unsteered, &word(&set, e));
    let held_unsteered = feel_unsteered(&mut engine, &set, &FEEL_HELD_OUT, &emotions)?;
    // Again, now with the chosen settings in the set.
    let steer_sets = variants(&set);
    for (i, &e) in emotions.iter().enumerate() {
        let (v, ppl, distinct) = group(i + 1);
        let own = (&set.steer_layers_for(e)[..], set.direction_for(e));
        let p0 = p_unsteered(e);
        let steered = next_after(
            &mut engine,
            &steer_sets,
            feel_report,
            own,
            e,
            set.strength_of(e),
            FEEL_TOP,
        )?;
        let p1 = p_of(&steered, &word(&set, e));
        let logs = FEEL_HELD_OUT
            .iter()
            .zip(&held_unsteered[i])
            .map(|(p, &p0)| {
                let p1 = feel(&mut engine, &steer_sets, p, own, e, set.strength_of(e))?;
                Ok((p1.max(1e-12) / p0.max(1e-12)).ln())
            })
            .collect::<Result<Vec<f64>>>()?;
        let (g, lo, hi) = limbic::crossval::mean_ci(&logs, 0x0fee1 + e as u64);
        let held_out = json!({"ratio": g.exp(), "low": lo.exp(), "high": hi.exp(), "per_prompt": logs.iter().map(|x| x.exp()).collect::<Vec<_>>()});
        let samples: Vec<&str> = (0..2)
            .map(|s| replies[(i + 1) * per_run + s * SEEDS.len()].0.as_str())
            .collect();
        report_rows.push(json!({"emotion": set.names[e], "strength": set.strength_of(e), "layers": own.0, "direction": own.1.name(), "vader": v, "perplexity": ppl, "distinct": distinct, "p_feel_unsteered": p0, "p_feel_steered": p1, "p_feel_ratio": p1 / p0.max(1e-12), "p_feel_held_out": held_out, "feel_top": top_of(&steered), "samples": samples}));
    }
    // Report only, nothing chosen on it: the paper's sentence at every setting the choice
    // measured, so the report can say whether any fluent one raises the word threefold there.
    // Each cell's own direction (the chosen settings set aside, as while the choice measured).
    let cell_sets = {
        let mut s = set.clone();
        s.steer_own.clear();
        variants(&s)
    };
    let mut feel_cells = Vec::with_capacity(table.cells.len());
    let fluent = table.fluent();
    for c in &table.cells {
        let p0 = p_unsteered(c.emotion);
        let p1 = feel(
            &mut engine,
            &cell_sets,
            feel_report,
            (&c.layers, c.direction),
            c.emotion,
            c.strength,
        )?;
        feel_cells.push(json!({"emotion": set.names[c.emotion], "direction": c.direction.name(), "layers": c.layers, "strength": c.strength, "ratio": p1 / p0.max(1e-12), "fluent": fluent(c)}));
    }
    let (v0, ppl0, distinct0) = group(0);
    let runs: Vec<Value> = jobs
        .iter()
        .zip(&replies)
        .zip(&vader)
        .map(|((j, r), v)| json!({"emotion": j.emotion.map(|e| set.names[e].clone()), "strength": j.strength, "prompt": j.prompt, "seed": j.seed, "text": r.0, "perplexity": r.1, "sentiment": v}))
        .collect();
    let mut choice_json = table.to_json(&set);
    if let Some(o) = choice_json.as_object_mut() {
        o.extend(grid(&covered).as_object().cloned().unwrap_or_default());
        o.insert("settings".into(), choice.settings.iter().map(|s| json!({"direction": s.direction.name(), "layers": s.layers, "score": s.score})).collect());
        if !reuse.is_empty() {
            o.insert(
                "pooled_from".into(),
                reuse
                    .iter()
                    .map(|p| json!(p.display().to_string()))
                    .collect(),
            );
        }
    }
    let result = json!({
        "choice": choice_json,
        "chosen": {"direction": direction.name(), "layers": layers, "default_strength": median,
                   "strengths": emotions.iter().zip(&strengths).map(|(&e, s)| json!({"emotion": set.names[e], "strength": s, "layers": set.steer_layers_for(e), "direction": set.direction_for(e).name()})).collect::<Vec<_>>()},
        "report_feel_prompt": feel_report,
        "generated": {"prompt": crate::generated::prompt("EMOTION"), "samples": crate::generated::SAMPLES, "tokens": crate::generated::TOKENS, "layers": union,
                      "stories": emotions.iter().map(|&e| json!({"emotion": set.names[e], "texts": stories[e]})).collect::<Vec<_>>()},
        "report": {"prompts": REPORT_PROMPTS, "seeds": SEEDS, "tokens": REPLY_TOKENS, "temperature": TEMPERATURE, "feel_held_out": FEEL_HELD_OUT, "feel_top_unsteered": top_of(&unsteered), "feel_cells": feel_cells, "unsteered_vader": v0, "unsteered_perplexity": ppl0, "unsteered_distinct": distinct0, "emotions": report_rows, "runs": runs},
        "seconds": t0.elapsed().as_secs_f64(),
    });
    write_atomic(
        &out.join("steering.json"),
        serde_json::to_string_pretty(&result)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    set.save(vectors)?;
    let mut line = String::new();
    for r in result["report"]["emotions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let _ = write!(
            line,
            " {} vader {:+.2} ppl {:.1} p×{:.1};",
            r["emotion"].as_str().unwrap_or(""),
            r["vader"].as_f64().unwrap_or(0.0),
            r["perplexity"].as_f64().unwrap_or(0.0),
            r["p_feel_ratio"].as_f64().unwrap_or(0.0)
        );
    }
    eprintln!(
        "unsteered vader {v0:+.2} ppl {ppl0:.1};{line}\nwrote {} and the steering settings into {}",
        out.join("steering.json").display(),
        vectors.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_choice_seeds, replies_of, CHOICE_SEEDS, FEEL_CHOICE, FEEL_HELD_OUT, SEEDS};
    use crate::validate_dose::{ExperimentsFile, EXPERIMENTS};
    use limbic::emotions::Direction;
    use std::path::Path;

    #[test]
    fn the_reported_own_word_sentences_are_never_chosen_on() {
        let paper = ExperimentsFile::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(EXPERIMENTS))
            .expect("data/experiments.json");
        let norm = |p: &str| p.trim().to_lowercase();
        for p in FEEL_HELD_OUT.iter().chain([&paper.feel_prompt()]) {
            assert!(
                FEEL_CHOICE.iter().all(|c| norm(c) != norm(p)),
                "{p:?} is also a choice sentence"
            );
        }
        let mut all: Vec<String> = FEEL_HELD_OUT.iter().map(|p| norm(p)).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), FEEL_HELD_OUT.len(), "a held-out sentence twice");
        // Nor are the report's sampled replies: the choice draws its own.
        assert!(check_choice_seeds(&CHOICE_SEEDS).is_ok());
        assert!(check_choice_seeds(&[10, 11, 12]).is_ok());
        for bad in [&[][..], &[10, 10, 11]] {
            assert!(check_choice_seeds(bad).is_err(), "{bad:?} accepted");
        }
        for s in SEEDS {
            assert!(
                check_choice_seeds(&[10, s]).is_err(),
                "the report's seed {s} accepted"
            );
        }
    }

    #[test]
    fn a_settings_replies_run_prompt_by_prompt_then_seed() {
        let jobs = replies_of((Direction::Mean, &[19], Some(3), 0.2), &["a", "b"], &[7, 8]);
        let order: Vec<(&str, u64)> = jobs.iter().map(|j| (j.prompt, j.seed)).collect();
        assert_eq!(order, [("a", 7), ("a", 8), ("b", 7), ("b", 8)]);
        assert!(jobs
            .iter()
            .all(|j| j.layers == [19] && j.emotion == Some(3) && j.strength == 0.2));
    }
}
