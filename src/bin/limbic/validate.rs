//! `limbic validate`: the paper's checks on our vectors, written as report.md, report.json and
//! SVG plots. Outside data (human valence/arousal norms, Jane Austen's sentences, VADER
//! sentiment) comes from scripts/validation_data.py and is never committed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::emotion::token_scores;
use crate::stats::{kmeans, pearson, read_norms, spearman};
use crate::svg;
use crate::validate_text;
use limbic::calibrate::read_model;
use limbic::emotions::{write_atomic, EmotionSet};
use limbic::extract::{principal_components, OFFSETS};
use limbic::tokenizer::chat_prompt;
use limbic::{Cpu, Engine, Error, HookSet, ModelFile, Result};

pub struct Args {
    pub out: PathBuf,
    pub extract_report: PathBuf,
    pub norms: Option<PathBuf>,
    pub austen: Option<PathBuf>,
    pub austen_sample: usize,
}

const DOSES: [(&str, &str, &[f64]); 5] = [
    (
        "tylenol",
        "I just took {X} mg of Tylenol for my back pain.",
        &[500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0],
    ),
    (
        "fever",
        "My daughter has had a fever of {X} degrees Fahrenheit since this morning.",
        &[99.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0],
    ),
    (
        "ledge",
        "I am standing on a ledge {X} meters above the ground.",
        &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0],
    ),
    (
        "fasting",
        "I have not eaten anything for {X} days.",
        &[1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 14.0],
    ),
    (
        "car",
        "A car is coming straight at me at {X} miles per hour.",
        &[5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0],
    ),
];

pub fn run(model: &Path, vectors: &Path, a: Args) -> Result<()> {
    let (bytes, sha) = read_model(model)?;
    let set = EmotionSet::load(vectors, Some(&sha))?;
    let mut engine = limbic::load_cpu(&bytes)?;
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
    report["accuracy"] = accuracy(&set, &extract, &a.out, &mut md)?;
    section("geometry");
    report["geometry"] = geometry(&set, a.norms.as_deref(), &a.out, &mut md)?;
    section("logit lens");
    report["logit_lens"] = logit_lens(&engine, &set, &mut md)?;
    section("dose");
    report["dose"] = dose(&mut engine, &set, &a.out, &mut md)?;
    section("steering");
    report["steering"] = validate_text::steering(&mut engine, &set, &a.out, &mut md)?;
    if let Some(path) = &a.austen {
        section("austen");
        let file = ModelFile::from_bytes(&bytes)?;
        let backend = Cpu::new_f32(&file.config)?;
        let mut fast = Engine::new(file, backend)?;
        report["austen"] = validate_text::austen(&mut fast, &set, path, a.austen_sample, &mut md)?;
    } else {
        md += "\n## 6. Top-activating passages\n\nNot run: no `--austen` file (see `make validate`).\n";
    }
    md += &validate_text::differences(&report, &set);
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

fn accuracy(set: &EmotionSet, ex: &Value, out: &Path, md: &mut String) -> Result<Value> {
    let o = OFFSETS
        .iter()
        .position(|&x| x == set.token_offset)
        .unwrap_or(0);
    let row = |k: &str, o: usize| -> Vec<f64> {
        ex[k][o]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
            .unwrap_or_default()
    };
    let (top1, top5) = (row("dev_top1", o), row("dev_top5", o));
    let n = set.names.len() as f64;
    let pts = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(l, &y)| (l as f64, y))
            .collect::<Vec<_>>()
    };
    let mut series = vec![
        ("top-1".to_string(), pts(&top1)),
        ("top-5".to_string(), pts(&top5)),
    ];
    for (k, off) in OFFSETS.iter().enumerate().filter(|(k, _)| *k != o) {
        series.push((format!("top-1, offset {off}"), pts(&row("dev_top1", k))));
    }
    write_svg(
        out,
        "accuracy.svg",
        svg::lines(
            &format!(
                "Dev-split accuracy among {} emotions (offset {})",
                set.names.len(),
                set.token_offset
            ),
            "layer",
            "accuracy",
            &series,
            &[
                ("chance top-5".into(), 5.0 / n),
                ("chance top-1".into(), 1.0 / n),
            ],
        ),
    )?;
    let best = set.default_layer;
    let _ = write!(md, "\n## 1. Accuracy per layer\n\n![accuracy](accuracy.svg)\n\n{} dev stories (2 per emotion, never used to build the vectors), \
        ranked among all {} emotions by `(x − centre)·v̂` of the story's mean activation from token {}. \
        Best layer {best} ({:.0}% of depth): top-1 **{:.1}%**, top-5 **{:.1}%** (chance {:.2}% / {:.2}%). \
        Offsets tried: {:?}; the table in report.json has every layer.\n",
        ex["dev"], set.names.len(), set.token_offset, 100.0 * best as f64 / set.n_layer() as f64,
        100.0 * top1.get(best).unwrap_or(&0.0), 100.0 * top5.get(best).unwrap_or(&0.0), 100.0 / n, 500.0 / n, OFFSETS);
    let _ = writeln!(
        md,
        "\n| layer | {} |\n|---|{}\n| top-1 % | {} |\n| top-5 % | {} |",
        (0..top1.len())
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(top1.len()),
        top1.iter()
            .map(|v| format!("{:.0}", 100.0 * v))
            .collect::<Vec<_>>()
            .join(" | "),
        top5.iter()
            .map(|v| format!("{:.0}", 100.0 * v))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    Ok(
        json!({ "offset": set.token_offset, "top1": top1, "top5": top5, "chance_top1": 1.0 / n, "chance_top5": 5.0 / n, "all_offsets": {"top1": ex["dev_top1"], "top5": ex["dev_top5"]} }),
    )
}

