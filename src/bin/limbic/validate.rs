//! `limbic validate`: the paper's checks on our vectors, written as report.md, report.json and
//! SVG plots. Outside data (human valence/arousal norms, Jane Austen's sentences, VADER
//! sentiment) comes from scripts/validation_data.py and is never committed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::stats::{kmeans, pearson, read_norms};
use crate::svg;
use crate::validate_dose;
use crate::validate_readout;
use crate::validate_steering;
use crate::validate_text;
use limbic::corpus::Corpus;
use limbic::emotions::EmotionSet;
use limbic::extract::principal_components;
use limbic::io::{read_model, write_atomic};
use limbic::numerics::dot;
use limbic::{Error, Result, Session};

pub struct Args {
    pub out: PathBuf,
    pub corpus: PathBuf,
    pub extract_report: PathBuf,
    pub norms: Option<PathBuf>,
    pub austen: Option<PathBuf>,
    pub austen_sample: usize,
}

pub fn run(model: &Path, vectors: &Path, a: Args) -> Result<()> {
    let (bytes, sha) = read_model(model)?;
    let set = EmotionSet::load(vectors, Some(&sha))?;
    let mut engine = Session::cpu(&bytes)?;
    std::fs::create_dir_all(&a.out)?;
    let extract: Value = serde_json::from_str(&std::fs::read_to_string(&a.extract_report)?)
        .map_err(|e| {
            Error::Io(std::io::Error::other(format!(
                "{}: {e}",
                a.extract_report.display()
            )))
        })?;
    let mut md = String::new();
    let mut report = json!({ "model_sha256": sha, "default_layer": set.default_layer, "token_offset": set.token_offset });
    let section = |name: &str| eprintln!("validate: {name}");

    section("accuracy");
    report["accuracy"] = validate_readout::accuracy(&set, &extract, &a.out, &mut md)?;
    section("per-token readout");
    let corpus = Corpus::load(&a.corpus)?;
    report["per_token"] = validate_readout::per_token(&bytes, &corpus, &set, &mut md)?;
    section("geometry");
    report["geometry"] = geometry(&set, a.norms.as_deref(), &a.out, &mut md)?;
    section("logit lens");
    report["logit_lens"] = logit_lens(&mut engine, &set, &mut md)?;
    section("dose");
    report["dose"] = validate_dose::dose(
        &mut engine,
        &set,
        Path::new(validate_dose::EXPERIMENTS),
        &a.out,
        &mut md,
    )?;
    section("steering");
    report["steering"] = validate_steering::section(&set, &a.out, &mut md)?;
    if let Some(path) = &a.austen {
        section("austen");
        let f32_cpu = |c: &_| Ok(limbic::AnyBackend::Cpu(limbic::Cpu::new_f32(c)?));
        let mut fast = Session::from_reader(&mut std::io::Cursor::new(&bytes), f32_cpu)?;
        report["austen"] = validate_text::austen(&mut fast, &set, path, a.austen_sample, &mut md)?;
    } else {
        md += "\n## 6. Top-activating passages\n\nNot run: no `--austen` file (see `make validate`).\n";
    }
    md += &validate_text::differences(&report, &extract, &set);
    let body = format!("# limbic validation report\n\nModel sha256 `{sha}`; vectors `{}`; default layer {}; token offset {}.\n{md}", vectors.display(), set.default_layer, set.token_offset);
    write_atomic(&a.out.join("report.md"), body.as_bytes())?;
    write_atomic(
        &a.out.join("report.json"),
        serde_json::to_string_pretty(&report)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    eprintln!("wrote {}", a.out.join("report.md").display());
    Ok(())
}

pub fn write_svg(out: &Path, name: &str, svg: String) -> Result<()> {
    write_atomic(&out.join(name), svg.as_bytes())
}

/// The vectors at `layer` on their first three principal components `(n, 3)`, and every
/// component's share of their variance.
fn pc_scores(set: &EmotionSet, layer: usize) -> (Vec<[f64; 3]>, Vec<f64>) {
    let (d, n) = (set.d_model, set.names.len());
    let rows = &set.vectors[layer];
    let mean: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|e| rows[e * d + j] as f64).sum::<f64>() / n as f64)
        .collect();
    let mut cov = vec![0.0f64; d * d];
    for e in 0..n {
        let x: Vec<f64> = (0..d).map(|j| rows[e * d + j] as f64 - mean[j]).collect();
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += x[i] * x[j] / n as f64;
            }
        }
    }
    let (pcs, shares) = principal_components(&cov, d, 0.999);
    let proj = (0..n)
        .map(|e| {
            let mut p = [0.0; 3];
            for (k, pc) in pcs.iter().take(3).enumerate() {
                p[k] = (0..d)
                    .map(|j| (rows[e * d + j] as f64 - mean[j]) * pc[j] as f64)
                    .sum();
            }
            p
        })
        .collect();
    (proj, shares)
}

