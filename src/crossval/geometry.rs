//! The fitted vectors' geometry: the cosines of the pairs the issue names, with intervals from
//! resampling stories, and the topic confound (pair cosine against the topics two emotions'
//! stories share).

use nalgebra::DMatrix;
use rayon::prelude::*;
use serde_json::{json, Value};

use super::{labelled, Analysis, Fitted, Rng};
use crate::error::Result;
use crate::extract::{
    centred, fit_factors, normalise_rows, project_out, shrunk, within_scatter, Design,
};

/// Replicates for the pair cosines' intervals (each a discriminant solve).
const PAIR_BOOTSTRAP: u64 = 200;

/// The pairs the issue names: opposites should be negative, near-synonyms positive.
const PAIRS: [(&str, &str); 7] = [
    ("afraid", "calm"),
    ("happy", "sad"),
    ("afraid", "sleepy"),
    ("sad", "unhappy"),
    ("calm", "serene"),
    ("angry", "calm"),
    ("excited", "bored"),
];

/// 95 % intervals `(lo, hi)`, one per named pair.
type Intervals = Vec<(f64, f64)>;

/// Cosines `(n, n)` between the unit rows of `rows (n, d)`.
pub fn cosines(rows: &[f32], d: usize) -> Vec<Vec<f64>> {
    let r: Vec<&[f32]> = rows.chunks_exact(d).collect();
    r.iter()
        .map(|a| r.iter().map(|b| dot(a, b)).collect())
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x * y) as f64).sum()
}

/// `a − b`, elementwise.
pub fn minus(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p - q).collect())
        .collect()
}

/// Pair cosine (`cos (n, n)`) against the number of topics two emotions' pool stories share:
/// the mean per count and the least-squares slope with an emotion-resampling bootstrap interval.
pub fn confound(a: &Analysis, cos: &[Vec<f64>], pool: &[usize]) -> Value {
    let n = a.corpus.names.len();
    let mut topics: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &i in pool {
        topics[a.emotion(i)].push(a.corpus.topic_index(&a.corpus.stories[i].topic));
    }
    topics.iter_mut().for_each(|t| {
        t.sort();
        t.dedup();
    });
    let sh: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    topics[i]
                        .iter()
                        .filter(|t| topics[j].binary_search(t).is_ok())
                        .count() as f64
                })
                .collect()
        })
        .collect();
    let slope = |ems: &[usize]| {
        let mut pts = Vec::new();
        for (x, &i) in ems.iter().enumerate() {
            for &j in &ems[x + 1..] {
                if i != j {
                    pts.push((sh[i][j], cos[i][j]));
                }
            }
        }
        let m = pts.len().max(1) as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / m,
            pts.iter().map(|p| p.1).sum::<f64>() / m,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        sxy / sxx.max(1e-12)
    };
    let all: Vec<usize> = (0..n).collect();
    let reps = super::resampled(n, 200, 17, |idx| slope(idx));
    let mut by_count: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for i in 0..n {
        for j in i + 1..n {
            let e = by_count.entry(sh[i][j] as usize).or_default();
            e.0 += cos[i][j];
            e.1 += 1;
        }
    }
    json!({
        "slope": slope(&all), "slope_lo": reps[4], "slope_hi": reps[195],
        "by_shared_topics": by_count.iter().map(|(k, (s, c))| json!({"shared": k, "pairs": c, "mean_cos": s / *c as f64})).collect::<Vec<_>>(),
    })
}

/// The named pairs' indices (those whose emotions are in the set).
fn pair_index(a: &Analysis) -> Vec<(&'static str, &'static str, usize, usize)> {
    let idx = |s: &str| a.corpus.names.iter().position(|n| n == s);
    PAIRS
        .iter()
        .filter_map(|&(x, y)| Some((x, y, idx(x)?, idx(y)?)))
        .collect()
}

/// The named pairs' cosines under `rows (n, d)`, each with its 95 % interval where `ci` gives
/// one (as [`pair_intervals`] returns them, in the same order).
pub fn pairs(a: &Analysis, rows: &[f32], ci: Option<&[(f64, f64)]>) -> Value {
    let d = a.pass.d;
    let row = |i: usize| &rows[i * d..(i + 1) * d];
    pair_index(a)
        .iter()
        .enumerate()
        .map(|(k, &(x, y, i, j))| {
            let mut v = json!({"a": x, "b": y, "cos": dot(row(i), row(j))});
            if let Some(&(lo, hi)) = ci.and_then(|c| c.get(k)) {
                v["lo"] = json!(lo);
                v["hi"] = json!(hi);
            }
            v
        })
        .collect()
}

