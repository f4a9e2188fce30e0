//! The per-token readout the page shows: which emotion (a running mean of the raw scores over
//! the last `w` tokens, ranked) and whether any (an intensity: the smoothed scores standardised
//! against neutral text of the same register, see [`Calibration`]).
//!
//! A single token's raw scores mostly reflect that token, not the passage: averaging over a few
//! tokens ranks the passage's emotion far better. And raw scores have no zero — neutral text
//! scores as high as emotional text. So the intensity reads how emotional the smoothed scores
//! look as a whole: along one direction of the score space fitted to tell emotional stories from
//! neutral text ([`Emotional`], at the default layer), in standard deviations of neutral text.
//! Where a file has none (other layers), the z of the top emotion, `(s_e − μ_e) / σ_e`.

use crate::extract::{discriminant, within_scatter};
use crate::hooks::{Captures, HookPoint};
use crate::numerics::dot;

/// The emotion readout at one layer: `scores = x · basisᵀ − offsets`, read by a projection at
/// the block's output (only the scores leave the device).
#[derive(Debug, Clone, PartialEq)]
pub struct Readout {
    pub layer: usize,
    /// `(n, d)` row-major, one unit direction per emotion.
    pub basis: Vec<f32>,
    /// `(n)`: each direction's score of the centre of all emotions.
    pub offsets: Vec<f32>,
}

impl Readout {
    /// Where it reads.
    pub fn point(&self) -> HookPoint {
        HookPoint::ResidPost(self.layer)
    }

    /// The number of emotions.
    pub fn n(&self) -> usize {
        self.offsets.len()
    }

    /// Scores `(T, n)` from a pass's captures: its projection's rows minus the offsets (`None`
    /// when the pass has no projection of this shape at this point).
    pub fn scores(&self, captures: &Captures) -> Option<Vec<f32>> {
        let n = self.n();
        let c = captures
            .entries
            .iter()
            .rev()
            .find(|c| c.point == self.point() && c.cols == n)?;
        Some(
            c.values
                .chunks_exact(n)
                .flat_map(|row| row.iter().zip(&self.offsets).map(|(s, o)| s - o))
                .collect(),
        )
    }
}

/// Running means `(T, n)` of `scores (T, n)` over the last `w` tokens (fewer at the start).
pub fn smooth(scores: &[f32], n: usize, w: usize) -> Vec<f32> {
    let w = w.max(1);
    let t_len = scores.len() / n.max(1);
    let mut out = vec![0.0f32; scores.len()];
    let mut acc = vec![0.0f64; n];
    for t in 0..t_len {
        for e in 0..n {
            acc[e] += scores[t * n + e] as f64;
            if t >= w {
                acc[e] -= scores[(t - w) * n + e] as f64;
            }
        }
        let k = (t + 1).min(w) as f64;
        for e in 0..n {
            out[t * n + e] = (acc[e] / k) as f32;
        }
    }
    out
}

/// Index of the largest score in a row.
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold(0, |b, (i, &v)| if v > row[b] { i } else { b })
}

/// Per emotion, the mean and standard deviation of smoothed scores on neutral text; and where
/// measured, the direction that tells emotional text from neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// `(n)`.
    pub mean: Vec<f32>,
    /// `(n)`, each > 0.
    pub sd: Vec<f32>,
    pub emotional: Option<Emotional>,
}

/// How emotional a smoothed row `s (n)` reads: `(w · s − mean) / sd`, `w` the discriminant of
/// emotional stories' smoothed scores against neutral text's (their pooled within-class
/// covariance shrunk toward the identity, as the readout's vectors are), and `mean`, `sd` those of
/// `w · s` on neutral text.
#[derive(Debug, Clone, PartialEq)]
pub struct Emotional {
    /// `(n)`, unit length.
    pub w: Vec<f32>,
    pub mean: f32,
    /// > 0.
    pub sd: f32,
}

impl Emotional {
    /// From smoothed rows `(T, n)` of emotional stories and of neutral text, the covariance shrunk
    /// by `lambda` (see [`discriminant`]).
    pub fn fit(stories: &[f32], neutral: &[f32], n: usize, lambda: f64) -> crate::Result<Self> {
        let mean = |x: &[f32]| -> Vec<f64> {
            let t = (x.len() / n).max(1) as f64;
            let mut m = vec![0.0; n];
            for row in x.chunks_exact(n) {
                m.iter_mut().zip(row).for_each(|(a, &v)| *a += v as f64 / t);
            }
            m
        };
        let diff: Vec<f32> = mean(stories)
            .iter()
            .zip(mean(neutral))
            .map(|(a, b)| (a - b) as f32)
            .collect();
        // The two classes' pooled within-class covariance.
        let rows: Vec<(usize, &[f32])> = [stories, neutral]
            .iter()
            .enumerate()
            .flat_map(|(k, x)| x.chunks_exact(n).map(move |r| (k, r)))
            .collect();
        let w = discriminant(&diff, &within_scatter(&rows, &[], n), n, lambda)?;
        let along: Vec<f64> = neutral
            .chunks_exact(n)
            .map(|row| dot(&w, row) as f64)
            .collect();
        let k = along.len().max(1) as f64;
        let m = along.iter().sum::<f64>() / k;
        let sd = (along.iter().map(|a| (a - m).powi(2)).sum::<f64>() / k).sqrt();
        Ok(Self {
            w,
            mean: m as f32,
            sd: (sd as f32).max(1e-6),
        })
    }

