//! Every choice of extraction made by cross-validation, and the statistics a reviewer asks for.
//!
//! The stories outside the test split (fixed once by a hash of their ids) are split into
//! [`FOLDS`] folds by another hash. The readout layer and the token offset are the ones whose
//! vectors, fitted on four folds, rank the fifth fold's stories best (top-1, then top-5), over
//! every layer and offset (discriminant directions at [`LAMBDA_PRIOR`]); then, at that cell, the
//! discriminant's shrinkage `λ` from [`LAMBDAS`] the same way. The test split is only ever
//! measured: accuracy with bootstrap 95 % intervals (resampling test stories), per emotion, a
//! learning curve, and the topic confound (how pair cosines rise with the topics two emotions'
//! stories share) and the named pairs' cosines (with intervals from resampling stories:
//! `geometry.rs`), each for the discriminant readout vectors, the topic-fitted means and the
//! plain means (the paper's vectors).

use nalgebra::DMatrix;
use rayon::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod geometry;

use crate::calibrate::Pass;
use crate::corpus::Corpus;
use crate::error::Result;
use crate::extract::{
    centred, discriminant_scores, fit_effects, normalise_rows, principal_components, project_out,
    scatter_from_sums, within_scatter, Design, NEUTRAL_VARIANCE, OFFSETS,
};

pub const FOLDS: usize = 5;
pub const BOOTSTRAP: usize = 2000;
/// Stories per emotion for the learning curve (the last point is every pool story).
const CURVE: [usize; 7] = [4, 8, 12, 20, 28, 36, 44];
const CURVE_SEEDS: u64 = 3;
/// Shrinkage of the discriminant while the layer and offset are chosen.
pub const LAMBDA_PRIOR: f64 = 0.3;
/// Shrinkages tried at the chosen layer and offset (1: the plain means, the paper's vectors).
pub const LAMBDAS: [f64; 6] = [0.05, 0.1, 0.2, 0.3, 0.5, 1.0];

/// Deterministic pseudo-random numbers (SplitMix64).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `stat` of `reps` bootstrap resamples of `n` items (each `n` indices drawn with replacement,
/// in order, from `Rng(seed)`), sorted: the caller reads its percentiles.
pub fn resampled(
    n: usize,
    reps: usize,
    seed: u64,
    mut stat: impl FnMut(&[usize]) -> f64,
) -> Vec<f64> {
    let mut rng = Rng(seed);
    let mut out: Vec<f64> = (0..reps)
        .map(|_| stat(&(0..n).map(|_| rng.below(n)).collect::<Vec<_>>()))
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// The mean of `v` and its percentile-bootstrap 95 % interval.
pub fn mean_ci(v: &[f64], seed: u64) -> (f64, f64, f64) {
    let mean = |x: &mut dyn Iterator<Item = f64>, n: usize| x.sum::<f64>() / n.max(1) as f64;
    let m = mean(&mut v.iter().copied(), v.len());
    let reps = resampled(v.len(), BOOTSTRAP, seed, |idx| {
        mean(&mut idx.iter().map(|&i| v[i]), v.len())
    });
    (
        m,
        reps[BOOTSTRAP / 40],
        reps[BOOTSTRAP - 1 - BOOTSTRAP / 40],
    )
}

/// Vectors fitted at one layer and offset.
pub struct Fitted {
    /// Unit readout directions `(n, d)`: the discriminant of `means`.
    pub dirs: Vec<f32>,
    /// `(n)`: the readout's score of emotion `e` is `weight[e] · dirs[e]·(x − centre) + bias[e]`
    /// (the discriminant's, [`crate::extract::discriminant_scores`]).
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    /// Unit emotion effects `(n, d)` (the paper's vectors; steering adds these).
    pub means: Vec<f32>,
    /// `(d)`: subtracted before projecting.
    pub centre: Vec<f32>,
    /// `(n)`: each of `means`' lengths before it was scaled to 1.
    pub raw_norm: Vec<f32>,
    /// `(d)`: the neutral scenes' effect minus the centre, neutral PCs projected out.
    pub neutral: Vec<f32>,
}

/// Cross-validated extraction over one pass.
pub struct Analysis<'a> {
    pub corpus: &'a Corpus,
    pub pass: &'a Pass,
    /// Per layer: the neutral principal components (rows) and their shares of variance.
    pub pcs: Vec<(Vec<Vec<f32>>, Vec<f64>)>,
    emotion: Vec<usize>,
    design: Vec<Design>,
    scene_design: Vec<Design>,
    fold: Vec<usize>,
}