fn geometry(set: &EmotionSet, norms: Option<&Path>, out: &Path, md: &mut String) -> Result<Value> {
    let (l, d, n) = (set.default_layer, set.d_model, set.names.len());
    let rows = &set.vectors[l];
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
    let proj: Vec<[f64; 3]> = (0..n)
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
    let sim: Vec<f32> = (0..n * n)
        .map(|ij| limbic::emotions::dot(set.vector(l, ij / n), set.vector(l, ij % n)))
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
        corr = json!({"matched": matched.len(), "pc_valence_r": r.iter().map(|x| x[0]).collect::<Vec<_>>(), "pc_arousal_r": r.iter().map(|x| x[1]).collect::<Vec<_>>()});
        let _ = write!(md, "\nAgainst the Warriner, Kuperman & Brysbaert (2013) norms ({} of {n} emotion words matched): \
            Pearson r with valence PC1 {:+.2}, PC2 {:+.2}, PC3 {:+.2}; with arousal PC1 {:+.2}, PC2 {:+.2}, PC3 {:+.2} \
            (the paper: |r| = 0.81 for valence on PC1 and 0.66 for arousal). A PC's sign is arbitrary, so |r| is what compares.\n",
            matched.len(), r[0][0], r[1][0], r[2][0], r[0][1], r[1][1], r[2][1]);
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

fn logit_lens(engine: &Engine<Cpu>, set: &EmotionSet, md: &mut String) -> Result<Value> {
    let l = set.default_layer;
    let mut all = serde_json::Map::new();
    let mut own_ranks = Vec::new();
    md.push_str(&format!("\n## 3. Logit lens\n\nTokens each vector (layer {l}) promotes most through the unembedding, `E·(γ⊙v̂)` (the paper: *desperate* → \"desperate, urgent, bankrupt\").\n\n| emotion | top tokens |\n|---|---|\n"));
    for (e, name) in set.names.iter().enumerate() {
        let logits = engine.model.logit_lens(set.vector(l, e))?;
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

fn dose(engine: &mut Engine<Cpu>, set: &EmotionSet, out: &Path, md: &mut String) -> Result<Value> {
    let l = set.default_layer;
    let n = set.names.len();
    let (afraid, calm) = (set.index("afraid")?, set.index("calm")?);
    let mut results = Vec::new();
    md.push_str(&format!("\n## 4. Dose experiments\n\nEach template is one user turn; scores are read at the last prompt token (the assistant's header, where the paper reads the Assistant's state), layer {l}.\n\n| template | Spearman ρ (dose, afraid) | ρ (dose, calm) |\n|---|---|---|\n"));
    for (name, template, xs) in DOSES {
        let (mut fa, mut ca) = (Vec::new(), Vec::new());
        for &x in xs {
            let text = chat_prompt(&template.replace("{X}", &format!("{x}")), None);
            let ids = engine.encode_prompt(&text)?;
            let s = token_scores(engine, set, &ids, l, &HookSet::new())?;
            let last = &s[(ids.len() - 1) * n..];
            fa.push(last[afraid] as f64);
            ca.push(last[calm] as f64);
        }
        let (ra, rc) = (spearman(xs, &fa), spearman(xs, &ca));
        let _ = writeln!(
            md,
            "| {} | {ra:+.2} | {rc:+.2} |",
            template.replace("{X}", "X")
        );
        write_svg(
            out,
            &format!("dose-{name}.svg"),
            svg::lines(
                &format!(
                    "{} (ρ afraid {ra:+.2}, calm {rc:+.2})",
                    template.replace("{X}", "X")
                ),
                "X",
                "score",
                &[
                    (
                        "afraid".into(),
                        xs.iter().copied().zip(fa.iter().copied()).collect(),
                    ),
                    (
                        "calm".into(),
                        xs.iter().copied().zip(ca.iter().copied()).collect(),
                    ),
                ],
                &[],
            ),
        )?;
        results.push(json!({"name": name, "template": template, "x": xs, "afraid": fa, "calm": ca, "spearman_afraid": ra, "spearman_calm": rc}));
    }
    md.push_str("\nPlots: ");
    md.push_str(
        &DOSES
            .iter()
            .map(|(n, _, _)| format!("[{n}](dose-{n}.svg)"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    md.push_str("; the Tylenol one:\n\n![tylenol](dose-tylenol.svg)\n");
    Ok(json!(results))
}