/// Per layer: the best |r| of PC1–3 with human valence and with arousal, with 95% intervals from
/// resampling the matched emotions (the components themselves held fixed).
fn geometry_by_layer(set: &EmotionSet, matched: &[(usize, f64, f64)]) -> Vec<Value> {
    (0..set.n_layer())
        .map(|l| {
            let (proj, _) = pc_scores(set, l);
            let best = |idx: &[usize], which: usize| -> f64 {
                let y: Vec<f64> = idx.iter().map(|&i| if which == 0 { matched[i].1 } else { matched[i].2 }).collect();
                (0..3)
                    .map(|k| pearson(&idx.iter().map(|&i| proj[matched[i].0][k]).collect::<Vec<_>>(), &y).abs())
                    .fold(0.0, f64::max)
            };
            let all: Vec<usize> = (0..matched.len()).collect();
            let mut rng = limbic::crossval::Rng(l as u64 + 99);
            let mut reps: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..500 {
                let idx: Vec<usize> = (0..matched.len()).map(|_| rng.below(matched.len())).collect();
                reps[0].push(best(&idx, 0));
                reps[1].push(best(&idx, 1));
            }
            reps.iter_mut().for_each(|r| r.sort_by(f64::total_cmp));
            json!({"layer": l, "valence": best(&all, 0), "valence_ci": [reps[0][12], reps[0][487]], "arousal": best(&all, 1), "arousal_ci": [reps[1][12], reps[1][487]],
                   "valence_all": crate::validate_valence::readout_r(set, matched, l), "opposites": opposites(set, l)})
        })
        .collect()
}

/// The opposites the issue names.
const OPPOSITES: [(&str, &str); 2] = [("afraid", "calm"), ("happy", "sad")];

/// Per pair in [`OPPOSITES`] (both in the set): the cosine at `layer` of the readout's vectors
/// and of the means (what steering adds), so the report shows whether any layer has them opposed.
fn opposites(set: &EmotionSet, layer: usize) -> Vec<Value> {
    let cos = |a: &[f32], b: &[f32]| {
        let (ab, aa, bb) = (dot(a, b), dot(a, a), dot(b, b));
        f64::from(ab) / (f64::from(aa) * f64::from(bb)).sqrt().max(1e-30)
    };
    OPPOSITES
        .iter()
        .filter_map(|(x, y)| Some((*x, *y, set.index(x).ok()?, set.index(y).ok()?)))
        .map(|(x, y, i, j)| {
            json!({"pair": format!("{x} – {y}"),
                   "readout": cos(set.vector(layer, i), set.vector(layer, j)),
                   "means": cos(&set.mean(layer, i), &set.mean(layer, j))})
        })
        .collect()
}

/// Per named opposite, the layers at which its cosine is below zero, for the readout's vectors
/// and for the means, from [`geometry_by_layer`]'s rows.
pub fn opposed_layers(by_layer: &Value) -> String {
    let rows = by_layer.as_array().map_or(&[][..], Vec::as_slice);
    let mut out = Vec::new();
    for (k, (x, y)) in OPPOSITES.iter().enumerate() {
        let said: Vec<String> = ["readout", "means"]
            .iter()
            .map(|which| {
                let at: Vec<(u64, f64)> = rows
                    .iter()
                    .filter_map(|r| {
                        Some((r["layer"].as_u64()?, r["opposites"][k][which].as_f64()?))
                    })
                    .collect();
                let below: Vec<String> = at
                    .iter()
                    .filter(|a| a.1 < 0.0)
                    .map(|a| a.0.to_string())
                    .collect();
                let low = at.iter().min_by(|a, b| a.1.total_cmp(&b.1));
                let name = if *which == "readout" {
                    "the readout's vectors"
                } else {
                    "the means"
                };
                match (below.is_empty(), low) {
                    (_, None) => format!("{name}: not measured"),
                    (true, Some(l)) => {
                        format!("{name} at no layer (lowest {:+.2}, layer {})", l.1, l.0)
                    }
                    (false, Some(l)) => format!(
                        "{name} at layers {} (lowest {:+.2}, layer {})",
                        below.join(", "),
                        l.1,
                        l.0
                    ),
                }
            })
            .collect();
        out.push(format!(
            "*{x}* and *{y}* point apart (cosine below zero) for {}",
            said.join("; for ")
        ));
    }
    format!("{}.", out.join(". "))
}