fn hash_byte(salt: &str, id: &str) -> u8 {
    Sha256::digest(format!("{salt}:{id}").as_bytes())[0]
}

impl<'a> Analysis<'a> {
    pub fn new(corpus: &'a Corpus, pass: &'a Pass) -> Self {
        let n = corpus.names.len();
        let person = |p: &str| (p == "third") as usize;
        let emotion: Vec<usize> = corpus
            .stories
            .iter()
            .map(|s| corpus.emotion_of(s))
            .collect();
        let design = corpus
            .stories
            .iter()
            .zip(&emotion)
            .map(|(s, &e)| Design {
                level: e,
                topic: corpus.topic_index(&s.topic),
                person: Some(person(&s.person)),
            })
            .collect();
        let scene_design = corpus
            .scenes
            .iter()
            .map(|s| Design {
                level: n,
                topic: corpus.topic_index(&s.topic),
                person: None,
            })
            .collect();
        let fold = corpus
            .stories
            .iter()
            .map(|s| hash_byte("limbic-v2-fold", &s.id) as usize % FOLDS)
            .collect();
        let pcs = (0..pass.n_layer)
            .into_par_iter()
            .map(|l| principal_components(&pass.moments.covariance(l), pass.d, NEUTRAL_VARIANCE))
            .collect();
        Self {
            corpus,
            pass,
            pcs,
            emotion,
            design,
            scene_design,
            fold,
        }
    }

    /// Indices of the stories outside the test split.
    pub fn pool(&self) -> Vec<usize> {
        (0..self.corpus.stories.len())
            .filter(|&i| !self.corpus.stories[i].is_test())
            .collect()
    }

    pub fn test(&self) -> Vec<usize> {
        (0..self.corpus.stories.len())
            .filter(|&i| self.corpus.stories[i].is_test())
            .collect()
    }

    pub fn emotion(&self, story: usize) -> usize {
        self.emotion[story]
    }

    /// Vectors from `stories` (and the calibration half of the neutral scenes) at a layer and
    /// offset, with or without the topic fit, the readout's discriminant shrunk by `lambda`; the
    /// stories' within-emotion scatter measured, or given (`scatter`, as [`Self::cv`] forms it
    /// from per-fold sums).
    pub fn fit(
        &self,
        stories: &[usize],
        layer: usize,
        offset: usize,
        (topics, lambda): (bool, f64),
        scatter: Option<Vec<f64>>,
    ) -> Result<Fitted> {
        let (n, d) = (self.corpus.names.len(), self.pass.d);
        let means = self.samples(stories, layer, offset);
        let samples: Vec<(Design, &[f32])> =
            means.iter().map(|(k, m)| (*k, m.as_slice())).collect();
        let has_neutral = samples.iter().any(|(k, _)| k.level == n);
        let levels = n + has_neutral as usize;
        let a = fit_effects(&samples, levels, self.corpus.topics.len(), d, topics)?;
        let (mut dirs, centre) = centred(&a, n, d);
        let basis = &self.pcs[layer].0;
        project_out(&mut dirs, d, basis);
        let raw_norm = dirs
            .chunks_exact(d)
            .map(|r| r.iter().map(|x| x * x).sum::<f32>().sqrt())
            .collect();
        // λ = 1 is the means themselves: no covariance to measure.
        let scatter = if let Some(s) = scatter.filter(|_| lambda < 1.0) {
            s
        } else if lambda < 1.0 {
            within_scatter(&labelled(&samples, n), basis, d)
        } else {
            Vec::new()
        };
        let (readout, weight, bias) = discriminant_scores(&dirs, &scatter, d, lambda)?;
        normalise_rows(&mut dirs, d);
        let mut neutral: Vec<f32> = if has_neutral {
            a[n * d..(n + 1) * d]
                .iter()
                .zip(&centre)
                .map(|(x, c)| x - c)
                .collect()
        } else {
            vec![0.0; d]
        };
        project_out(&mut neutral, d, basis);
        Ok(Fitted {
            dirs: readout,
            weight,
            bias,
            means: dirs,
            centre,
            raw_norm,
            neutral,
        })
    }

