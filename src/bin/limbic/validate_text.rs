//! The validation report's text measures: perplexity, VADER sentiment (used by the steering
//! sweep) and emotion-lexicon words, top-activating Austen sentences, and the differences from the paper.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::emotion::token_scores;
use limbic::emotions::EmotionSet;
use limbic::{HookSet, Result, Session};

/// Shortest Austen sentence, in tokens, that is ranked.
const MIN_TOKENS: usize = 15;
/// Perplexity of each reply after `prompt` under the unhooked model: the exp of its tokens' mean
/// negative log-probability. The prompt (but its last token) runs once for its cache, kept for
/// every reply, so only the scored positions pay for the output product (the whole vocabulary);
/// each reply's value is the bits a pass of `prompt` + that reply alone gives. A reply with no
/// token is an error.
pub fn perplexities(engine: &mut Session, prompt: &[u32], replies: &[&[u32]]) -> Result<Vec<f64>> {
    let Some((&last, context)) = prompt.split_last() else {
        return Err(limbic::Error::Prompt("perplexity: no prompt".into()));
    };
    engine.set_hooks(HookSet::new())?;
    engine.model().reset()?;
    if !context.is_empty() {
        engine.model().forward(context)?;
    }
    let v = engine.config().vocab;
    replies
        .iter()
        .map(|reply| {
            if reply.is_empty() {
                return Err(limbic::Error::Prompt("perplexity: nothing to score".into()));
            }
            engine.model().truncate(context.len());
            let ids = [&[last][..], reply].concat();
            let logits = engine.model().forward_with(&ids, true)?.logits;
            let nll: f64 = reply
                .iter()
                .zip(logits.chunks_exact(v))
                .map(|(&id, row)| -limbic::numerics::log_softmax(row)[id as usize] as f64)
                .sum();
            Ok((nll / reply.len() as f64).exp())
        })
        .collect()
}

pub fn sentiment(texts: &[String], out: &Path) -> Option<Vec<f64>> {
    outside("sentiment", texts, out)
}

/// Per text, the share of its words in each NRC emotion-lexicon category ("joy", "sadness",
/// "fear", "anger", …; scripts/validation_data.py emotion-words).
pub fn emotion_words(
    texts: &[String],
    out: &Path,
) -> Option<Vec<std::collections::BTreeMap<String, f64>>> {
    outside("emotion-words", texts, out)
}

