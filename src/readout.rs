//! The per-token readout the page shows: which emotion (a running mean of the raw scores over
//! the last `w` tokens, ranked) and whether any (an intensity: the smoothed scores standardised
//! against neutral text of the same register, see [`Calibration`]).
//!
//! A single token's raw scores mostly reflect that token, not the passage: averaging over a few
//! tokens ranks the passage's emotion far better. And raw scores have no zero — neutral text
//! scores as high as emotional text — so the intensity compares each emotion's smoothed score
//! with its spread on neutral text: `z_e = (s_e − μ_e) / σ_e`, and the token's intensity is the
//! z of its top emotion.

use crate::hooks::{Captures, HookPoint};

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

/// Per emotion, the mean and standard deviation of smoothed scores on neutral text.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// `(n)`.
    pub mean: Vec<f32>,
    /// `(n)`, each > 0.
    pub sd: Vec<f32>,
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
        }
    }

    /// Intensity of one smoothed row `(n)`: the z-score of its top emotion.
    pub fn intensity(&self, row: &[f32]) -> f32 {
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
