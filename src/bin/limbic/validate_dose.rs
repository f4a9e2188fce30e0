//! The report's dose section: does *afraid* rise and *calm* fall as a number in the user's turn
//! makes the situation more dangerous (the paper's Tylenol experiment)? Ten paraphrases per
//! scenario (`dose` in data/experiments.json, which the page reads too), read over three spans:
//! the last prompt token (the assistant's header, where the paper reads), the user's words after
//! the number, and the first reply tokens.
//! And what the model knows, asked directly: p(Yes) to "Is … dangerous? Answer Yes or No."

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::emotion::{run_next, token_scores};
use crate::stats::spearman;
use crate::svg;
use crate::validate::write_svg;
use limbic::crossval::mean_ci;
use limbic::emotions::EmotionSet;
use limbic::{Error, HookSet, Result, Sampler, Session};

/// Reply tokens read for the "reply" span.
const REPLY_TOKENS: usize = 8;
const SPANS: [&str; 3] = ["last", "after", "reply"];

#[derive(Deserialize)]
struct Scenario {
    name: String,
    x: Vec<f64>,
    question: String,
    templates: Vec<String>,
}

#[derive(Deserialize)]
struct DoseFile {
    scenarios: Vec<Scenario>,
}

/// The experiments' texts, shared with the page (www/src/experiments/presets.ts reads it too).
pub const EXPERIMENTS: &str = "data/experiments.json";

/// data/experiments.json as validation reads it: the dose scenarios, and the steering check's
/// prompt (the page reads the rest).
#[derive(Deserialize)]
pub struct ExperimentsFile {
    dose: DoseFile,
    feel: Feel,
}

/// The paper's steering check: p(" emotion") after this prompt.
#[derive(Deserialize)]
pub struct Feel {
    pub prompt: String,
}

impl ExperimentsFile {
    pub fn load(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::Io(std::io::Error::other(format!("{}: {e}", file.display()))))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Io(std::io::Error::other(format!("{}: {e}", file.display()))))
    }

    /// The "How does he feel? He feels" prompt.
    pub fn feel_prompt(&self) -> &str {
        &self.feel.prompt
    }
}

fn fmt_x(x: f64) -> String {
    format!("{x}")
}

/// Mean readout `(n)` of rows `from..to` of `scores (T, n)`.
fn span_mean(scores: &[f32], n: usize, from: usize, to: usize) -> Vec<f64> {
    let mut m = vec![0.0f64; n];
    for row in scores.chunks_exact(n).take(to).skip(from) {
        m.iter_mut().zip(row).for_each(|(a, &v)| *a += v as f64);
    }
    m.iter().map(|v| v / (to - from).max(1) as f64).collect()
}

/// Readouts of one filled template over the three spans: `[span][emotion]`.
fn read_spans(
    engine: &mut Session,
    set: &EmotionSet,
    template: &str,
    x: f64,
) -> Result<Vec<Vec<f64>>> {
    let (before, after) = template
        .split_once("{X}")
        .ok_or_else(|| Error::Prompt(format!("{template:?} has no {{X}}")))?;
    let num = fmt_x(x);
    let user = format!("{before}{num}{after}");
    let ids = engine.encode_prompt(&engine.tokenizer.request(&user)?)?;
    // The user's words after the number: from the user's text up to the number on, to the end
    // of the user's text (its closing tag and the assistant's header follow it).
    let (start, upto_end) = limbic::chat::user_span(&engine.tokenizer, &ids, &[], &user)?;
    // The text up to the number as it reads there: as is, or after a transcript's space.
    let mut upto_num = None;
    for head in [format!("{before}{num}"), format!(" {before}{num}")] {
        let head = engine.tokenizer.encode(&head)?;
        if ids.get(start..start + head.len()) == Some(&head[..]) {
            upto_num = Some(start + head.len());
            break;
        }
    }
    let upto_num = match upto_num {
        Some(n) if upto_end < ids.len() => n,
        _ => {
            return Err(Error::Prompt(format!(
                "{user:?}: its tokens up to the number are not where the chat prompt has them"
            )))
        }
    };
    engine.set_hooks(HookSet::new())?;
    engine.start_now(ids.clone(), &Sampler::default(), REPLY_TOKENS)?;
    while engine.step_now()?.is_some() {}
    let all = engine.ids().to_vec();
    let n = set.names.len();
    let scores = token_scores(engine, set, &all, set.default_layer, &HookSet::new())?;
    let p = ids.len();
    Ok(vec![
        span_mean(&scores, n, p - 1, p),
        span_mean(
            &scores,
            n,
            upto_num.min(upto_end.saturating_sub(1)),
            upto_end,
        ),
        span_mean(&scores, n, p, all.len().max(p + 1)),
    ])
}

