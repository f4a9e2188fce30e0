//! The report's readout sections: story-level accuracy (the cross-validated choices, the test
//! split with intervals, discriminant vs fitted and plain means, learning curve, topic confound) from the report
//! `limbic extract` wrote, and the per-token readout (raw vs smoothed, and the intensity's
//! separation of emotional from neutral tokens) measured here on the test split.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::svg;
use crate::validate::write_svg;
use limbic::calibrate::{
    chat_template, neutral_texts, scores_at, token_accuracy, window_accuracy, WINDOWS,
};
use limbic::corpus::Corpus;
use limbic::crossval::mean_ci;
use limbic::emotions::EmotionSet;
use limbic::readout::{auc, smooth};
use limbic::Result;

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
        .unwrap_or_default()
}

fn ci(v: &Value) -> String {
    let f = |k: &str| 100.0 * v[k].as_f64().unwrap_or(f64::NAN);
    format!("**{:.1}%** [{:.1}, {:.1}]", f("mean"), f("lo"), f("hi"))
}

/// Section 1 from the extract report `ex`.
pub fn accuracy(set: &EmotionSet, ex: &Value, out: &Path, md: &mut String) -> Result<Value> {
    let n = set.names.len() as f64;
    let (l, t) = (set.default_layer, &ex["test"]);
    let o = ex["cv"]["offsets"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .position(|x| x.as_u64() == Some(set.token_offset as u64))
        })
        .unwrap_or(0);
    let (cv1, cv5) = (
        nums(&ex["cv"]["fit"]["top1"][o]),
        nums(&ex["cv"]["fit"]["top5"][o]),
    );
    let (t1, t5) = (nums(&t["per_layer"]["top1"]), nums(&t["per_layer"]["top5"]));
    let pts = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(l, &y)| (l as f64, y))
            .collect::<Vec<_>>()
    };
    write_svg(
        out,
        "accuracy.svg",
        svg::lines(
            &format!(
                "Accuracy among {} emotions per layer (offset {})",
                set.names.len(),
                set.token_offset
            ),
            "layer",
            "accuracy",
            &[
                ("test top-5".into(), pts(&t5)),
                ("test top-1".into(), pts(&t1)),
                ("cross-validated top-5".into(), pts(&cv5)),
                ("cross-validated top-1".into(), pts(&cv1)),
            ],
            &[
                ("chance top-5".into(), 5.0 / n),
                ("chance top-1".into(), 1.0 / n),
            ],
        ),
    )?;
    let (fit, means, plain) = (
        &t["variants"]["fit"],
        &t["variants"]["means"],
        &t["variants"]["plain"],
    );
    let _ = write!(
        md,
        "\n## 1. Accuracy\n\n![accuracy](accuracy.svg)\n\n**How the layer and offset were chosen.** {} stories outside the test split, in {} folds (by a hash of the id); \
         vectors fitted on four folds rank the fifth fold's stories, for every layer and token offset {:?}. \
         The vectors are the emotion effects of a least-squares emotion + topic + person fit (the means, the paper's vectors with the topics fitted out), read along their \
         discriminant directions: each solved against the stories' within-emotion covariance, shrunk toward the identity by λ (λ = 1 is the means themselves), so directions in \
         which stories of one emotion vary among themselves count less, and scored as the linear discriminant scores: `w·v̂·(x − centre) + b`, with weight `w` and bias `b` per emotion \
         such that the score is the story's log-likelihood under a Gaussian around the emotion's mean with that covariance (up to one scale and a constant shared by all emotions; \
         the means at λ = 1 are scored by `(x − centre)·v̂` alone, as the paper ranks). The best cross-validated top-1 (at λ = {}) is layer **{l}** ({:.0}% of depth), offset **{}**; then λ = **{}** \
         by cross-validation there ({}): {:.1}% top-1, {:.1}% top-5.\n\n\
         **Test split** ({} stories, 3 per emotion, fixed by a hash of the id when the corpus was written and never used for a choice), \
         at layer {l}, ranked among all {} emotions by those scores of the story's mean activation (95% bootstrap intervals):\n\n\
         | vectors | top-1 | top-5 |\n|---|---|---|\n| discriminant of the fitted means (shipped for the readout) | {} | {} |\n| fitted means (what steering adds) | {} | {} |\n\
         | plain means (the paper's) | {} | {} |\n| chance | {:.2}% | {:.2}% |\n",
        ex["pool_stories"], ex["cv"]["folds"], limbic::extract::OFFSETS, ex["cv"]["lambda_prior"], 100.0 * l as f64 / set.n_layer() as f64, set.token_offset,
        ex["cv"]["chosen"]["lambda"],
        ex["cv"]["lambdas"].as_array().into_iter().flatten().map(|x| format!("λ {}: {:.1}%", x["lambda"], 100.0 * x["top1"].as_f64().unwrap_or(0.0))).collect::<Vec<_>>().join(", "),
        100.0 * ex["cv"]["chosen"]["top1"].as_f64().unwrap_or(0.0), 100.0 * ex["cv"]["chosen"]["top5"].as_f64().unwrap_or(0.0),
        t["test_stories"], set.names.len(), ci(&fit["top1"]), ci(&fit["top5"]), ci(&means["top1"]), ci(&means["top5"]), ci(&plain["top1"]), ci(&plain["top5"]), 100.0 / n, 500.0 / n
    );
    let row = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{:.0}", 100.0 * x))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let _ = writeln!(
        md,
        "\n| layer | {} |\n|---|{}\n| CV top-1 % | {} |\n| test top-1 % | {} |\n| test top-5 % | {} |",
        (0..t1.len()).map(|l| l.to_string()).collect::<Vec<_>>().join(" | "),
        "---|".repeat(t1.len()),
        row(&cv1),
        row(&t1),
        row(&t5)
    );
    md.push_str("\n**Learning curve** (test split, the chosen layer and offset; stories per emotion drawn from the pool, mean of 3 draws): does more data still help?\n\n| stories per emotion | top-1 | top-5 |\n|---|---|---|\n");
    for p in t["learning_curve"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            md,
            "| {} | {:.1}% | {:.1}% |",
            p["stories_per_emotion"],
            100.0 * p["top1"].as_f64().unwrap_or(0.0),
            100.0 * p["top5"].as_f64().unwrap_or(0.0)
        );
    }
    // The last point: every pool story (the shipped vectors, as in the table above).
    let _ = writeln!(
        md,
        "| all {:.1} (every pool story) | {:.1}% | {:.1}% |",
        ex["pool_stories"].as_f64().unwrap_or(0.0) / set.names.len() as f64,
        100.0 * fit["top1"]["mean"].as_f64().unwrap_or(0.0),
        100.0 * fit["top5"]["mean"].as_f64().unwrap_or(0.0)
    );
    let slope = |v: &Value| {
        format!(
            "{:+.4} [{:+.4}, {:+.4}]",
            v["slope"].as_f64().unwrap_or(0.0),
            v["slope_lo"].as_f64().unwrap_or(0.0),
            v["slope_hi"].as_f64().unwrap_or(0.0)
        )
    };
    let _ = write!(
        md,
        "\n**Topic confound.** The cosine between two emotions' vectors against the number of topics their training stories share \
         (least-squares slope per shared topic, 95% interval from resampling emotions): discriminant {}, fitted means {}, plain means {}.\n\n\
         | shared topics | pairs | mean cos (discriminant) | mean cos (fitted means) | mean cos (plain) |\n|---|---|---|---|---|\n",
        slope(&fit["confound"]),
        slope(&means["confound"]),
        slope(&plain["confound"])
    );
    let by = |v: &Value| {
        v["confound"]["by_shared_topics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    for ((a, m), b) in by(fit).iter().zip(by(means)).zip(by(plain)) {
        let _ = writeln!(
            md,
            "| {} | {} | {:+.3} | {:+.3} | {:+.3} |",
            a["shared"],
            a["pairs"],
            a["mean_cos"].as_f64().unwrap_or(0.0),
            m["mean_cos"].as_f64().unwrap_or(0.0),
            b["mean_cos"].as_f64().unwrap_or(0.0)
        );
    }
    let g = &t["grid_only"];
    if g.is_object() {
        let v = |x: &Value, k: &str| x["confound"][k].as_f64().unwrap_or(f64::NAN);
        let (lo, hi) = (v(g, "slope_lo"), v(g, "slope_hi"));
        let full = v(fit, "slope");
        let reading = if lo <= 0.0 && 0.0 <= hi {
            "within noise: the full vectors' slope is the content of the topics the emotions share"
        } else if lo <= full && full <= hi {
            "as large as the full vectors': the slope is not the shared topics' content but which emotions v1's writers gave the same topics (kindred emotions, kindred situations)"
        } else {
            "smaller than the full vectors' but not zero: part of the slope is the shared topics' content, part which emotions v1's writers gave the same topics"
        };
        let _ = writeln!(
            md,
            "\n**The confound's control.** The readout's vectors fitted on the pool's {} grid stories alone (every emotion written on the same {} topics, \
             so none of v1's unevenly shared topics is in them; test top-1 {:.1}%, top-5 {:.1}%), against the same shared-topic counts: slope {}, {reading}.",
            g["stories"],
            g["topics"],
            100.0 * g["top1"].as_f64().unwrap_or(0.0),
            100.0 * g["top5"].as_f64().unwrap_or(0.0),
            slope(&g["confound"])
        );
        if g["beyond_control"].is_object() {
            let b = &g["beyond_control"];
            let (lo, hi) = (
                b["slope_lo"].as_f64().unwrap_or(f64::NAN),
                b["slope_hi"].as_f64().unwrap_or(f64::NAN),
            );
            // The slopes over the range of shared-topic counts the pairs have.
            let counts: Vec<f64> = b["by_shared_topics"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x["shared"].as_f64()).collect())
                .unwrap_or_default();
            let span = counts.iter().copied().fold(f64::NAN, f64::max)
                - counts.iter().copied().fold(f64::NAN, f64::min);
            let over = |v: &Value| v["slope"].as_f64().unwrap_or(f64::NAN) * span;
            let reading = if lo <= 0.0 && 0.0 <= hi {
                "within noise: sharing v1's topics pulls no two emotions' readout vectors together beyond what they share without them".to_string()
            } else {
                format!(
                    "not within noise but small: across the {span:.0} shared topics that separate the fewest from the most, it adds {:+.3} to a pair's cosine, \
                     where the readout's own slope spans {:+.3}",
                    over(b),
                    over(&fit["confound"])
                )
            };
            let _ = writeln!(
                md,
                "\nWhat v1's stories add to each pair's cosine (the readout's cosine minus the control's) against the shared topics: slope {}, {reading}.",
                slope(b)
            );
        }
    }
    md.push_str(
        "\n**Pairs** (cosine at the readout layer; 95% basic-bootstrap intervals from resampling each emotion's pool stories, 200 replicates, \
         the topic and person effects and the within-emotion covariance held at their fit on the whole pool. Noise in two estimated vectors \
         pulls their cosine toward zero, so an interval can lie further from zero than the estimate):\n\n\
         | pair | discriminant | fitted means | plain means |\n|---|---|---|---|\n",
    );
    let pairs = |v: &Value| v["pairs"].as_array().cloned().unwrap_or_default();
    let cell = |p: &Value| {
        let c = format!("{:+.2}", p["cos"].as_f64().unwrap_or(f64::NAN));
        match (p["lo"].as_f64(), p["hi"].as_f64()) {
            (Some(lo), Some(hi)) => format!("{c} [{lo:+.2}, {hi:+.2}]"),
            _ => c,
        }
    };
    for ((a, m), b) in pairs(fit).iter().zip(pairs(means)).zip(pairs(plain)) {
        let _ = writeln!(
            md,
            "| {} – {} | {} | {} | {} |",
            a["a"].as_str().unwrap_or(""),
            a["b"].as_str().unwrap_or(""),
            cell(a),
            cell(&m),
            cell(&b)
        );
    }
    let per = fit["per_emotion"].as_array().cloned().unwrap_or_default();
    let missed: Vec<&str> = per
        .iter()
        .filter(|e| e["top5"] == 0)
        .filter_map(|e| e["emotion"].as_str())
        .collect();
    let full: usize = per.iter().filter(|e| e["top5"] == e["stories"]).count();
    let none = match missed.len() {
        0 => "every emotion has at least one".to_string(),
        k => format!("{k} have none: {}", missed.join(", ")),
    };
    let _ = writeln!(
        md,
        "\n**Per emotion** (test, top-5): {full} of {} emotions have every test story in the top 5; {none}. All in report.json.",
        per.len(),
    );
    Ok(json!({
        "offset": set.token_offset, "top1": t1, "top5": t5, "cv_top1": cv1, "cv_top5": cv5,
        "chance_top1": 1.0 / n, "chance_top5": 5.0 / n,
        "test": {"fit": {"top1": fit["top1"], "top5": fit["top5"]}, "means": {"top1": means["top1"], "top5": means["top5"]}, "plain": {"top1": plain["top1"], "top5": plain["top5"]}},
        "learning_curve": t["learning_curve"], "confound": {"fit": fit["confound"], "means": means["confound"], "plain": plain["confound"]},
        "pairs": {"fit": fit["pairs"], "means": means["pairs"], "plain": plain["pairs"]}, "per_emotion": fit["per_emotion"],
        "cv": ex["cv"], "window_choice": ex["window"],
    }))
}

