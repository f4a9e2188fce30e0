//! The validation report's text checks: steering sweeps (sentiment, perplexity, p(emotion)),
//! top-activating Austen sentences, and the differences from the paper.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::emotion::{steer_hooks, token_scores};
use crate::svg;
use crate::validate::write_svg;
use limbic::emotions::EmotionSet;
use limbic::tokenizer::chat_prompt;
use limbic::{Cpu, Engine, HookSet, Result, Sampler};

/// Shortest Austen sentence, in tokens, that is ranked.
const MIN_TOKENS: usize = 15;
const STEER_EMOTIONS: [&str; 5] = ["happy", "sad", "calm", "desperate", "angry"];
const STRENGTHS: [f32; 7] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5];
const STEER_PROMPTS: [&str; 2] = [
    "Tell me about your weekend.",
    "Describe the street you live on.",
];
/// Mean log-probability per token of `ids[from..]` under the unhooked model.
fn perplexity(engine: &mut Engine<Cpu>, ids: &[u32], from: usize) -> Result<f64> {
    engine.model.set_hooks(&HookSet::new())?;
    engine.model.reset()?;
    let v = engine.model.config.vocab;
    let logits = engine.model.forward_with(ids, true)?.logits;
    let mut nll = 0.0;
    for t in from..ids.len() {
        let row = &logits[(t - 1) * v..t * v];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = max
            + row
                .iter()
                .map(|&x| (x as f64 - max).exp())
                .sum::<f64>()
                .ln();
        nll += lse - row[ids[t] as usize] as f64;
    }
    Ok((nll / (ids.len() - from).max(1) as f64).exp())
}

fn sentiment(texts: &[String], out: &Path) -> Option<Vec<f64>> {
    let (inp, res) = (
        out.join(".sentiment-in.json"),
        out.join(".sentiment-out.json"),
    );
    std::fs::write(&inp, serde_json::to_string(texts).ok()?).ok()?;
    let ok = std::process::Command::new("python3")
        .args(["scripts/validation_data.py", "sentiment", "--in"])
        .arg(&inp)
        .arg("--out")
        .arg(&res)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let scores = ok
        .then(|| {
            std::fs::read_to_string(&res)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
        })
        .flatten();
    std::fs::remove_file(&inp).ok();
    std::fs::remove_file(&res).ok();
    scores
}