    /// The intensity of one smoothed row.
    pub fn score(&self, row: &[f32]) -> f32 {
        (dot(&self.w, row) - self.mean) / self.sd
    }

    /// As stored (the vectors file, the page): `w`, then `mean` and `sd` (n + 2 values).
    pub fn to_row(&self) -> impl Iterator<Item = f32> + '_ {
        self.w.iter().copied().chain([self.mean, self.sd])
    }

    /// From a stored row of `n + 2` values; `None` unless every value is finite and `sd` > 0.
    pub fn from_row(row: &[f32]) -> Option<Self> {
        let (&sd, rest) = row.split_last()?;
        let (&mean, w) = rest.split_last()?;
        (row.iter().all(|x| x.is_finite()) && sd > 0.0).then(|| Self {
            w: w.to_vec(),
            mean,
            sd,
        })
    }
}

impl Calibration {
    /// From smoothed scores `(T, n)` of neutral tokens.
    pub fn fit(smoothed: &[f32], n: usize) -> Self {
        let mut sum = vec![0.0f64; n];
        let mut sq = vec![0.0f64; n];
        for row in smoothed.chunks_exact(n) {
            for (e, &v) in row.iter().enumerate() {
                sum[e] += v as f64;
                sq[e] += (v as f64).powi(2);
            }
        }
        Self::from_sums(&sum, &sq, smoothed.len() / n.max(1))
    }

    /// From per-emotion sums of scores and of their squares over `count` tokens (a spread is
    /// never below 1e-6, so a z-score stays finite).
    pub fn from_sums(sum: &[f64], sq: &[f64], count: usize) -> Self {
        let t = count.max(1) as f64;
        Self {
            mean: sum.iter().map(|m| (m / t) as f32).collect(),
            sd: sum
                .iter()
                .zip(sq)
                .map(|(m, q)| ((q / t - (m / t).powi(2)).max(0.0).sqrt() as f32).max(1e-6))
                .collect(),
            emotional: None,
        }
    }

    /// Intensity of one smoothed row `(n)`: along the emotional direction where there is one,
    /// else the z-score of its top emotion.
    pub fn intensity(&self, row: &[f32]) -> f32 {
        if let Some(e) = &self.emotional {
            return e.score(row);
        }
        let e = argmax(row);
        (row[e] - self.mean[e]) / self.sd[e]
    }
}

/// Area under the ROC curve: the chance that a random `pos` value exceeds a random `neg` one
/// (ties count half).
pub fn auc(pos: &[f32], neg: &[f32]) -> f64 {
    let mut all: Vec<(f32, bool)> = pos
        .iter()
        .map(|&v| (v, true))
        .chain(neg.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0.0f64, 0);
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += all[i..=j].iter().filter(|x| x.1).count() as f64 * r;
        i = j + 1;
    }
    let (p, q) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * q).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emotional_direction_separates_what_it_was_fitted_on_and_scores_neutral_near_zero() {
        // Three emotions; neutral rows noise around 0, emotional rows shifted on the first two
        // (with a large shared noise on the third, which must not count).
        let n = 3;
        let mut seed = 7u64;
        let mut noise = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let (mut stories, mut neutral) = (Vec::new(), Vec::new());
        for _ in 0..400 {
            stories.extend([1.0 + noise(), 0.5 + noise(), 10.0 * noise()]);
            neutral.extend([noise(), noise(), 10.0 * noise()]);
        }
        let e = Emotional::fit(&stories, &neutral, n, 0.3).unwrap();
        let norm: f32 = e.w.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "not unit length: {norm}");
        assert!(
            e.w[2].abs() < 0.2 * e.w[0].abs(),
            "the noisy score counts: {:?}",
            e.w
        );
        let (s, z): (Vec<f32>, Vec<f32>) = (
            stories.chunks_exact(n).map(|r| e.score(r)).collect(),
            neutral.chunks_exact(n).map(|r| e.score(r)).collect(),
        );
        let mean = z.iter().sum::<f32>() / z.len() as f32;
        let sd = (z.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / z.len() as f32).sqrt();
        assert!(
            mean.abs() < 1e-3 && (sd - 1.0).abs() < 1e-3,
            "neutral {mean} ± {sd}"
        );
        assert!(auc(&s, &z) > 0.99);
        // A calibration with the direction reads intensity along it.
        let c = Calibration {
            emotional: Some(e.clone()),
            ..Calibration::from_sums(&[0.0; 3], &[1.0; 3], 1)
        };
        assert_eq!(c.intensity(&[1.0, 0.5, 0.0]), e.score(&[1.0, 0.5, 0.0]));
    }
}