/// Section 1b: per-token accuracy of the raw and smoothed readout on the test split, and how
/// well the intensity separates its tokens from held-out neutral text.
pub fn per_token(
    bytes: &[u8],
    corpus: &Corpus,
    set: &EmotionSet,
    md: &mut String,
) -> Result<Value> {
    let (l, n) = (set.default_layer, set.names.len());
    let test: Vec<(usize, String)> = corpus
        .stories
        .iter()
        .filter(|s| s.is_test())
        .map(|s| (corpus.emotion_of(s), s.text.clone()))
        .collect();
    let neutral = neutral_texts(corpus, true, &chat_template(bytes)?);
    let texts: Vec<String> = test
        .iter()
        .map(|t| t.1.clone())
        .chain(neutral.iter().cloned())
        .collect();
    let scores = scores_at(bytes, &texts, set, l, &Default::default(), &|| {})?;
    let (story_scores, neutral_scores) = scores.split_at(test.len());
    let labelled: Vec<(usize, Vec<f32>)> = test
        .iter()
        .map(|t| t.0)
        .zip(story_scores.iter().cloned())
        .collect();
    let acc = window_accuracy(&labelled, n);
    // Per story (top-5 share of its tokens), for intervals that resample stories.
    let per_story = |w: usize| -> Vec<f64> {
        labelled
            .iter()
            .map(|x| token_accuracy(std::slice::from_ref(x), n, w).1)
            .collect()
    };
    let w = set.default_window;
    let wi = WINDOWS.iter().position(|&x| x == w).unwrap_or(0);
    let (raw_ci, smooth_ci) = (mean_ci(&per_story(1), 3), mean_ci(&per_story(w), 4));
    let intensity = |rows: &[Vec<f32>], window: usize| -> Vec<f32> {
        let Some(c) = set.calibration(l, window) else {
            return Vec::new();
        };
        rows.iter()
            .flat_map(|r| {
                smooth(r, n, window)
                    .chunks_exact(n)
                    .map(|row| c.intensity(row))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let top_raw = |rows: &[Vec<f32>]| -> Vec<f32> {
        rows.iter()
            .flat_map(|r| {
                r.chunks_exact(n)
                    .map(|row| row.iter().copied().fold(f32::MIN, f32::max))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let auc_raw = auc(&top_raw(story_scores), &top_raw(neutral_scores));
    let auc_1 = auc(&intensity(story_scores, 1), &intensity(neutral_scores, 1));
    let (story_z, neutral_z) = (intensity(story_scores, w), intensity(neutral_scores, w));
    let auc_w = auc(&story_z, &neutral_z);
    // The held-out neutral texts start with the scenes: stories' register, told flatly.
    let scenes = corpus.scenes.iter().filter(|s| s.is_held_out()).count();
    let scenes_z = intensity(&neutral_scores[..scenes.min(neutral_scores.len())], w);
    let auc_scenes = auc(&story_z, &scenes_z);
    let floor = set.intensity_floor.get(wi).copied().unwrap_or(2.0);
    let lit = |z: &[f32]| z.iter().filter(|&&z| z > floor).count() as f64 / z.len().max(1) as f64;
    let (neutral_lit, story_lit) = (lit(&neutral_z), lit(&story_z));
    let _ = write!(
        md,
        "\n## 1b. Per-token readout\n\nThe page ranks emotions per token by the running mean of the raw scores over the last {w} tokens \
         (the window chosen on pool stories by per-token top-1, {:?} tried; raw stays available), and colours by an intensity: how far the smoothed scores \
         lie along the direction in them that tells emotional stories from neutral text (a discriminant fitted on {} pool stories, two per emotion, against half of the neutral scenes and dialogues, \
         their covariance shrunk as the readout's vectors are, λ = 0.3), in standard deviations of that neutral text; the other half of the neutral texts is held out here. \
         On the {} test stories at layer {l} (every token after the first):\n\n| readout | top-1 | top-5 |\n|---|---|---|\n| raw (one token) | {:.1}% | {:.1}% [{:.1}, {:.1}] |\n| running mean over {w} | {:.1}% | {:.1}% [{:.1}, {:.1}] |\n\n\
         Top-5 improves {:.2}× (intervals resample stories). Emotional (test) vs held-out neutral tokens ({} neutral texts), area under the ROC curve: \
         top raw score {:.2}; intensity of one token {:.2}; intensity over {w} tokens **{:.2}** (against the {scenes} held-out neutral scenes alone, stories told flatly in the stories' register: {:.2}). \
         Above the colour's floor ({floor:.2}: 95% of the calibration half's neutral tokens stay below it), {:.0}% of held-out neutral tokens and {:.0}% of test-story tokens are coloured.\n",
        WINDOWS, limbic::calibrate::intensity_stories(corpus).len(), test.len(), 100.0 * acc[0].0, 100.0 * acc[0].1, 100.0 * raw_ci.1, 100.0 * raw_ci.2,
        100.0 * acc[wi].0, 100.0 * acc[wi].1, 100.0 * smooth_ci.1, 100.0 * smooth_ci.2,
        acc[wi].1 / acc[0].1.max(1e-9), neutral.len(), auc_raw, auc_1, auc_w, auc_scenes, 100.0 * neutral_lit, 100.0 * story_lit
    );
    md.push_str("\n| window | top-1 % | top-5 % |\n|---|---|---|\n");
    for (k, a) in acc.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {:.1} | {:.1} |",
            WINDOWS[k],
            100.0 * a.0,
            100.0 * a.1
        );
    }
    Ok(json!({
        "layer": l, "window": w, "windows": WINDOWS, "top1": acc.iter().map(|a| a.0).collect::<Vec<_>>(), "top5": acc.iter().map(|a| a.1).collect::<Vec<_>>(),
        "top5_raw_ci": [raw_ci.1, raw_ci.2], "top5_smoothed_ci": [smooth_ci.1, smooth_ci.2],
        "auc_top_raw": auc_raw, "auc_intensity_1": auc_1, "auc_intensity": auc_w, "auc_intensity_scenes": auc_scenes, "floor": floor,
        "neutral_tokens_lit": neutral_lit, "story_tokens_lit": story_lit, "neutral_texts": neutral.len(),
    }))
}