    /// The fit's samples: `stories`' means and the calibration half of the neutral scenes',
    /// each with its design, at a layer and offset.
    fn samples(&self, stories: &[usize], layer: usize, offset: usize) -> Vec<(Design, Vec<f32>)> {
        let d = self.pass.d;
        stories
            .iter()
            .map(|&i| (self.design[i], self.pass.stories[i].mean(layer, offset, d)))
            .chain(
                self.corpus
                    .scenes
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.is_held_out())
                    .map(|(i, _)| {
                        (
                            self.scene_design[i],
                            self.pass.scenes[i].mean(layer, offset, d),
                        )
                    }),
            )
            .collect()
    }

    /// Rank of each story's own emotion among all (0 = top) under `f` at a layer and offset.
    pub fn ranks(&self, f: &Fitted, stories: &[usize], layer: usize, offset: usize) -> Vec<usize> {
        let d = self.pass.d;
        let n = f.weight.len();
        // The directions by column, so that every emotion's dot product runs side by side: each
        // still the products added in order of the column from −0 (as `sum` adds), the same
        // bits as one dot product at a time, which waited on each add before the next.
        let mut by_column = vec![0.0f32; n * d];
        for (e, v) in f.dirs.chunks_exact(d).enumerate() {
            v.iter()
                .enumerate()
                .for_each(|(j, &x)| by_column[j * n + e] = x);
        }
        stories
            .iter()
            .map(|&i| {
                let x = self.pass.stories[i].mean(layer, offset, d);
                let mut dots = vec![-0.0f32; n];
                for ((a, c), column) in x.iter().zip(&f.centre).zip(by_column.chunks_exact(n)) {
                    let xc = a - c;
                    dots.iter_mut().zip(column).for_each(|(s, v)| *s += v * xc);
                }
                let scores: Vec<f32> = (dots.iter().zip(&f.weight).zip(&f.bias))
                    .map(|((dot, w), b)| w * dot + b)
                    .collect();
                let own = scores[self.emotion[i]];
                scores.iter().filter(|&&s| s > own).count()
            })
            .collect()
    }

    /// Cross-validated (top-1, top-5) over the pool at a layer and offset. Each fold's sums
    /// (outer products, per-emotion sums and counts) are taken once; a training set's scatter
    /// is the other folds' sums ([`scatter_from_sums`]).
    pub fn cv(&self, layer: usize, offset: usize, topics: bool, lambda: f64) -> Result<(f64, f64)> {
        let (n, d) = (self.corpus.names.len(), self.pass.d);
        let pool = self.pool();
        let mut gram = vec![DMatrix::<f64>::zeros(d, d); FOLDS];
        let mut sums = vec![vec![0.0f64; n * d]; FOLDS];
        let mut counts = vec![vec![0usize; n]; FOLDS];
        if lambda < 1.0 {
            let xs: Vec<Vec<f32>> = pool
                .iter()
                .map(|&i| self.pass.stories[i].mean(layer, offset, d))
                .collect();
            // The pool's mean: each column summed in the stories' order, a row at a time (a
            // column at a time strides over every story's vector: most of the time of a fold).
            let mut shift = vec![-0.0f64; d]; // as `sum` starts
            for x in &xs {
                shift.iter_mut().zip(x).for_each(|(s, &v)| *s += v as f64);
            }
            shift.iter_mut().for_each(|s| *s /= xs.len().max(1) as f64);
            // Each fold's stories, shifted, as the columns of one matrix.
            let mut cols = vec![Vec::new(); FOLDS];
            for (&i, x) in pool.iter().zip(&xs) {
                let (k, e) = (self.fold[i], self.emotion[i]);
                counts[k][e] += 1;
                let row = &mut sums[k][e * d..(e + 1) * d];
                for ((&v, m), s) in x.iter().zip(&shift).zip(row) {
                    *s += v as f64 - m;
                    cols[k].push(v as f64 - m);
                }
            }
            for (g, c) in gram.iter_mut().zip(&cols) {
                let x = DMatrix::from_column_slice(d, c.len() / d, c);
                *g = &x * x.transpose();
            }
        }
        let mut ranks = Vec::new();
        for k in 0..FOLDS {
            let (train, held): (Vec<usize>, Vec<usize>) =
                pool.iter().partition(|&&i| self.fold[i] != k);
            let scatter = (lambda < 1.0).then(|| {
                let others = (0..FOLDS).filter(|&f| f != k);
                let g = others
                    .clone()
                    .fold(DMatrix::zeros(d, d), |a, f| a + &gram[f]);
                let add = |v: &[Vec<f64>], len| {
                    others.clone().fold(vec![0.0; len], |mut a: Vec<f64>, f| {
                        a.iter_mut().zip(&v[f]).for_each(|(a, b)| *a += b);
                        a
                    })
                };
                let c: Vec<usize> = (0..n)
                    .map(|e| others.clone().map(|f| counts[f][e]).sum())
                    .collect();
                scatter_from_sums(&g, &add(&sums, n * d), &c, &self.pcs[layer].0, d)
            });
            let f = self.fit(&train, layer, offset, (topics, lambda), scatter)?;
            ranks.extend(self.ranks(&f, &held, layer, offset));
        }
        Ok(top(&ranks))
    }
}