pub fn steering(
    engine: &mut Engine<Cpu>,
    set: &EmotionSet,
    out: &Path,
    md: &mut String,
) -> Result<Value> {
    let l = set.default_layer;
    let mut rows = Vec::new();
    for emo in STEER_EMOTIONS {
        for &s in &STRENGTHS {
            for prompt in STEER_PROMPTS {
                let (hooks, _) = steer_hooks(Some(set), &[format!("{emo}:{s}")], Some(l))?;
                engine.model.set_hooks(&hooks)?;
                let ids = engine.encode_prompt(&chat_prompt(prompt, None))?;
                let mut g = engine.start(ids.clone(), &Sampler::default(), 40)?;
                let mut text = String::new();
                while let Some(step) = engine.step(&mut g)? {
                    text += &step.text;
                }
                let all = g.ids.clone();
                let ppl = if all.len() > ids.len() {
                    perplexity(engine, &all, ids.len())?
                } else {
                    f64::NAN
                };
                rows.push(json!({"emotion": emo, "strength": s, "prompt": prompt, "text": text, "perplexity": ppl}));
            }
        }
    }
    let texts: Vec<String> = rows
        .iter()
        .map(|r| r["text"].as_str().unwrap_or("").to_string())
        .collect();
    let vader = sentiment(&texts, out);
    if let Some(v) = &vader {
        rows.iter_mut()
            .zip(v)
            .for_each(|(r, s)| r["sentiment"] = json!(s));
    }
    let mean = |emo: &str, s: f32, key: &str| -> f64 {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| r["emotion"] == emo && r["strength"].as_f64() == Some(s as f64))
            .filter_map(|r| r[key].as_f64())
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    md.push_str(&format!("\n## 5. Steering\n\nGreedy replies (40 tokens) to {} neutral prompts, steered at layer {l} by `strength × resid_norm[{l}] × v̂` (resid_norm = {:.1}). \
        Sentiment: VADER compound {}; fluency: perplexity of the steered reply under the unsteered model.\n\n| emotion | {} |\n|---|{}\n",
        STEER_PROMPTS.len(), set.resid_norm[l], if vader.is_some() { "(−1 … +1)" } else { "(not available: scripts/validation_data.py sentiment failed)" },
        STRENGTHS.iter().map(|s| format!("{s}")).collect::<Vec<_>>().join(" | "), "---|".repeat(STRENGTHS.len())));
    for emo in STEER_EMOTIONS {
        let cells: Vec<String> = STRENGTHS
            .iter()
            .map(|&s| {
                format!(
                    "{:+.2} / {:.1}",
                    mean(emo, s, "sentiment"),
                    mean(emo, s, "perplexity")
                )
            })
            .collect();
        let _ = writeln!(md, "| {emo} (sentiment / ppl) | {} |", cells.join(" | "));
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = STEER_EMOTIONS
        .iter()
        .map(|e| {
            (
                e.to_string(),
                STRENGTHS
                    .iter()
                    .map(|&s| (s as f64, mean(e, s, "sentiment")))
                    .collect(),
            )
        })
        .collect();
    write_svg(
        out,
        "steering.svg",
        svg::lines(
            "VADER sentiment of steered replies",
            "strength (fraction of residual norm)",
            "compound",
            &series,
            &[],
        ),
    )?;
    md.push_str("\n![steering](steering.svg)\n\nSamples (first prompt):\n\n");
    let shown = |r: &Value| {
        [0.0, 0.15, 0.3]
            .iter()
            .any(|s| (r["strength"].as_f64().unwrap_or(-1.0) - s).abs() < 1e-6)
    };
    for r in rows
        .iter()
        .filter(|r| r["prompt"] == STEER_PROMPTS[0] && shown(r))
    {
        let _ = writeln!(
            md,
            "- *{}* at {:.2}: {}",
            r["emotion"].as_str().unwrap_or(""),
            r["strength"].as_f64().unwrap_or(0.0),
            r["text"].as_str().unwrap_or("").replace('\n', " ")
        );
    }

    // The paper's check: steering with E raises p("E") after "How does he feel? He feels".
    let mut feel = Vec::new();
    md.push_str("\np(next token = \" E\") after \"How does he feel? He feels\", steered with E:\n\n| emotion | 0 | 0.1 | 0.2 | 0.3 |\n|---|---|---|---|---|\n");
    for emo in STEER_EMOTIONS {
        let mut ps = Vec::new();
        for s in [0.0f32, 0.1, 0.2, 0.3] {
            let (hooks, _) = steer_hooks(Some(set), &[format!("{emo}:{s}")], Some(l))?;
            let v = crate::emotion::run_next(
                engine,
                "How does he feel? He feels",
                &hooks,
                &[format!(" {emo}")],
                0,
            )?;
            ps.push(v["prob_of"][format!(" {emo}")].as_f64().unwrap_or(f64::NAN));
        }
        let _ = writeln!(
            md,
            "| {emo} | {} |",
            ps.iter()
                .map(|p| format!("{p:.4}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        feel.push(json!({"emotion": emo, "strengths": [0.0, 0.1, 0.2, 0.3], "p": ps}));
    }
    engine.model.set_hooks(&HookSet::new())?;
    Ok(json!({"layer": l, "strengths": STRENGTHS, "runs": rows, "feel": feel}))
}

pub fn austen(
    engine: &mut Engine<Cpu>,
    set: &EmotionSet,
    path: &Path,
    sample: usize,
    md: &mut String,
) -> Result<Value> {
    let text = std::fs::read_to_string(path)?;
    let lines: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('\t')).collect();
    let step = (lines.len() / sample.max(1)).max(1);
    let picked: Vec<&(&str, &str)> = lines.iter().step_by(step).take(sample).collect();
    let (l, n) = (set.default_layer, set.names.len());
    let mut means: Vec<Vec<f32>> = Vec::new();
    // Short sentences give noisy means: rank only sentences of at least MIN_TOKENS tokens.
    let picked: Vec<&(&str, &str)> = picked
        .into_iter()
        .filter(|(_, s)| {
            engine
                .tokenizer
                .encode(s)
                .map(|ids| ids.len() >= MIN_TOKENS)
                .unwrap_or(false)
        })
        .collect();
    for (_, s) in &picked {
        let ids = engine.encode_prompt(s)?;
        let scores = token_scores(engine, set, &ids, l, &HookSet::new())?;
        let from = if ids.len() > set.token_offset {
            set.token_offset
        } else {
            0
        };
        means.push(
            (0..n)
                .map(|e| {
                    (from..ids.len()).map(|t| scores[t * n + e]).sum::<f32>()
                        / (ids.len() - from) as f32
                })
                .collect(),
        );
    }
    let mut top = serde_json::Map::new();
    let _ = write!(md, "\n## 6. Top-activating passages\n\n{} sentences (of at least {MIN_TOKENS} tokens) sampled evenly from Jane Austen's six novels; per emotion, the 3 with the highest mean score (layer {l}). A selection:\n\n", picked.len());
    for (e, name) in set.names.iter().enumerate() {
        let mut order: Vec<usize> = (0..picked.len()).collect();
        order.sort_by(|&a, &b| means[b][e].total_cmp(&means[a][e]));
        let best: Vec<Value> = order
            .iter()
            .take(3)
            .map(|&i| json!({"book": picked[i].0, "sentence": picked[i].1, "score": means[i][e]}))
            .collect();
        if [
            "happy", "sad", "afraid", "angry", "grateful", "ashamed", "jealous", "proud",
        ]
        .contains(&name.as_str())
        {
            let _ = writeln!(
                md,
                "- **{name}**: {}",
                best.iter()
                    .map(|b| format!(
                        "“{}” (*{}*)",
                        b["sentence"].as_str().unwrap_or(""),
                        b["book"].as_str().unwrap_or("")
                    ))
                    .collect::<Vec<_>>()
                    .join(" · ")
            );
        }
        top.insert(name.clone(), json!(best));
    }
    Ok(json!({"sentences": picked.len(), "top": top}))
}

/// Section 7: where this 135M model differs from the paper's, from this run's numbers.
pub fn differences(r: &Value, set: &EmotionSet) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let l = set.default_layer;
    let top1 = f(&r["accuracy"]["top1"][l]);
    let top5 = f(&r["accuracy"]["top5"][l]);
    let best = |key: &str| -> (usize, f64) {
        (0..3)
            .map(|k| (k + 1, f(&r["geometry"]["correlations"][key][k])))
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap_or((0, f64::NAN))
    };
    let ((vk, vr), (ak, ar)) = (best("pc_valence_r"), best("pc_arousal_r"));
    let dose = r["dose"].as_array().cloned().unwrap_or_default();
    let rising = dose
        .iter()
        .filter(|d| f(&d["spearman_afraid"]) > 0.5)
        .count();
    let falling = dose
        .iter()
        .filter(|d| f(&d["spearman_calm"]) < -0.5)
        .count();
    let tyl = dose.iter().find(|d| d["name"] == "tylenol");
    let feel = r["steering"]["feel"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let raised = feel
        .iter()
        .filter(|e| f(&e["p"][2]) > 2.0 * f(&e["p"][0]))
        .count();
    let mut s = String::from("\n## 7. Differences from the paper\n\n");
    s += &format!(
        "- **Where emotion lives.** Dev accuracy peaks at layer {l} of {} ({:.0}% of depth; the paper reads about two-thirds up): \
         top-1 {:.0}% and top-5 {:.0}% among 171 (chance 0.6% / 2.9%). Even the embedding layer is far above chance, because the \
         stories' words carry their emotion without naming it; the middle layers add most of what is specific.\n",
        set.n_layer(), 100.0 * l as f64 / set.n_layer() as f64, 100.0 * top1, 100.0 * top5
    );
    s += &format!(
        "- **Geometry.** The strongest valence correlation is on PC{vk} (r = {vr:+.2}) and the strongest arousal one on PC{ak} (r = {ar:+.2}), \
         against the paper's 0.81 and 0.66 on its leading components: in a 135M model the main axes of the emotion space are \
         not valence and arousal (the clusters mix positive and negative emotions of similar intensity or situation).\n"
    );
    if let Some(t) = tyl {
        s += &format!(
            "- **Danger.** Tylenol dose vs *afraid* ρ = {:+.2}, vs *calm* ρ = {:+.2} (the paper: afraid rises, calm falls). Over all {} templates, \
             afraid rises (ρ > 0.5) in {rising} and calm falls (ρ < −0.5) in {falling}: this model does not consistently know that larger \
             numbers mean more danger, which the page should say plainly.\n",
            f(&t["spearman_afraid"]), f(&t["spearman_calm"]), dose.len()
        );
    }
    s += &format!(
        "- **Steering.** Adding an emotion's vector at layer {l} raises p(\" emotion\") after \"How does he feel? He feels\" more than \
         twofold at strength 0.2 for {raised} of {} emotions tested, as in the paper. Replies stay fluent up to about 0.2 of the residual \
         norm and degrade beyond 0.3 (perplexity above); the outside sentiment lexicon moves less than the paper's measures, so the \
         default strength is {}: strong enough to shift the next-word distribution, small enough to keep the text fluent.\n",
        feel.len(), set.default_strength
    );
    s += &format!(
        "- **Logit lens.** The paper's vectors promote their own emotion words; here the own word is in the top 100 for {} of 171, and the \
         top tokens are mostly unrelated word pieces: at layer {l} of a small model the direction is not yet aligned with the output vocabulary.\n",
        r["logit_lens"]["own_word_in_top100"]
    );
    s += "- **Scale of the corpus.** 12 stories per emotion (10 for training) instead of about a thousand; the dev split has 2 per emotion, \
          so each accuracy above rests on 342 stories.\n";
    s
}