/// 95 % intervals for the named pairs' cosines under `full` (the fit on the whole `pool`), for
/// the readout's vectors and for the fitted means, from resampling each emotion's pool stories
/// ([`PAIR_BOOTSTRAP`] replicates). The bootstrap is conditional: the topic and person effects
/// and the within-emotion covariance are held at their fit on the whole pool (9,000 stories pin
/// them far better than the ~50 per emotion pin a mean), and each replicate re-averages each
/// emotion's stories, those effects removed, then centres, projects and solves as
/// [`Analysis::fit`] does.
pub fn pair_intervals(
    a: &Analysis,
    full: &Fitted,
    pool: &[usize],
    layer: usize,
    offset: usize,
    lambda: f64,
) -> Result<(Intervals, Intervals)> {
    let (n, d) = (a.corpus.names.len(), a.pass.d);
    let means = a.samples(pool, layer, offset);
    let samples: Vec<(Design, &[f32])> = means.iter().map(|(k, m)| (*k, m.as_slice())).collect();
    let levels = n + samples.iter().any(|(k, _)| k.level == n) as usize;
    let effects = fit_factors(&samples, levels, a.corpus.topics.len(), d, true)?;
    let mut resid: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n];
    for (k, x) in samples.iter().filter(|(k, _)| k.level < n) {
        resid[k.level].push(effects.residual(k, x));
    }
    let basis = &a.pcs[layer].0;
    // The shrunk covariance's inverse, once: a replicate's discriminant directions are then one
    // product (the solve of `discriminant_scores`, the same up to rounding).
    let inverse = if lambda < 1.0 {
        Some(shrunk(&within_scatter(&labelled(&samples, n), basis, d), d, lambda)?.inverse())
    } else {
        None
    };
    let idx = pair_index(a);
    let reps: Vec<Vec<(f64, f64)>> = (0..PAIR_BOOTSTRAP)
        .into_par_iter()
        .map(|r| {
            let mut rng = Rng(0x5eed_0000 + r);
            let mut level = vec![0.0f32; n * d];
            for (e, rs) in resid.iter().enumerate() {
                let mut sum = vec![0.0f64; d];
                for _ in 0..rs.len() {
                    let s = &rs[rng.below(rs.len())];
                    sum.iter_mut().zip(s).for_each(|(a, b)| *a += b);
                }
                level[e * d..(e + 1) * d]
                    .iter_mut()
                    .zip(&sum)
                    .for_each(|(o, s)| *o = (s / rs.len() as f64) as f32);
            }
            let (mut dirs, _) = centred(&level, n, d);
            project_out(&mut dirs, d, basis);
            let mut readout = match &inverse {
                Some(inv) => {
                    let v = DMatrix::from_row_slice(n, d, &dirs).map(|x| x as f64);
                    // Rows of V A⁻¹ (A symmetric), back to row-major.
                    let w = (v * inv).transpose();
                    w.iter().map(|&x| x as f32).collect()
                }
                None => dirs.clone(),
            };
            normalise_rows(&mut readout, d);
            normalise_rows(&mut dirs, d);
            let cos =
                |m: &[f32], i: usize, j: usize| dot(&m[i * d..(i + 1) * d], &m[j * d..(j + 1) * d]);
            idx.iter()
                .map(|&(_, _, i, j)| (cos(&readout, i, j), cos(&dirs, i, j)))
                .collect()
        })
        .collect();
    // Basic bootstrap intervals, `2θ̂ − q` for the replicates' quantiles q: a cosine between two
    // vectors estimated with noise is pulled toward zero, and a replicate (noise added to the
    // estimate) once more, so the plain percentiles would lean toward zero, past the estimate.
    let interval = |k: usize, which: fn(&(f64, f64)) -> f64, rows: &[f32]| {
        let (i, j) = (idx[k].2, idx[k].3);
        let est = dot(&rows[i * d..(i + 1) * d], &rows[j * d..(j + 1) * d]);
        let mut v: Vec<f64> = reps.iter().map(|r| which(&r[k])).collect();
        v.sort_by(f64::total_cmp);
        let m = v.len();
        (2.0 * est - v[m - 1 - m / 40], 2.0 * est - v[m / 40])
    };
    Ok((
        (0..idx.len())
            .map(|k| interval(k, |p| p.0, &full.dirs))
            .collect(),
        (0..idx.len())
            .map(|k| interval(k, |p| p.1, &full.means))
            .collect(),
    ))
}
