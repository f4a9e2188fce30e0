//! Report section 2's valence axis: is valence written in the vectors at all, if not on their
//! leading components, and where does each named emotion sit on it?
//!
//! A ridge regression of the human valence (and arousal) norm on the emotions' unit vectors,
//! fitted on nine tenths of the matched emotions and read on the other tenth, ten times, so each
//! emotion's value is predicted by an axis fitted without it. `r` is Pearson's between the
//! out-of-fold predictions and the norms, with a 95 % interval from resampling the emotions. The
//! ridge weight is fixed ([`RIDGE`], on unit vectors), not chosen on these numbers.

use nalgebra::{DMatrix, DVector};
use serde_json::{json, Value};

use crate::stats::pearson;
use limbic::crossval::resampled;
use limbic::emotions::EmotionSet;

/// Folds over the matched emotions (by their position in the norms file).
const FOLDS: usize = 10;
/// The ridge penalty on unit vectors (fixed beforehand; 0.1 and 10 give the same picture).
const RIDGE: f64 = 1.0;
/// The emotions the report names on the axis: the steering sweep's six.
pub const NAMED: [&str; 6] = ["happy", "sad", "calm", "afraid", "angry", "desperate"];

/// Out-of-fold predictions of `y` from the unit rows `x (m, d)`: per fold, the ridge solution
/// in its kernel form `w = Xᵀ (X Xᵀ + λ I)⁻¹ (y − ȳ)` on the centred training rows.
pub fn out_of_fold(x: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let m = x.len();
    let mut pred = vec![f64::NAN; m];
    for fold in 0..FOLDS {
        let train: Vec<usize> = (0..m).filter(|i| i % FOLDS != fold).collect();
        if train.is_empty() {
            continue;
        }
        let d = x[train[0]].len();
        let n = train.len() as f64;
        let mu: Vec<f64> = (0..d)
            .map(|j| train.iter().map(|&i| x[i][j]).sum::<f64>() / n)
            .collect();
        let y_mean = train.iter().map(|&i| y[i]).sum::<f64>() / n;
        let xt = DMatrix::from_fn(train.len(), d, |r, j| x[train[r]][j] - mu[j]);
        let gram = &xt * xt.transpose() + DMatrix::identity(train.len(), train.len()) * RIDGE;
        let yt = DVector::from_fn(train.len(), |r, _| y[train[r]] - y_mean);
        let Some(alpha) = gram.cholesky().map(|c| c.solve(&yt)) else {
            continue;
        };
        let w = xt.transpose() * alpha;
        for i in (0..m).filter(|i| i % FOLDS == fold) {
            pred[i] = y_mean + (0..d).map(|j| (x[i][j] - mu[j]) * w[j]).sum::<f64>();
        }
    }
    pred
}

/// Pearson r of `pred` against `y` with a 95 % interval from resampling the pairs.
fn r_with_interval(pred: &[f64], y: &[f64], seed: u64) -> (f64, f64, f64) {
    let reps = resampled(y.len(), 500, seed, |idx| {
        let a: Vec<f64> = idx.iter().map(|&i| pred[i]).collect();
        let b: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
        pearson(&a, &b)
    });
    (pearson(pred, y), reps[12], reps[487])
}

fn unit(v: &[f32]) -> Vec<f64> {
    let norm = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    v.iter().map(|&x| f64::from(x) / norm.max(1e-30)).collect()
}

/// Out-of-fold valence r of the readout's vectors at `layer` (the by-layer table's column).
pub fn readout_r(set: &EmotionSet, matched: &[(usize, f64, f64)], layer: usize) -> f64 {
    let x: Vec<Vec<f64>> = matched
        .iter()
        .map(|m| unit(set.vector(layer, m.0)))
        .collect();
    let y: Vec<f64> = matched.iter().map(|m| m.1).collect();
    pearson(&out_of_fold(&x, &y), &y)
}

/// At `layer`, for the readout's vectors and for the means (what steering adds): the
/// out-of-fold r for valence and arousal with intervals, and each [`NAMED`] emotion's predicted
/// valence, its norm, and its rank among the matched emotions from the most negative prediction.
pub fn axis(set: &EmotionSet, matched: &[(usize, f64, f64)], layer: usize) -> Value {
    let rows = |means: bool, e: usize| {
        if means {
            unit(&set.mean(layer, e))
        } else {
            unit(set.vector(layer, e))
        }
    };
    let val: Vec<f64> = matched.iter().map(|m| m.1).collect();
    let aro: Vec<f64> = matched.iter().map(|m| m.2).collect();
    let mut out = json!({"layer": layer, "folds": FOLDS, "ridge": RIDGE, "matched": matched.len()});
    for (name, means) in [("readout", false), ("means", true)] {
        let x: Vec<Vec<f64>> = matched.iter().map(|m| rows(means, m.0)).collect();
        let pv = out_of_fold(&x, &val);
        let pa = out_of_fold(&x, &aro);
        let (r, lo, hi) = r_with_interval(&pv, &val, 0xa1e + layer as u64);
        let (ra, alo, ahi) = r_with_interval(&pa, &aro, 0xa20 + layer as u64);
        let named: Vec<Value> = NAMED
            .iter()
            .filter_map(|&n| {
                let i = matched.iter().position(|m| set.names[m.0] == n)?;
                let rank = 1 + pv.iter().filter(|&&p| p < pv[i]).count();
                let norm_rank = 1 + val.iter().filter(|&&p| p < val[i]).count();
                Some(json!({"emotion": n, "predicted": pv[i], "norm": val[i], "rank": rank, "norm_rank": norm_rank}))
            })
            .collect();
        out[name] = json!({"valence_r": [r, lo, hi], "arousal_r": [ra, alo, ahi], "named": named});
    }
    out
}