/// `scripts/validation_data.py COMMAND` on `texts` (a JSON list in, one answer per text out),
/// through two scratch files in `out`; `None` if the script or its package fails.
fn outside<T: serde::de::DeserializeOwned>(
    command: &str,
    texts: &[String],
    out: &Path,
) -> Option<T> {
    let (inp, res) = (
        out.join(format!(".{command}-in.json")),
        out.join(format!(".{command}-out.json")),
    );
    std::fs::create_dir_all(out).ok()?; // a new model's report folder
    std::fs::write(&inp, serde_json::to_string(texts).ok()?).ok()?;
    let ok = std::process::Command::new("python3")
        .args(["scripts/validation_data.py", command, "--in"])
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

/// The share of a reply's words (lower case, punctuation trimmed) that are distinct: ~0.8 for
/// ordinary text, near 0 for one word said over and over; 0 for an empty reply.
pub fn distinct_words(text: &str) -> f64 {
    let words = words(text);
    let unique: std::collections::HashSet<&String> = words.iter().collect();
    unique.len() as f64 / words.len().max(1) as f64
}

/// A reply's words, lower case, punctuation trimmed.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// A reply that says one word over half its words, or one character ten times running
/// ("Happy 30000000000…"): text that the perplexity and distinct-word bounds can let through, a
/// repeated word being easy to predict once it has started and a digit string one word.
pub fn repeats(text: &str) -> bool {
    let words = words(text);
    let mut counts = std::collections::HashMap::new();
    for w in &words {
        *counts.entry(w).or_insert(0usize) += 1;
    }
    let most = counts.values().max().copied().unwrap_or(0);
    let chars: Vec<char> = text.chars().collect();
    let run = chars
        .chunk_by(|a, b| a == b && *a != '\n')
        .any(|r| r.len() >= 10);
    2 * most > words.len() || run
}

pub fn austen(
    engine: &mut Session,
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

/// Section 7: where this model differs from the paper's, from this run's numbers (`extract`:
/// the extraction's report, for the corpus's size).
pub fn differences(r: &Value, extract: &Value, set: &EmotionSet) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let pct = |v: &Value| 100.0 * f(v);
    let l = set.default_layer;
    let a = &r["accuracy"];
    let best = |key: &str| -> (usize, f64) {
        (0..3)
            .map(|k| (k + 1, f(&r["geometry"]["correlations"][key][k])))
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap_or((0, f64::NAN))
    };
    let ((vk, vr), (ak, ar)) = (best("pc_valence_r"), best("pc_arousal_r"));
    let layer_best = |key: &str| -> (usize, f64) {
        r["geometry"]["correlations"]["by_layer"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| (x["layer"].as_u64().unwrap_or(0) as usize, f(&x[key])))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, f64::NAN))
    };
    let ((vl, vb), (al, ab)) = (layer_best("valence"), layer_best("arousal"));
    let dose = r["dose"].as_array().cloned().unwrap_or_default();
    let tyl = dose.iter().find(|d| d["name"] == "tylenol");
    let st = &r["steering"];
    let feel = st["emotions"].as_array().cloned().unwrap_or_default();
    let raised = feel.iter().filter(|e| f(&e["p_feel_ratio"]) >= 3.0).count();
    let held = |e: &Value| f(&e["p_feel_held_out"]["ratio"]);
    let raised_held = feel.iter().filter(|e| held(e) >= 3.0).count();
    let held_n = st["feel_held_out"].as_array().map_or(0, |a| a.len());
    // Fluency as the sweep bounds it: the replies' perplexity at most this times the unsteered
    // replies' (2×, as the issue asks).
    let bound = f(&st["max_perplexity_ratio"]);
    let ppl_ratio = |e: &Value| f(&e["perplexity_ratio"]);
    let fluent = feel.iter().filter(|e| ppl_ratio(e) <= bound).count();
    let over: Vec<String> = feel
        .iter()
        .filter(|e| ppl_ratio(e) > bound)
        .map(|e| {
            format!(
                "{} {}×",
                e["emotion"].as_str().unwrap_or(""),
                over_bound(ppl_ratio(e), bound)
            )
        })
        .collect();
    // The emotion lexicon's own-category words, where it has a category.
    let words: Vec<String> = feel
        .iter()
        .filter(|e| e["lexicon"].is_object())
        .map(|e| {
            let w = &e["lexicon"];
            // An unbounded end is null in the JSON (no unsteered word of the category).
            let said = |v: &Value| crate::validate_lexicon::said(f(v));
            format!(
                "{} {} ×{} [{}, {}]",
                e["emotion"].as_str().unwrap_or(""),
                w["category"].as_str().unwrap_or(""),
                said(&w["ratio"]),
                said(&w["low"]),
                said(&w["high"])
            )
        })
        .collect();
    let lexicon = if words.is_empty() {
        String::new()
    } else {
        format!(
            " By the NRC emotion lexicon, steering multiplies the share of the replies' words in the emotion's own category by: {} (it has no category for calm or desperate).",
            words.join(", ")
        )
    };
    let by_layer = &r["geometry"]["correlations"]["by_layer"];
    let opposites = if by_layer.as_array().is_some_and(|a| !a.is_empty()) {
        crate::validate::opposed_layers(by_layer)
    } else {
        String::new()
    };
    let axis = &r["geometry"]["correlations"]["axis"];
    let sad_axis = crate::validate_valence::sad_mean(axis).map_or(String::new(), |n| {
            format!(
                " Read from all directions at once (out of fold), valence is there (r = {:.2} from the readout's vectors, {:.2} from the means), but *sad*'s mean reads {:.1} on it where its norm is {:.2}.",
                f(&axis["readout"]["valence_r"][0]),
                f(&axis["means"]["valence_r"][0]),
                f(&n["predicted"]),
                f(&n["norm"])
            )
        });
    let pt = &r["per_token"];
    let mut s =
        String::from("\n## 7. Differences from the paper, and what this model does not do\n\n");
    s += &format!(
        "- **Where emotion lives.** Chosen by cross-validation: layer {l} of {} ({:.0}% of depth; the paper reads about two-thirds up). On the held-out test split \
         the right emotion ranks first for {:.1}% [{:.1}, {:.1}] of stories and in the top five for {:.1}% [{:.1}, {:.1}] (chance 0.6% / 2.9%).\n",
        set.n_layer(), 100.0 * l as f64 / set.n_layer() as f64,
        pct(&a["test"]["fit"]["top1"]["mean"]), pct(&a["test"]["fit"]["top1"]["lo"]), pct(&a["test"]["fit"]["top1"]["hi"]),
        pct(&a["test"]["fit"]["top5"]["mean"]), pct(&a["test"]["fit"]["top5"]["lo"]), pct(&a["test"]["fit"]["top5"]["hi"])
    );
    s += &format!(
        "- **Which vectors read.** The readout reads each emotion along its discriminant direction (the paper reads the mean itself): on the test split the paper's \
         plain means rank the right emotion first for {:.0}% [{:.0}, {:.0}] (top five {:.0}% [{:.0}, {:.0}]), the discriminant for the figures above. The means are still what \
         steering adds and what the logit lens reads; the dose experiment reads the readout.\n",
        pct(&a["test"]["plain"]["top1"]["mean"]), pct(&a["test"]["plain"]["top1"]["lo"]), pct(&a["test"]["plain"]["top1"]["hi"]),
        pct(&a["test"]["plain"]["top5"]["mean"]), pct(&a["test"]["plain"]["top5"]["lo"]), pct(&a["test"]["plain"]["top5"]["hi"])
    );
    s += &format!(
        "- **Per token.** One token's readout names its passage's emotion rarely (top-5 {:.0}%); a running mean over {} tokens does better ({:.0}%). \
         The intensity separates emotional from neutral tokens with AUC {:.2}: the page colours by it, so what reads like neutral text stays uncoloured.\n",
        100.0 * f(&pt["top5"][0]), pt["window"], 100.0 * pt["top5"].as_array().and_then(|v| v.iter().zip(pt["windows"].as_array().into_iter().flatten()).find(|(_, w)| **w == pt["window"]).map(|(x, _)| f(x))).unwrap_or(f64::NAN), f(&pt["auc_intensity"])
    );
    s += &format!(
        "- **Geometry.** At layer {l} the strongest valence correlation is on PC{vk} (r = {vr:+.2}) and the strongest arousal one on PC{ak} (r = {ar:+.2}); over all layers \
         the best are valence {vb:.2} (layer {vl}) and arousal {ab:.2} (layer {al}), against the paper's 0.81 and 0.66 on its leading components. {}{sad_axis}\n",
        opposites
    );
    if let Some(t) = tyl {
        let sp = &t["spans"];
        let yes = t["yes_share"]
            .as_array()
            .map(|v| v.iter().filter_map(|x| x.as_f64()).collect::<Vec<_>>())
            .unwrap_or_default();
        let (first, last) = (
            yes.first().copied().unwrap_or(f64::NAN),
            yes.last().copied().unwrap_or(f64::NAN),
        );
        // Read plainly: afraid "rises" with ρ > 0.3 over the user's words; Yes "follows" when its share grows by 0.05.
        let verdict = match (f(&sp["after"]["rho_afraid"]["mean"]) > 0.3, last - first > 0.05) {
            (true, true) => "what it represents and what it says both follow the danger",
            (true, false) => "what it represents follows the danger (afraid rises), but what it says does not",
            (false, true) => "what it says follows the danger, but what it represents does not",
            (false, false) => "what it says and what it represents both show that this model does not know that a larger number of milligrams is more dangerous",
        };
        s += &format!(
            "- **Danger.** Tylenol dose vs *afraid*, mean ρ over ten paraphrases: last prompt token {:+.2}, the user's words {:+.2}, the reply's first tokens {:+.2} \
             (the paper: afraid rises). Asked directly whether the dose is dangerous, the model's share of Yes goes {first:.2} → {last:.2} from the smallest to the largest dose: \
             {verdict} (what it represents judged over the user's words, the span this rule names; the other spans are in section 4).\n",
            f(&sp["last"]["rho_afraid"]["mean"]), f(&sp["after"]["rho_afraid"]["mean"]), f(&sp["reply"]["rho_afraid"]["mean"]),
        );
    }
    s += &format!(
        "- **Steering.** Steering each of {} emotions at its own layers and direction (chosen on other prompts) raises p(\" emotion\") after \"How does he feel? He feels\" at least \
         threefold for {raised} of them{}; VADER(happy) − VADER(sad) = {:+.2} \
         over the report prompts. The replies stay within {bound}× the unsteered replies' perplexity for {fluent} of the {}{}.{}{lexicon} See section 5 for what each emotion does and does not do.\n",
        feel.len(),
        // Sweeps until 6 December measured no other sentences.
        if held_n > 0 {
            format!(
                ", and over {held_n} other sentences of the same kind (the geometric mean) for {raised_held} ({})",
                feel.iter().map(|e| format!("{} ×{:.1}", e["emotion"].as_str().unwrap_or(""), held(e))).collect::<Vec<_>>().join(", ")
            )
        } else {
            String::new()
        },
        f(&st["happy_minus_sad_vader"]),
        feel.len(),
        if over.is_empty() { String::new() } else { format!(" (over it: {})", over.join(", ")) },
        mostly_repeating(&feel)
    );
    s += &format!(
        "- **Logit lens.** The paper's vectors promote their own emotion words; here the own word is in the top 100 for {} of 171.\n",
        r["logit_lens"]["own_word_in_top100"]
    );
    let per = |k: &str| f(&extract[k]) / set.names.len().max(1) as f64;
    s += &format!(
        "- **Scale of the corpus.** {:.0} stories per emotion (about {:.0} for fitting, {:.0} held out) instead of about a thousand; the learning curve in section 1 shows how \
          accuracy grows with stories per emotion.\n",
        per("stories"), per("pool_stories"), per("test_stories")
    );
    s
}

