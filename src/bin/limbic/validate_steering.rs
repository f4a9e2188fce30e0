//! Section 5 of the validation report: the steering sweep's choice and measurements, read from
//! the `steering.json` that `limbic steer-sweep` wrote.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::steer_sweep::{EMOTIONS, FEEL_CHOICE, STRENGTHS};
use crate::validate_text::repeats;
use limbic::emotions::{Direction, EmotionSet};
use limbic::Result;

/// Section 5 of the report, from OUT/steering.json (written by `limbic steer-sweep`, which also
/// measured the paper's p(" emotion") check at the chosen settings).
pub fn section(set: &EmotionSet, out: &Path, md: &mut String) -> Result<Value> {
    let path = out.join("steering.json");
    let sweep: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or_else(|| {
            limbic::Error::Model(format!(
                "{} is missing: run `limbic steer-sweep` first (make validate does)",
                path.display()
            ))
        })?;
    let (c, r) = (&sweep["chosen"], &sweep["report"]);
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let layers = set.default_steer_layers();
    // What the sweep recorded: its own-word sentences (sweeps until 6 December used two), and
    // the report's other sentences (none in those sweeps).
    let feel_choice = match sweep["choice"]["feel_prompts"].as_array() {
        Some(p) => quoted(p.iter().filter_map(|x| x.as_str())),
        None => quoted(FEEL_CHOICE.iter().copied()),
    };
    let held_n = r["feel_held_out"].as_array().map_or(0, |a| a.len());
    // Sweeps until 6 December 2026 chose on greedy replies (Gemma's files still do).
    let (how, bound) = match sweep["choice"]["temperature"].as_f64() {
        Some(t) => (
            format!("sampled as the report's replies below (temperature {t}, {})", seeds_said(&sweep["choice"])),
            "on its own replies, made the same way to other prompts with other seeds",
        ),
        None => (
            "greedy".to_string(),
            "on its own short greedy replies, and a setting near that bound there can pass it on these longer sampled ones",
        ),
    };
    let _ = write!(
        md,
        "\n## 5. Steering\n\n**How it was chosen** (`limbic steer-sweep`, on {} prompts the report does not use, {how}, {} tokens): for each direction — the emotion's mean \
         (the paper's vector, against the mean of all emotions), the contrastive one (the emotion against the neutral scenes of the same topics), or the generation-based one (the model's \
         own residual stream while it writes a story about a character who feels the emotion, {} replies of up to {} tokens each to \"{}\", against the mean over all emotions) — each layer set ({} in all: every third \
         layer from a third of the depth to three below the top, and six-layer bands from a third, a little above it and two thirds, a strength split evenly over a band's layers; \
         the layers above two thirds joined the grid on 7 December 2026 after a look at the paper's sentence below, steered at single upper layers, showed the words of *angry* and *desperate* rising there: \
         the one time that sentence shaped the sweep, which chooses on other sentences and never reads it) and each total strength {:?}: the VADER compound of the replies minus the unsteered \
         replies', signed by the emotion's valence; the perplexity of the replies under the unsteered model; and how many times steering multiplies p(\" emotion\") after each of {} \
         (the geometric mean; none of these sentences is measured below). Per emotion, its own setting: among the settings whose perplexity stays within {}× the unsteered replies' ({:.1}{}), whose share of distinct words stays \
         at least {}× theirs ({:.2}: a word said over and over is easy to predict, so perplexity alone lets it through){}, and whose VADER effect is within {} of the \
         strongest such effect, the one that raises p(\" emotion\") most. The {} other emotions use the direction and layer set with the best mean over these {}: the **{}** direction at \
         layers **{:?}**, strength {}.\n\n\
         **Measured** on {} other neutral prompts × {} seeds (temperature {}, {} tokens). Unsteered: VADER {:+.2}, perplexity {:.1}, distinct words {:.2}.\n\n\
         | emotion | direction, layers | strength | VADER | perplexity | distinct words | repeating replies | p(\" emotion\") unsteered → steered |{}\n|---|---|---|---|---|---|---|---|{}\n",
        sweep["choice"]["prompts"].as_array().map_or(0, |a| a.len()), sweep["choice"]["tokens"], sweep["generated"]["samples"], sweep["generated"]["tokens"],
        sweep["generated"]["prompt"].as_str().unwrap_or(""), sweep["choice"]["layer_sets"].as_array().map_or(0, |a| a.len()),
        STRENGTHS, feel_choice, bound_said(&sweep["choice"]), choice_bound(&sweep["choice"]) * f(&sweep["choice"]["unsteered_perplexity"]),
        margin_said(&sweep["choice"]),
        f(&sweep["choice"]["min_distinct_ratio"]), f(&sweep["choice"]["unsteered_distinct"]), repeating_said(&sweep["choice"]), sweep["choice"]["effect_tolerance"],
        set.names.len() - EMOTIONS.len(), EMOTIONS.len(),
        Direction::of_json(c).name(), layers, set.default_strength,
        r["prompts"].as_array().map_or(0, |a| a.len()), r["seeds"].as_array().map_or(0, |a| a.len()), r["temperature"], r["tokens"], f(&r["unsteered_vader"]), f(&r["unsteered_perplexity"]),
        f(&r["unsteered_distinct"]),
        if held_n > 0 { format!(" ×, {held_n} other sentences |") } else { String::new() },
        if held_n > 0 { "---|" } else { "" }
    );
    // Each row with the sign its replies' sentiment should move (the page says what moved).
    let mut rows: Vec<Value> = r["emotions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let mut e = e.clone();
            if let Some((_, sign)) = EMOTIONS.iter().find(|(n, _)| e["emotion"] == *n) {
                e["valence"] = json!(sign);
            }
            e["perplexity_ratio"] = json!(f(&e["perplexity"]) / f(&r["unsteered_perplexity"]));
            let (n, repeating, rest) = repeating(r, &e["emotion"]);
            (e["replies"], e["repeating"], e["vader_not_repeating"]) =
                (json!(n), json!(repeating), json!(rest));
            e
        })
        .collect();
    for e in &rows {
        let _ = writeln!(
            md,
            "| {} | {} {} | {:.2} | {:+.2} | {:.1} | {:.2} | {} of {} | {:.4} → {:.4} (×{:.1}) |{}",
            e["emotion"].as_str().unwrap_or(""),
            Direction::of_json(e).name(),
            e["layers"],
            f(&e["strength"]),
            f(&e["vader"]),
            f(&e["perplexity"]),
            f(&e["distinct"]),
            e["repeating"],
            e["replies"],
            f(&e["p_feel_unsteered"]),
            f(&e["p_feel_steered"]),
            f(&e["p_feel_ratio"]),
            if held_n > 0 {
                format!(
                    " ×{:.1} [{:.1}, {:.1}] |",
                    f(&e["p_feel_held_out"]["ratio"]),
                    f(&e["p_feel_held_out"]["low"]),
                    f(&e["p_feel_held_out"]["high"])
                )
            } else {
                String::new()
            }
        );
    }
    let vader = |name: &str| {
        rows.iter()
            .find(|e| e["emotion"] == name)
            .map_or(f64::NAN, |e| f(&e["vader"]))
    };
    let happy_minus_sad = vader("happy") - vader("sad");
    // Replies the bounds let through that repeat: said, with VADER over the rest where any do.
    let (n0, repeating0, _) = repeating(r, &Value::Null);
    let _ = writeln!(md, "\nRepeating replies: those that say one word over half their words, or one character ten times running (\"Happy 30000000000…\"), which the perplexity and distinct-word bounds can let through — a repeated word is easy to predict once it has started, and a digit string is one word. Unsteered {repeating0} of {n0}.{}",
        rows.iter().filter(|e| e["repeating"].as_u64().unwrap_or(0) > 0).map(|e| format!(" *{}*: VADER {:+.2} over all its replies, {:+.2} over the {} that do not repeat.", e["emotion"].as_str().unwrap_or(""), f(&e["vader"]), f(&e["vader_not_repeating"]), e["replies"].as_u64().unwrap_or(0) - e["repeating"].as_u64().unwrap_or(0))).collect::<String>());
    if held_n > 0 {
        let _ = writeln!(md, "\nThe last column: how many times steering multiplies p(\" emotion\") after each of {held_n} other sentences never used in the choice ({}), the geometric mean over them \
         with a bootstrap 95 % interval over the sentences (one sentence's ratio varies a great deal from the next's).",
        quoted(r["feel_held_out"].as_array().into_iter().flatten().filter_map(|p| p.as_str())));
    }
    // What no fluent setting does, for the page as well as the text.
    let mut feel_limits = Vec::new();
    if let Some(cells) = r["feel_cells"].as_array() {
        let prompt = sweep["report_feel_prompt"].as_str().unwrap_or("");
        let (text, per) = every_setting(prompt, cells, &rows);
        md.push_str(&text);
        feel_limits = per;
    }
    if let Some(unsteered) = r["feel_top_unsteered"].as_array() {
        let _ = writeln!(md, "\nWhat follows \"{}\" (the likeliest next tokens, p; the own word is one of its kin, and where p(\" emotion\") does not rise this shows what does):\n\n| steered toward | likeliest next tokens |\n|---|---|\n| (unsteered) | {} |",
            sweep["report_feel_prompt"].as_str().unwrap_or(""), tokens_said(unsteered));
        for e in &rows {
            if let Some(top) = e["feel_top"].as_array() {
                let _ = writeln!(
                    md,
                    "| {} | {} |",
                    e["emotion"].as_str().unwrap_or(""),
                    tokens_said(top)
                );
            }
        }
    }
    let _ = writeln!(
        md,
        "\nVADER(happy) − VADER(sad) = **{:+.2}**. \
         Perplexity over the unsteered replies': {}; the choice bounds it at {}× {bound}.",
        happy_minus_sad,
        rows.iter()
            .map(|e| format!(
                "{} {:.2}×",
                e["emotion"].as_str().unwrap_or(""),
                f(&e["perplexity_ratio"])
            ))
            .collect::<Vec<_>>()
            .join(", "),
        bound_said(&sweep["choice"])
    );
    let own_words = crate::validate_lexicon::words(r, out, md);
    for e in rows.iter_mut() {
        if let Some(w) = e["emotion"].as_str().and_then(|n| own_words.get(n)) {
            e["lexicon"] = w.clone();
        }
    }
    md.push_str("\nSamples (first two report prompts, seed 1):\n\n");
    for e in &rows {
        for s in e["samples"].as_array().into_iter().flatten() {
            let _ = writeln!(
                md,
                "- *{}*: {}",
                e["emotion"].as_str().unwrap_or(""),
                s.as_str().unwrap_or("").replace('\n', " ")
            );
        }
    }
    let written = sweep["generated"]["stories"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !written.is_empty() {
        let _ = writeln!(md, "\nWhat the model wrote when asked (the first of its {} replies per emotion; the generation-based direction is read from these):\n", sweep["generated"]["samples"]);
        for w in &written {
            let first = w["texts"][0].as_str().unwrap_or("").replace('\n', " ");
            let _ = writeln!(
                md,
                "- *{}*: {}",
                w["emotion"].as_str().unwrap_or(""),
                first.trim()
            );
        }
    }
    // Where sad lands across the sweep: the hard case, shown whole.
    md.push_str("\n**The sweep for *sad*** (choice prompts; signed VADER effect / mean perplexity / own-word ratio; each direction):\n\n");
    let cells = sweep["choice"]["cells"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let strengths: Vec<f64> = sweep["choice"]["strengths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_f64())
        .collect();
    let _ = writeln!(
        md,
        "| direction | layers | {} |\n|---|---|{}",
        strengths
            .iter()
            .map(|s| format!("{}", *s as f32))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(strengths.len())
    );
    for direction in Direction::ALL {
        for ls in sweep["choice"]["layer_sets"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let cell = |s: f64| {
                cells
                    .iter()
                    .find(|x| {
                        x["emotion"] == "sad"
                            && Direction::of_json(x) == direction
                            && &x["layers"] == ls
                            && (f(&x["strength"]) - s).abs() < 1e-6
                    })
                    .map_or("–".to_string(), |x| {
                        format!(
                            "{:+.2} / {:.0} / ×{:.1}",
                            f(&x["effect"]),
                            f(&x["perplexity"]),
                            f(&x["feel_ratio"])
                        )
                    })
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                direction.name(),
                ls,
                strengths
                    .iter()
                    .map(|&s| cell(s))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
    }
    // What the sweep says of sad, plainly: can any fluent setting make its replies negative?
    let base_v = f(&sweep["choice"]["unsteered_vader"]);
    let max_ppl = choice_bound(&sweep["choice"]) * f(&sweep["choice"]["unsteered_perplexity"]);
    let min_distinct =
        f(&sweep["choice"]["min_distinct_ratio"]) * f(&sweep["choice"]["unsteered_distinct"]);
    let best = cells
        .iter()
        .filter(|x| x["emotion"] == "sad" && x["fluent"] == true)
        .max_by(|a, b| f(&a["effect"]).total_cmp(&f(&b["effect"])));
    let mut sad_vader = Value::Null;
    if let Some(b) = best {
        // The effect is signed by sad's valence: the replies' VADER fell by it.
        let at = base_v - f(&b["effect"]);
        sad_vader = json!({"best": at, "unsteered": base_v, "direction": b["direction"], "layers": b["layers"], "strength": b["strength"]});
        let _ = writeln!(
            md,
            "\nOf the settings the choice counts fluent (perplexity ≤ {max_ppl:.1}, distinct words ≥ {min_distinct:.2}{}), the one that moves *sad*'s replies furthest ({} at {}, strength {}) takes their mean VADER from {base_v:+.2} to {at:+.2}: {}.",
            if sweep["choice"]["repeating_bound_applied"] == true { ", few repeating replies" } else { "" },
            Direction::of_json(b).name(),
            b["layers"],
            f(&b["strength"]) as f32,
            sad_at(at)
        );
    }
    // The About page's shape: a layer, strengths and p(" emotion") per emotion, and the runs.
    let feel: Vec<Value> = rows
        .iter()
        .map(|e| json!({"emotion": e["emotion"], "strengths": [0.0, f(&e["strength"])], "p": [f(&e["p_feel_unsteered"]), f(&e["p_feel_steered"])]}))
        .collect();
    Ok(json!({
        "layer": layers.first().copied().unwrap_or(set.default_layer), "layers": layers, "direction": Direction::of_json(c).name(),
        "strengths": [0.0, set.default_strength], "feel": feel, "emotions": rows,
        // The page reads every run's emotion as text and every number as finite.
        "runs": r["runs"].as_array().into_iter().flatten().filter(|x| x["perplexity"].as_f64().is_some_and(f64::is_finite) && x["sentiment"].as_f64().is_some()).map(|x| {
            let mut x = x.clone();
            if x["emotion"].is_null() {
                x["emotion"] = json!("none");
            }
            x
        }).collect::<Vec<_>>(),
        "unsteered_vader": r["unsteered_vader"], "unsteered_perplexity": r["unsteered_perplexity"], "max_perplexity_ratio": sweep["choice"]["max_perplexity_ratio"],
        "happy_minus_sad_vader": happy_minus_sad, "feel_held_out": r["feel_held_out"],
        // What the page says the model cannot be steered to: per swept emotion at the paper's
        // sentence, its fluent settings, how many raise the word threefold, the most one does;
        // sad's furthest fluent replies by VADER (on the choice's prompts).
        "limits": {"prompt": sweep["report_feel_prompt"], "settings": cells.len() / EMOTIONS.len().max(1), "feel": feel_limits, "sad_vader": sad_vader},
    }))
}

/// The paper's sentence at every setting the sweep measured (`cells`: emotion, direction,
/// layers, strength, ratio, fluent), against the chosen settings' ratios in `rows`: per emotion
/// how many fluent settings raise the word threefold there and the best one, then which
/// emotions no fluent setting lifts (the model's and method's limit there) and which the choice
/// missed (it chose on other sentences). Also, per emotion, `{emotion, fluent, up, best}`: its
/// fluent settings, how many of them raise the word threefold, and the most one does.
fn every_setting(prompt: &str, cells: &[Value], rows: &[Value]) -> (String, Vec<Value>) {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let (mut said, mut none, mut missed) = (Vec::new(), Vec::new(), Vec::new());
    let mut per = Vec::new();
    for (name, _) in EMOTIONS {
        let mine: Vec<&Value> = cells.iter().filter(|c| c["emotion"] == name).collect();
        let fluent: Vec<&Value> = mine
            .iter()
            .copied()
            .filter(|c| c["fluent"] == true)
            .collect();
        let up = fluent.iter().filter(|c| f(&c["ratio"]) >= 3.0).count();
        let Some(best) = fluent
            .iter()
            .max_by(|a, b| f(&a["ratio"]).total_cmp(&f(&b["ratio"])))
        else {
            continue;
        };
        per.push(
            json!({"emotion": name, "fluent": fluent.len(), "up": up, "best": f(&best["ratio"])}),
        );
        said.push(format!(
            "{name} {up} of {} (best ×{:.1}, {} {} {})",
            fluent.len(),
            f(&best["ratio"]),
            best["direction"].as_str().unwrap_or(""),
            best["layers"],
            f(&best["strength"]) as f32
        ));
        let chosen = rows
            .iter()
            .find(|r| r["emotion"] == name)
            .map_or(f64::NAN, |r| f(&r["p_feel_ratio"]));
        if up == 0 {
            let any = mine.iter().any(|c| f(&c["ratio"]) >= 3.0);
            none.push(format!(
                "*{name}*{}",
                if any { "" } else { " (nor any other setting)" }
            ));
        } else if chosen < 3.0 {
            missed.push(format!("*{name}* ({up})"));
        }
    }
    let mut out = format!(
        "\n**\"{prompt}\" at every setting the sweep measured** (report only, nothing was chosen on it): per emotion, how many of its fluent settings (by the choice's bounds) raise p(\" emotion\") there at least threefold, and the most a fluent one does — {}.",
        said.join("; ")
    );
    if !none.is_empty() {
        let _ = write!(out, " For {} no fluent setting in the sweep does: there the shortfall is this model's and this method's at that sentence, not the choice's.", none.join(", "));
    }
    if !missed.is_empty() {
        let _ = write!(out, " For {} some fluent settings do, and the choice, made on other sentences, took another.", missed.join(", "));
    }
    out.push('\n');
    (out, per)
}

/// `[token, p]` pairs as “token” 0.17, …
fn tokens_said(top: &[Value]) -> String {
    top.iter()
        .map(|t| {
            let token = t[0].as_str().unwrap_or("").trim().replace('|', "\\|");
            format!("“{token}” {:.3}", t[1].as_f64().unwrap_or(f64::NAN))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Of the report's replies steered toward `emotion` (null: unsteered), how many there are, how
/// many repeat ([`repeats`]), and the mean VADER of the others (NaN where none is left).
fn repeating(report: &Value, emotion: &Value) -> (usize, usize, f64) {
    let (mut n, mut rest) = (0, Vec::new());
    for x in report["runs"].as_array().into_iter().flatten() {
        if &x["emotion"] == emotion {
            n += 1;
            if !repeats(x["text"].as_str().unwrap_or("")) {
                rest.push(x["sentiment"].as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    (
        n,
        n - rest.len(),
        rest.iter().sum::<f64>() / rest.len() as f64,
    )
}

/// Sentences as the report lists them: each in double quotes, comma-separated.
fn quoted<'a>(sentences: impl Iterator<Item = &'a str>) -> String {
    sentences
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What sad's furthest fluent setting does to the replies' mean VADER `at`, by VADER's own
/// convention (a compound within ±0.05 is neutral), as the page's steering verdict says it.
fn sad_at(at: f64) -> String {
    let not_sad = "no direction, layer set or strength in the sweep makes this model's replies negative by VADER while they stay fluent (the emotion words above count sadness itself)";
    if at >= 0.05 {
        format!("less cheerful, still positive on average: {not_sad}")
    } else if at > -0.05 {
        format!("about neutral on average (VADER's neutral band is ±0.05): {not_sad}")
    } else {
        "negative on average".into()
    }
}

/// The perplexity ratio the choice held its settings to: the report's bound less the margin
/// (sweeps until 7 December 2026 had none).
fn choice_bound(choice: &Value) -> f64 {
    let margin = choice["perplexity_margin"].as_f64().unwrap_or(0.0);
    choice["max_perplexity_ratio"].as_f64().unwrap_or(f64::NAN) * (-margin).exp()
}

/// That bound as the report says it: "1.77" with a margin, else as the file has it ("2.0").
fn bound_said(choice: &Value) -> String {
    match choice["perplexity_margin"].as_f64() {
        Some(_) => format!("{:.2}", choice_bound(choice)),
        None => choice["max_perplexity_ratio"].to_string(),
    }
}

/// The perplexity margin as the report says it (none before 7 December 2026; a constant
/// measured once on SmolLM2 until 8 December, then measured on the table chosen on).
fn margin_said(choice: &Value) -> String {
    let Some(m) = choice["perplexity_margin"].as_f64().filter(|m| *m > 0.0) else {
        return String::new();
    };
    let how = match (choice["perplexity_margin_measured"].as_bool(), choice["group_seeds"].as_array()) {
        (Some(true), Some(g)) => format!(" — two noise sds of a setting's log perplexity over its {} seeds, measured from how its {} seed groups spread —", choice["seeds"].as_array().map_or(0, |s| s.len()), g.len()),
        _ => String::new(),
    };
    format!("; the report's bound of {}× less {m:.3} in log for the noise of a setting's mean{how}, so a setting chosen near the bound does not land over it by chance", choice["max_perplexity_ratio"])
}

/// The repeating-reply bound as the report says it: applied, or why not (sweeps until
/// 8 December 2026 did not measure it; said nothing of it before).
fn repeating_said(choice: &Value) -> String {
    match choice["repeating_bound_applied"].as_bool() {
        Some(true) => format!(", whose share of repeating replies (below) stays within {} of theirs ({:.2})", choice["max_repeating_above_unsteered"], choice["unsteered_repeating"].as_f64().unwrap_or(f64::NAN)),
        Some(false) => " — the bound on repeating replies (below) was not applied: the tables chosen on were measured before 8 December 2026 and do not count them —".into(),
        None => String::new(),
    }
}

/// The choice's seeds as the report says them: "seeds 7, 8, 9, which the report does not use"
/// (sweeps until the night of 6 December 2026 recorded one, "seed 7"), and whether earlier
/// sweeps' tables were pooled.
fn seeds_said(choice: &Value) -> String {
    match choice["seeds"].as_array() {
        Some(seeds) => {
            let s: Vec<String> = seeds.iter().map(Value::to_string).collect();
            let pooled = choice["pooled_from"].as_array().map_or(String::new(), |f| {
                format!("; the tables of {} earlier sweeps pooled", f.len())
            });
            format!(
                "seeds {}, which the report does not use{pooled}",
                s.join(", ")
            )
        }
        None => format!("seed {}, which the report does not use", choice["seed"]),
    }
}

#[cfg(test)]
mod tests {
    use super::{
        bound_said, choice_bound, every_setting, margin_said, repeating_said, sad_at, seeds_said,
        tokens_said,
    };
    use serde_json::json;

    #[test]
    fn the_choice_says_its_seeds_and_bound_old_and_new() {
        let not_used = ", which the report does not use";
        assert_eq!(
            seeds_said(&json!({"seeds": [7, 8, 9]})),
            format!("seeds 7, 8, 9{not_used}")
        );
        assert_eq!(seeds_said(&json!({"seed": 7})), format!("seed 7{not_used}"));
        let pooled = json!({"seeds": [7, 10], "pooled_from": ["a.json", "b.json"]});
        assert_eq!(
            seeds_said(&pooled),
            format!("seeds 7, 10{not_used}; the tables of 2 earlier sweeps pooled")
        );
        assert_eq!(choice_bound(&json!({"max_perplexity_ratio": 2.0})), 2.0);
        let bound = choice_bound(&json!({"max_perplexity_ratio": 2.0, "perplexity_margin": 0.12}));
        assert!((bound - 1.774).abs() < 1e-3, "{bound}");
        let old = json!({"max_perplexity_ratio": 2.0});
        let new = json!({"max_perplexity_ratio": 2.0, "perplexity_margin": 0.12});
        assert_eq!(
            (bound_said(&old).as_str(), bound_said(&new).as_str()),
            ("2.0", "1.77")
        );
        // The margin, constant or measured on the seed groups; the repeating-reply bound.
        assert_eq!(margin_said(&old), "");
        assert!(
            margin_said(&new).contains("less 0.120 in log")
                && !margin_said(&new).contains("measured")
        );
        let measured = json!({"max_perplexity_ratio": 2.0, "perplexity_margin": 0.2819, "perplexity_margin_measured": true, "seeds": [7, 8, 9, 10, 11, 12], "group_seeds": [3, 3]});
        assert!(margin_said(&measured).contains("less 0.282 in log for the noise of a setting's mean — two noise sds of a setting's log perplexity over its 6 seeds, measured from how its 2 seed groups spread —"));
        assert_eq!(repeating_said(&new), "");
        assert!(repeating_said(&json!({"repeating_bound_applied": false})).contains("not applied"));
        let applied = json!({"repeating_bound_applied": true, "max_repeating_above_unsteered": 0.1, "unsteered_repeating": 0.0});
        assert_eq!(
            repeating_said(&applied),
            ", whose share of repeating replies (below) stays within 0.1 of theirs (0.00)"
        );
    }

    #[test]
    fn the_paper_sentence_at_every_setting_says_the_models_limit_apart_from_the_choices_miss() {
        let cell = |e: &str, ratio: f64, fluent: bool| json!({"emotion": e, "direction": "mean", "layers": [16], "strength": 0.2, "ratio": ratio, "fluent": fluent});
        let cells = [
            cell("sad", 2.5, true),
            cell("sad", 4.4, false),
            cell("angry", 3.5, true),
            cell("angry", 1.5, true),
            cell("desperate", 1.9, true),
            cell("happy", 6.7, true),
        ];
        let rows = [
            json!({"emotion": "sad", "p_feel_ratio": 0.8}),
            json!({"emotion": "angry", "p_feel_ratio": 1.5}),
            json!({"emotion": "desperate", "p_feel_ratio": 1.9}),
            json!({"emotion": "happy", "p_feel_ratio": 6.7}),
        ];
        let (text, per) = every_setting("He feels", &cells, &rows);
        assert_eq!(
            per[1],
            json!({"emotion": "sad", "fluent": 1, "up": 0, "best": 2.5})
        );
        assert!(
            text.contains("sad 0 of 1 (best ×2.5, mean [16] 0.2)"),
            "{text}"
        );
        assert!(
            text.contains("angry 1 of 2") && text.contains("happy 1 of 1"),
            "{text}"
        );
        assert!(
            text.contains("For *sad*, *desperate* (nor any other setting) no fluent setting"),
            "{text}"
        );
        assert!(
            text.contains("For *angry* (1) some fluent settings do"),
            "{text}"
        );
        assert!(!text.contains("*happy*"), "{text}");
    }

    #[test]
    fn next_tokens_are_said_trimmed_with_their_probability_and_no_table_break() {
        let top = [json!([" lost", 0.0691]), json!(["a|b", 0.5])];
        assert_eq!(tokens_said(&top), "“lost” 0.069, “a\\|b” 0.500");
        assert_eq!(tokens_said(&[]), "");
    }

    #[test]
    fn sads_furthest_setting_is_said_as_the_page_says_it() {
        assert!(sad_at(0.12).starts_with("less cheerful, still positive"));
        // The sweep's +0.03: within VADER's neutral band, as the page calls it.
        assert!(sad_at(0.03).starts_with("about neutral"));
        assert!(sad_at(-0.04).starts_with("about neutral"));
        assert!(sad_at(-0.2).starts_with("negative"));
        assert!(!sad_at(-0.2).contains("no direction"));
    }
}