/// (top-1, top-5) shares of ranks.
pub fn top(ranks: &[usize]) -> (f64, f64) {
    let m = ranks.len().max(1) as f64;
    (
        ranks.iter().filter(|&&r| r == 0).count() as f64 / m,
        ranks.iter().filter(|&&r| r < 5).count() as f64 / m,
    )
}

fn hits(ranks: &[usize], k: usize) -> Vec<f64> {
    ranks.iter().map(|&r| (r < k) as u8 as f64).collect()
}

fn ci_json(v: &[f64], seed: u64) -> Value {
    let (m, lo, hi) = mean_ci(v, seed);
    json!({"mean": m, "lo": lo, "hi": hi})
}

/// The layer, offset and shrinkage chosen by cross-validation: the cross-validated accuracy of
/// every (offset, layer) for the discriminant at [`LAMBDA_PRIOR`] (`fit`), its argmax (top-1,
/// then top-5; ties to the smaller offset, then the lower layer), then each of [`LAMBDAS`] there
/// (ties to the larger). Returns `(offset, layer, lambda, report)`.
pub fn choose(a: &Analysis) -> Result<(usize, usize, f64, Value)> {
    let n_layer = a.pass.n_layer;
    let cells: Vec<(usize, usize)> = (0..OFFSETS.len())
        .flat_map(|o| (0..n_layer).map(move |l| (o, l)))
        .collect();
    let acc: Vec<(f64, f64)> = cells
        .par_iter()
        .map(|&(o, l)| a.cv(l, o, true, LAMBDA_PRIOR))
        .collect::<Result<_>>()?;
    let table = |k: usize| -> Vec<Vec<f64>> {
        (0..OFFSETS.len())
            .map(|o| {
                (0..n_layer)
                    .map(|l| {
                        let x = acc[o * n_layer + l];
                        if k == 1 {
                            x.0
                        } else {
                            x.1
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let fit1 = table(1);
    let fit5 = table(5);
    let key = |x: (f64, f64)| ((x.0 * 1e6) as i64, (x.1 * 1e6) as i64);
    let mut best = (0, 0);
    for o in 0..OFFSETS.len() {
        for l in 0..n_layer {
            if key((fit1[o][l], fit5[o][l])) > key((fit1[best.0][best.1], fit5[best.0][best.1])) {
                best = (o, l);
            }
        }
    }
    let by_lambda: Vec<(f64, f64)> = LAMBDAS
        .par_iter()
        .map(|&lam| a.cv(best.1, best.0, true, lam))
        .collect::<Result<_>>()?;
    let mut lam = LAMBDAS.len() - 1;
    for i in (0..LAMBDAS.len()).rev() {
        if key(by_lambda[i]) > key(by_lambda[lam]) {
            lam = i;
        }
    }
    let report = json!({
        "folds": FOLDS, "offsets": OFFSETS, "lambda_prior": LAMBDA_PRIOR,
        "fit": {"top1": fit1, "top5": fit5},
        "lambdas": LAMBDAS.iter().zip(&by_lambda).map(|(l, x)| json!({"lambda": l, "top1": x.0, "top5": x.1})).collect::<Vec<_>>(),
        "chosen": {"offset": OFFSETS[best.0], "layer": best.1, "lambda": LAMBDAS[lam], "top1": by_lambda[lam].0, "top5": by_lambda[lam].1},
    });
    Ok((best.0, best.1, LAMBDAS[lam], report))
}

/// Test-split accuracy (per layer, and at the chosen layer with intervals and per emotion),
/// the learning curve and the topic confound, for the readout vectors (`fit`: discriminant at
/// `lambda`, topic fit), the topic-fitted means (`means`) and the plain means (`plain`); and
/// the readout's vectors fitted on the whole pool at every layer (what the file keeps).
pub fn measure(
    a: &Analysis,
    offset: usize,
    layer: usize,
    lambda: f64,
) -> Result<(Value, Vec<Fitted>)> {
    let (pool, test) = (a.pool(), a.test());
    let (n, d) = (a.corpus.names.len(), a.pass.d);
    let fitted: Vec<Fitted> = (0..a.pass.n_layer)
        .into_par_iter()
        .map(|l| a.fit(&pool, l, offset, (true, lambda), None))
        .collect::<Result<_>>()?;
    let per_layer: Vec<(f64, f64)> = fitted
        .iter()
        .enumerate()
        .map(|(l, f)| top(&a.ranks(f, &test, l, offset)))
        .collect();
    let (ci_readout, ci_means) =
        geometry::pair_intervals(a, &fitted[layer], &pool, layer, offset, lambda)?;
    let mut variants = serde_json::Map::new();
    for (name, topics, lam) in [
        ("fit", true, lambda),
        ("means", true, 1.0),
        ("plain", false, 1.0),
    ] {
        // The readout's fit on the pool at this layer is `fitted[layer]` already.
        let refit;
        let f = if name == "fit" {
            &fitted[layer]
        } else {
            refit = a.fit(&pool, layer, offset, (topics, lam), None)?;
            &refit
        };
        let ranks = a.ranks(f, &test, layer, offset);
        let mut per_emotion = vec![(0usize, 0usize, 0usize); n];
        for (&i, &r) in test.iter().zip(&ranks) {
            let e = &mut per_emotion[a.emotion(i)];
            e.0 += 1;
            e.1 += (r == 0) as usize;
            e.2 += (r < 5) as usize;
        }
        variants.insert(
            name.into(),
            json!({
                "top1": ci_json(&hits(&ranks, 1), 1), "top5": ci_json(&hits(&ranks, 5), 5),
                "per_emotion": a.corpus.names.iter().zip(&per_emotion)
                    .map(|(nm, e)| json!({"emotion": nm, "stories": e.0, "top1": e.1, "top5": e.2})).collect::<Vec<_>>(),
                "confound": geometry::confound(a, &geometry::cosines(&f.dirs, d), &pool),
                "pairs": geometry::pairs(a, &f.dirs, match name {
                    "fit" => Some(&ci_readout[..]),
                    "means" => Some(&ci_means[..]),
                    _ => None,
                }),
            }),
        );
    }
    // The confound's control: the readout's vectors fitted on the grid stories alone (every
    // emotion on the same topics, so no content of v1's unevenly shared topics), against the same
    // shared-topic counts: what slope remains is in which emotions v1 gave the same topics.
    let grid_topics: std::collections::HashSet<&str> =
        a.corpus.scenes.iter().map(|s| s.topic.as_str()).collect();
    let grid: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&i| grid_topics.contains(a.corpus.stories[i].topic.as_str()))
        .collect();
    let g = a.fit(&grid, layer, offset, (true, lambda), None)?;
    let (g1, g5) = top(&a.ranks(&g, &test, layer, offset));
    // What v1's stories add to a pair's cosine beyond the control's, against the shared topics:
    // flat if sharing topics pulls no two emotions' vectors together.
    let (full_cos, grid_cos) = (
        geometry::cosines(&fitted[layer].dirs, d),
        geometry::cosines(&g.dirs, d),
    );
    let grid_only = json!({"stories": grid.len(), "topics": grid_topics.len(), "top1": g1, "top5": g5,
        "confound": geometry::confound(a, &grid_cos, &pool), "pairs": geometry::pairs(a, &g.dirs, None),
        "beyond_control": geometry::confound(a, &geometry::minus(&full_cos, &grid_cos), &pool)});
    let curve: Vec<Value> = CURVE
        .par_iter()
        .map(|&k| {
            let mut r1 = Vec::new();
            let mut r5 = Vec::new();
            for seed in 0..CURVE_SEEDS {
                let mut rng = Rng(seed * 1000 + k as u64);
                let mut by_emotion: Vec<Vec<usize>> = vec![Vec::new(); n];
                pool.iter().for_each(|&i| by_emotion[a.emotion(i)].push(i));
                let mut chosen = Vec::new();
                for v in by_emotion.iter_mut() {
                    for j in (1..v.len()).rev() {
                        v.swap(j, rng.below(j + 1));
                    }
                    chosen.extend(v.iter().take(k));
                }
                let (t1, t5) = top(&a.ranks(
                    &a.fit(&chosen, layer, offset, (true, lambda), None)?,
                    &test,
                    layer,
                    offset,
                ));
                r1.push(t1);
                r5.push(t5);
            }
            let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            Ok(json!({"stories_per_emotion": k, "top1": m(&r1), "top5": m(&r5)}))
        })
        .collect::<Result<_>>()?;
    let report = json!({
        "test_stories": test.len(), "pool_stories": pool.len(),
        "layer": layer, "offset": OFFSETS[offset], "lambda": lambda,
        "per_layer": {"top1": per_layer.iter().map(|x| x.0).collect::<Vec<_>>(), "top5": per_layer.iter().map(|x| x.1).collect::<Vec<_>>()},
        "variants": variants, "grid_only": grid_only, "learning_curve": curve,
        "chance_top1": 1.0 / n as f64, "chance_top5": 5.0 / n as f64,
    });
    Ok((report, fitted))
}

/// The emotions' samples (not the neutral level `n`) as `(emotion, mean)`.
fn labelled<'s>(samples: &[(Design, &'s [f32])], n: usize) -> Vec<(usize, &'s [f32])> {
    samples
        .iter()
        .filter(|(k, _)| k.level < n)
        .map(|(k, x)| (k.level, *x))
        .collect()
}