/// *sad*'s entry among the means' named emotions in [`axis`]'s result, if matched.
pub fn sad_mean(v: &Value) -> Option<&Value> {
    v["means"]["named"]
        .as_array()?
        .iter()
        .find(|n| n["emotion"] == "sad")
}

/// The report's paragraph on [`axis`]'s result.
pub fn said(v: &Value) -> String {
    let f = |x: &Value| x.as_f64().unwrap_or(f64::NAN);
    let r = |k: &str, which: &str| {
        let x = &v[k][which];
        format!("{:.2} [{:.2}, {:.2}]", f(&x[0]), f(&x[1]), f(&x[2]))
    };
    let named = |k: &str| -> String {
        v[k]["named"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                format!(
                    "*{}* {:.1} ({:.2}, {} of {})",
                    n["emotion"].as_str().unwrap_or(""),
                    f(&n["predicted"]),
                    f(&n["norm"]),
                    n["rank"],
                    v["matched"]
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Sad, the hard case: with the positive half or the negative one, out of fold (means).
    let sad = sad_mean(v);
    let sad_said = match sad {
        Some(n) if n["rank"].as_u64().unwrap_or(0) * 2 > v["matched"].as_u64().unwrap_or(0) => format!(
            " Out of fold, *sad*'s mean reads {:.1} (rank {} of {}) where its norm is {:.2} (rank {}): it sits with the milder, more positive half of the emotions: *sad*'s vector, read from the corpus's sad stories, carries little of the valence written across the emotions, which fits the cosine of *happy* and *sad* above and what steering toward *sad* does to VADER (section 5).",
            f(&n["predicted"]), n["rank"], v["matched"], f(&n["norm"]), n["norm_rank"]
        ),
        Some(n) => format!(
            " Out of fold, *sad*'s mean reads {:.1} (rank {} of {}; its norm {:.2}, rank {}): with the negative half of the emotions.",
            f(&n["predicted"]), n["rank"], v["matched"], f(&n["norm"]), n["norm_rank"]
        ),
        None => String::new(),
    };
    format!(
        "**Valence across all directions.** A leading component need not carry it: a ridge regression (λ = {}, fixed beforehand) of the norms on the {} matched unit vectors at layer {}, each emotion predicted by an axis fitted on the other nine tenths ({}-fold), reads valence with r = {} and arousal {} from the readout's vectors, and valence {} and arousal {} from the means (what steering adds). \
         Where the named emotions sit on it, out of fold (predicted valence, the norm in brackets, rank of the prediction from the most negative): the readout's vectors: {}; the means: {}.{sad_said}\n",
        v["ridge"],
        v["matched"],
        v["layer"],
        v["folds"],
        r("readout", "valence_r"),
        r("readout", "arousal_r"),
        r("means", "valence_r"),
        r("means", "arousal_r"),
        named("readout"),
        named("means"),
    )
}

#[cfg(test)]
mod tests {
    use super::out_of_fold;

    #[test]
    fn an_axis_fitted_without_a_row_still_finds_a_linear_valence() {
        // 40 unit rows in 3 dimensions; valence is their first coordinate, scaled.
        let x: Vec<Vec<f64>> = (0..40)
            .map(|i| {
                let a = i as f64 * 0.7;
                let v = [a.cos(), a.sin() * 0.6, (a * 1.3).sin() * 0.8];
                let n = v.iter().map(|z| z * z).sum::<f64>().sqrt();
                v.iter().map(|z| z / n).collect()
            })
            .collect();
        let y: Vec<f64> = x.iter().map(|r| 5.0 + 3.0 * r[0]).collect();
        let pred = out_of_fold(&x, &y);
        assert!(pred.iter().all(|p| p.is_finite()));
        let r = crate::stats::pearson(&pred, &y);
        assert!(r > 0.9, "r = {r}");
        // Noise the rows do not carry is not predicted: out of fold, r stays near zero.
        let noise: Vec<f64> = (0..40).map(|i| ((i * 7919) % 13) as f64).collect();
        let r = crate::stats::pearson(&out_of_fold(&x, &noise), &noise);
        assert!(r < 0.5, "r = {r}");
    }
}