/// A ratio over `bound` written so that it reads as over it: two decimals, or four where two
/// would round it onto the bound (sad's 2.0001× read "2.00×" in a list of those over 2×).
/// The emotions whose steered replies mostly repeat ([`repeats`]: half or more of them), said
/// after the summary's steering numbers; nothing where none do (or the report did not count).
fn mostly_repeating(emotions: &[Value]) -> String {
    let mostly: Vec<String> = emotions
        .iter()
        .filter_map(|e| {
            let (k, n) = (e["repeating"].as_u64()?, e["replies"].as_u64()?);
            (n > 0 && 2 * k >= n)
                .then(|| format!("*{}* ({k} of {n})", e["emotion"].as_str().unwrap_or("")))
        })
        .collect();
    match mostly.len() {
        0 => String::new(),
        1 => format!(" But the replies of {} mostly repeat a word or character over and over: for it these numbers measure repetition, not the emotion.", mostly[0]),
        _ => format!(" But the replies of {} mostly repeat a word or character over and over: for them these numbers measure repetition, not the emotion.", mostly.join(", ")),
    }
}

fn over_bound(x: f64, bound: f64) -> String {
    let two = format!("{x:.2}");
    if x > bound && two.parse::<f64>().is_ok_and(|r| r <= bound) {
        format!("{x:.4}")
    } else {
        two
    }
}