/// p(Yes) and p(No) as the reply's first token (with or without a leading space).
fn ask(engine: &mut Session, question: &str) -> Result<(f64, f64)> {
    let words: Vec<String> = ["Yes", " Yes", "No", " No"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let prompt = engine.tokenizer.request(question)?;
    let v = run_next(engine, &prompt, &HookSet::new(), &words, 0)?;
    let p = |w: &str| v["prob_of"][w].as_f64().unwrap_or(0.0);
    Ok((p("Yes") + p(" Yes"), p("No") + p(" No")))
}

pub fn dose(
    engine: &mut Session,
    set: &EmotionSet,
    file: &Path,
    out: &Path,
    md: &mut String,
) -> Result<Value> {
    let doses = ExperimentsFile::load(file)?.dose;
    let (afraid, calm) = (set.index("afraid")?, set.index("calm")?);
    let l = set.default_layer;
    let _ = write!(
        md,
        "\n## 4. Dose experiments\n\nTen paraphrases per scenario (`data/experiments.json`), each one user turn with a number X that makes it more dangerous as it grows; \
         the readout at layer {l} over three spans: the last prompt token (the assistant's header, where the paper reads), the user's words after the number, \
         and the first {REPLY_TOKENS} tokens of the greedy reply. Per paraphrase, Spearman ρ between X and the score; the table gives the mean ρ over the \
         paraphrases with a 95% bootstrap interval. The paper: afraid rises (ρ > 0) and calm falls. Last column: asked directly, the model's p(Yes) / (p(Yes) + p(No)) \
         at the smallest and largest X.\n\n| scenario | span | ρ afraid | ρ calm |\n|---|---|---|---|\n"
    );
    let mut results = Vec::new();
    let mut ask_rows = Vec::new();
    for sc in &doses.scenarios {
        // reads[template][x][span][emotion]
        let mut reads = Vec::new();
        for t in &sc.templates {
            reads.push(
                sc.x.iter()
                    .map(|&x| read_spans(engine, set, t, x))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        let mut spans = serde_json::Map::new();
        let mut curves = Vec::new();
        for (s, span) in SPANS.iter().enumerate() {
            let rho = |e: usize| -> Vec<f64> {
                reads
                    .iter()
                    .map(|r| spearman(&sc.x, &r.iter().map(|v| v[s][e]).collect::<Vec<_>>()))
                    .collect()
            };
            let (ra, rc) = (mean_ci(&rho(afraid), 7), mean_ci(&rho(calm), 8));
            let _ = writeln!(
                md,
                "| {} | {span} | {:+.2} [{:+.2}, {:+.2}] | {:+.2} [{:+.2}, {:+.2}] |",
                sc.name, ra.0, ra.1, ra.2, rc.0, rc.1, rc.2
            );
            let mean_at = |e: usize| -> Vec<f64> {
                (0..sc.x.len())
                    .map(|k| reads.iter().map(|r| r[k][s][e]).sum::<f64>() / reads.len() as f64)
                    .collect()
            };
            if s == 0 {
                curves = vec![mean_at(afraid), mean_at(calm)];
            }
            spans.insert(span.to_string(), json!({"rho_afraid": {"mean": ra.0, "lo": ra.1, "hi": ra.2}, "rho_calm": {"mean": rc.0, "lo": rc.1, "hi": rc.2}, "afraid": mean_at(afraid), "calm": mean_at(calm)}));
        }
        let asked: Vec<(f64, f64)> =
            sc.x.iter()
                .map(|&x| ask(engine, &sc.question.replace("{X}", &fmt_x(x))))
                .collect::<Result<_>>()?;
        let share: Vec<f64> = asked.iter().map(|(y, n)| y / (y + n).max(1e-12)).collect();
        ask_rows.push(format!(
            "| {} | {} | {:+.2} |",
            sc.question.replace("{X}", "X"),
            share
                .iter()
                .map(|p| format!("{p:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            spearman(&sc.x, &share)
        ));
        write_svg(
            out,
            &format!("dose-{}.svg", sc.name),
            svg::lines(
                &format!(
                    "{} (mean of {} paraphrases, last prompt token)",
                    sc.templates[0].replace("{X}", "X"),
                    sc.templates.len()
                ),
                "X",
                "score",
                &[
                    (
                        "afraid".into(),
                        sc.x.iter()
                            .copied()
                            .zip(curves[0].iter().copied())
                            .collect(),
                    ),
                    (
                        "calm".into(),
                        sc.x.iter()
                            .copied()
                            .zip(curves[1].iter().copied())
                            .collect(),
                    ),
                ],
                &[],
            ),
        )?;
        let last = &spans["last"];
        results.push(json!({
            "name": sc.name, "template": sc.templates[0], "templates": sc.templates, "x": sc.x,
            "afraid": last["afraid"], "calm": last["calm"],
            "spearman_afraid": last["rho_afraid"]["mean"], "spearman_calm": last["rho_calm"]["mean"],
            "spans": spans, "question": sc.question, "p_yes": asked.iter().map(|a| a.0).collect::<Vec<_>>(), "p_no": asked.iter().map(|a| a.1).collect::<Vec<_>>(), "yes_share": share,
        }));
    }
    md.push_str("\nAsked directly (p(Yes) / (p(Yes) + p(No)) at each X, and its Spearman ρ with X):\n\n| question | share of Yes | ρ |\n|---|---|---|\n");
    md.push_str(&ask_rows.join("\n"));
    md.push_str("\n\nPlots: ");
    md.push_str(
        &doses
            .scenarios
            .iter()
            .map(|s| format!("[{}](dose-{}.svg)", s.name, s.name))
            .collect::<Vec<_>>()
            .join(", "),
    );
    md.push_str("; the Tylenol one:\n\n![tylenol](dose-tylenol.svg)\n");
    Ok(json!(results))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file `limbic validate` reads (and the page too): every scenario has its number in
    /// each paraphrase and in the question, with doses rising.
    #[test]
    fn experiments_file_holds_the_dose_scenarios() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/experiments.json");
        let file: ExperimentsFile =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let names: Vec<&str> = file
            .dose
            .scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["tylenol", "fever", "ledge", "fasting", "car"]);
        for s in &file.dose.scenarios {
            assert!(
                s.question.contains("{X}") && s.templates.iter().all(|t| t.contains("{X}")),
                "{}",
                s.name
            );
            assert!(
                s.templates.len() == 10 && s.x.windows(2).all(|w| w[0] < w[1]),
                "{}",
                s.name
            );
        }
    }
}