fn geometry(set: &EmotionSet, norms: Option<&Path>, out: &Path, md: &mut String) -> Result<Value> {
    let (l, d, n) = (set.default_layer, set.d_model, set.names.len());
    let rows = &set.vectors[l];
    let (proj, shares) = pc_scores(set, l);
    let sim: Vec<f32> = (0..n * n)
        .map(|ij| limbic::numerics::dot(set.vector(l, ij / n), set.vector(l, ij % n)))
        .collect();
    let clusters = kmeans(rows, d, 10);
    let names_of = |c: usize| -> Vec<String> {
        (0..n)
            .filter(|&e| clusters[e] == c)
            .map(|e| set.names[e].clone())
            .collect()
    };
    let cluster_list: Vec<Value> = (0..10)
        .map(|c| {
            let members = names_of(c);
            // Name a cluster by the member most similar on average to the others.
            let idx: Vec<usize> = (0..n).filter(|&e| clusters[e] == c).collect();
            let name = idx
                .iter()
                .max_by(|&&a, &&b| {
                    let m = |x: usize| idx.iter().map(|&y| sim[x * n + y]).sum::<f32>();
                    m(a).total_cmp(&m(b))
                })
                .map(|&e| set.names[e].clone())
                .unwrap_or_default();
            json!({"name": name, "members": members})
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&e| (clusters[e], set.names[e].clone()));
    write_svg(
        out,
        "similarity.svg",
        svg::heatmap(
            &format!("Cosine similarity of the 171 vectors, layer {l}, ordered by k-means cluster"),
            &sim,
            n,
            &order,
            &set.names,
        ),
    )?;
    let points: Vec<(f64, f64, String, usize)> = (0..n)
        .map(|e| (proj[e][0], proj[e][1], set.names[e].clone(), clusters[e]))
        .collect();
    write_svg(
        out,
        "pca.svg",
        svg::scatter(
            &format!("Emotion vectors at layer {l}: PC1 × PC2, coloured by cluster"),
            "PC1",
            "PC2",
            &points,
        ),
    )?;

    let mut corr = json!(null);
    let _ = write!(md, "\n## 2. Geometry\n\n![pca](pca.svg)\n\nPCA of the {n} unit vectors at layer {l}: PC1–PC3 explain {:.1}%, {:.1}%, {:.1}% of their variance.\n",
        100.0 * shares.first().unwrap_or(&0.0), 100.0 * shares.get(1).unwrap_or(&0.0), 100.0 * shares.get(2).unwrap_or(&0.0));
    if let Some(path) = norms {
        let norms = read_norms(path)?;
        let matched: Vec<(usize, f64, f64)> = norms
            .iter()
            .filter_map(|(name, v, a)| {
                set.names
                    .iter()
                    .position(|x| x == name)
                    .map(|e| (e, *v, *a))
            })
            .collect();
        let val: Vec<f64> = matched.iter().map(|m| m.1).collect();
        let aro: Vec<f64> = matched.iter().map(|m| m.2).collect();
        let pc = |k: usize| -> Vec<f64> { matched.iter().map(|m| proj[m.0][k]).collect() };
        let r: Vec<[f64; 2]> = (0..3)
            .map(|k| [pearson(&pc(k), &val), pearson(&pc(k), &aro)])
            .collect();
        let by_layer = geometry_by_layer(set, &matched);
        corr = json!({"matched": matched.len(), "pc_valence_r": r.iter().map(|x| x[0]).collect::<Vec<_>>(), "pc_arousal_r": r.iter().map(|x| x[1]).collect::<Vec<_>>(), "by_layer": by_layer});
        let _ = write!(md, "\nAgainst the Warriner, Kuperman & Brysbaert (2013) norms ({} of {n} emotion words matched): \
            Pearson r with valence PC1 {:+.2}, PC2 {:+.2}, PC3 {:+.2}; with arousal PC1 {:+.2}, PC2 {:+.2}, PC3 {:+.2} \
            (the paper: |r| = 0.81 for valence on PC1 and 0.66 for arousal). A PC's sign is arbitrary, so |r| is what compares.\n",
            matched.len(), r[0][0], r[1][0], r[2][0], r[0][1], r[1][1], r[2][1]);
        // The columns are the pairs each row measured (those in the set).
        let pairs: Vec<String> = corr["by_layer"][0]["opposites"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!(" cos({}) |", p["pair"].as_str().unwrap_or("")))
            .collect();
        let _ = write!(md, "\nAt every layer, the best |r| among PC1–PC3 (95% interval from resampling the matched emotions, components held fixed), and the named opposites' \
            cosines there, the readout's vectors / the means (what steering adds; intervals at the readout layer in section 1, **Pairs**): does any layer hold them opposed? \
            The last column: valence read from all directions of the readout's vectors at once (r out of fold, below).\n\n| layer | valence | arousal |{} valence, all directions |\n|---|---|---|{}---|\n",
            pairs.concat(), "---|".repeat(pairs.len()));
        for row in corr["by_layer"].as_array().into_iter().flatten() {
            let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
            let cosines: String = row["opposites"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| format!(" {:+.2} / {:+.2} |", f(&p["readout"]), f(&p["means"])))
                .collect();
            let _ = writeln!(
                md,
                "| {} | {:.2} [{:.2}, {:.2}] | {:.2} [{:.2}, {:.2}] |{cosines} {:.2} |",
                row["layer"],
                f(&row["valence"]),
                f(&row["valence_ci"][0]),
                f(&row["valence_ci"][1]),
                f(&row["arousal"]),
                f(&row["arousal_ci"][0]),
                f(&row["arousal_ci"][1]),
                f(&row["valence_all"])
            );
        }
        let _ = writeln!(md, "\n{}", opposed_layers(&corr["by_layer"]));
        let axis = crate::validate_valence::axis(set, &matched, l);
        let _ = write!(md, "\n{}", crate::validate_valence::said(&axis));
        corr["axis"] = axis;
    } else {
        md.push_str("\nHuman norms not given (`--norms`), so no valence/arousal correlation.\n");
    }
    md.push_str("\n![similarity](similarity.svg)\n\nk-means (k = 10, cosine) clusters, each named by its most central member:\n\n");
    for c in &cluster_list {
        let _ = writeln!(
            md,
            "- **{}**: {}",
            c["name"].as_str().unwrap_or(""),
            c["members"]
                .as_array()
                .map(|m| m
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        );
    }
    Ok(
        json!({"layer": l, "pc_shares": shares.iter().take(10).collect::<Vec<_>>(), "pc123": proj, "correlations": corr, "clusters": cluster_list}),
    )
}

fn logit_lens(engine: &mut Session, set: &EmotionSet, md: &mut String) -> Result<Value> {
    let l = set.default_layer;
    let mut all = serde_json::Map::new();
    let mut own_ranks = Vec::new();
    md.push_str(&format!("\n## 3. Logit lens\n\nTokens each emotion's mean (the paper's vector, what steering adds; layer {l}) promotes most through the unembedding, `E·(γ⊙m̂)` (the paper: *desperate* → \"desperate, urgent, bankrupt\").\n\n| emotion | top tokens |\n|---|---|\n"));
    for (e, name) in set.names.iter().enumerate() {
        let logits = engine.model().logit_lens(&set.mean(l, e))?;
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        let top: Vec<String> = order
            .iter()
            .take(8)
            .map(|&i| engine.tokenizer.decode(&[i as u32]))
            .collect::<Result<_>>()?;
        let own = engine
            .tokenizer
            .encode(&format!(" {name}"))?
            .first()
            .map(|&t| {
                order
                    .iter()
                    .position(|&i| i == t as usize)
                    .unwrap_or(usize::MAX)
            });
        own_ranks.push(own.unwrap_or(usize::MAX));
        if [
            "happy",
            "sad",
            "afraid",
            "angry",
            "calm",
            "desperate",
            "proud",
            "disgusted",
            "grateful",
            "lonely",
            "nostalgic",
            "bored",
        ]
        .contains(&name.as_str())
        {
            let _ = writeln!(
                md,
                "| {name} | {} |",
                top.iter()
                    .map(|t| format!("`{}`", t.trim().replace('|', "\\|")))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        all.insert(name.clone(), json!(top));
    }
    let in_top100 = own_ranks.iter().filter(|&&r| r < 100).count();
    let _ = write!(md, "\nAll 171 are in report.json. The first token of the emotion's own word (\" name\") is among the top 100 of its vector's logit lens for {in_top100} of {} emotions.\n", set.names.len());
    Ok(
        json!({"top_tokens": Value::Object(all), "own_word_rank": own_ranks, "own_word_in_top100": in_top100}),
    )
}

#[cfg(test)]
mod tests {
    use super::opposed_layers;
    use serde_json::json;

    #[test]
    fn says_at_which_layers_each_opposite_points_apart() {
        let row = |l: u64, a: f64, b: f64| json!({"layer": l, "opposites": [{"readout": a, "means": 0.3}, {"readout": b, "means": 0.2 - l as f64 * 0.3}]});
        let text = opposed_layers(&json!([
            row(0, -0.05, 0.1),
            row(1, 0.02, 0.04),
            row(2, -0.07, 0.03)
        ]));
        assert_eq!(
            text,
            "*afraid* and *calm* point apart (cosine below zero) for the readout's vectors at layers 0, 2 (lowest -0.07, layer 2); \
             for the means at no layer (lowest +0.30, layer 0). \
             *happy* and *sad* point apart (cosine below zero) for the readout's vectors at no layer (lowest +0.03, layer 2); \
             for the means at layers 1, 2 (lowest -0.40, layer 2)."
        );
    }
}