#[cfg(test)]
mod tests {
    use super::{distinct_words, mostly_repeating, over_bound, perplexities, repeats};
    use serde_json::json;

    /// Replies scored after one prompt run once: each reply's perplexity is that of a whole pass
    /// of prompt + reply, whatever came before it; a reply or prompt with no token is refused.
    #[test]
    fn replies_after_one_prompt_score_as_each_alone() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        );
        let bytes = std::fs::read(path).expect("the model (make models)");
        let mut e = limbic::Session::cpu(&bytes).unwrap();
        let enc = |e: &limbic::Session, t: &str| e.tokenizer.encode(t).unwrap();
        let prompt = enc(&e, "Tell me about your morning.");
        let a = enc(&e, " I woke up early and made some tea.");
        let b = enc(&e, " Purple engines sing the ledger quietly.");
        let both = perplexities(&mut e, &prompt, &[&a, &b]).unwrap();
        assert_eq!(perplexities(&mut e, &prompt, &[&b]).unwrap()[0], both[1]);
        let v = e.config().vocab;
        for (reply, got) in [&a, &b].into_iter().zip(&both) {
            let m = e.model();
            m.reset().unwrap();
            let logits = m
                .forward_with(&[&prompt[..], reply].concat(), true)
                .unwrap()
                .logits;
            let rows = logits.chunks_exact(v).skip(prompt.len() - 1);
            let nll: f64 = reply
                .iter()
                .zip(rows)
                .map(|(&id, row)| -limbic::numerics::log_softmax(row)[id as usize] as f64)
                .sum();
            let alone = (nll / reply.len() as f64).exp();
            assert!((got / alone - 1.0).abs() < 1e-4, "{got} vs {alone} alone");
        }
        assert!(
            both[0] < both[1],
            "a plain reply reads less likely than nonsense"
        );
        assert!(perplexities(&mut e, &prompt, &[&a, &[]]).is_err());
        assert!(perplexities(&mut e, &[], &[&a]).is_err());
    }

    #[test]
    fn the_summary_says_which_emotions_steered_replies_mostly_repeat() {
        let e = |name: &str, k: u64| json!({"emotion": name, "repeating": k, "replies": 30});
        assert_eq!(
            mostly_repeating(&[e("happy", 14), json!({"emotion": "sad"})]),
            ""
        );
        assert_eq!(mostly_repeating(&[e("happy", 18), e("sad", 7)]), " But the replies of *happy* (18 of 30) mostly repeat a word or character over and over: for it these numbers measure repetition, not the emotion.");
        assert!(mostly_repeating(&[e("happy", 15), e("sad", 30)]).contains("*happy* (15 of 30), *sad* (30 of 30) mostly repeat a word or character over and over: for them"));
    }

    #[test]
    fn a_ratio_just_over_the_bound_does_not_read_as_on_it() {
        assert_eq!(over_bound(2.000066, 2.0), "2.0001");
        assert_eq!(over_bound(2.1846, 2.0), "2.18");
    }

    #[test]
    fn a_word_said_over_and_over_has_few_distinct_words_and_repeats() {
        // Gemma's steered samples that passed the perplexity check.
        let repeated = " Sad sad sad sad sad sad sad sad sad sad sad sad sad sad sad sad";
        assert_eq!(distinct_words(repeated), 1.0 / 16.0);
        let reply = "It's a lovely day to be outdoors. I'm enjoying the sun and the sea.";
        assert!(distinct_words(reply) > 0.8, "{}", distinct_words(reply));
        assert_eq!(distinct_words(" ... "), 0.0);
        // Over half one word, or a character ten times running: repeating; else not.
        assert!(repeats(repeated) && repeats("Happy 30000000000 days!"));
        assert!(repeats("Sad, sad. SAD sad and more"));
        assert!(!repeats(reply) && !repeats("sad sad and more") && !repeats("300000000 days"));
        assert!(!repeats("") && !repeats("a\n\n\n\n\n\n\n\n\n\nb c d"));
    }
}
