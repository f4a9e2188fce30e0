//! The maths of extraction: story means, the neutral principal components, emotion effects.
//!
//! Per layer `l`: each story's residual stream (`hook_resid_post`) is averaged over its tokens
//! from an offset on. The paper takes, per emotion, the mean of its stories minus the mean over
//! all emotions. limbic fits each story mean as emotion effect + topic effect + person effect
//! by least squares ([`fit_effects`]; with a topic grid shared by every emotion this removes
//! what the stories' settings, not their emotion, put into the mean) and uses the emotion
//! effects minus their mean; [`emotion_directions`] is the plain means, kept for comparison.
//! Then the top principal components of the neutral dialogues' token activations (explaining
//! 50 % of their variance) are projected out, and each vector is scaled to unit length.
//! Orientation is fixed by construction (emotion minus the grand mean), so no PCA sign
//! ambiguity reaches the vectors.
//!
//! Those are the paper's vectors (kept for steering: what adding them does). For the readout,
//! limbic reads each emotion along its discriminant direction instead ([`discriminant`]): the
//! same vector multiplied by the inverse of the stories' within-emotion covariance, shrunk
//! toward a multiple of the identity by `λ` (chosen by cross-validation; `λ = 1` is the paper's
//! vector). Directions in which stories of one emotion vary a lot (their topic, their
//! narrator, their length) count for less, so a reading says more about the emotion.

use nalgebra::{Cholesky, DMatrix, Dyn, SymmetricEigen};

use crate::error::{Error, Result};

/// Token offsets tried on the dev split (the paper uses the 50th token).
pub const OFFSETS: [usize; 5] = [0, 5, 10, 25, 50];
/// Share of the neutral dialogues' variance whose components are projected out.
pub const NEUTRAL_VARIANCE: f64 = 0.5;

/// What one story leaves behind: per layer and per offset segment, sums of residual vectors
/// and of their norms. Segment `k` covers tokens `OFFSETS[k]..OFFSETS[k+1]` (the last to the end).
#[derive(Debug, Clone, PartialEq)]
pub struct StoryStats {
    pub n_tokens: usize,
    /// `(n_layer, OFFSETS.len(), d)` row-major.
    pub sums: Vec<f32>,
    /// `(n_layer, OFFSETS.len())`.
    pub norm_sums: Vec<f32>,
    /// Tokens per segment.
    pub counts: [usize; OFFSETS.len()],
}

impl StoryStats {
    /// From per-layer captures `(T, d)` of one story.
    pub fn new(layers: &[&[f32]], d: usize) -> Self {
        let k = OFFSETS.len();
        let t_len = layers.first().map_or(0, |x| x.len() / d);
        let seg = |t: usize| OFFSETS.iter().rposition(|&o| t >= o).unwrap_or(0);
        let mut sums = vec![0.0f32; layers.len() * k * d];
        let mut norm_sums = vec![0.0f32; layers.len() * k];
        let mut counts = [0usize; OFFSETS.len()];
        for t in 0..t_len {
            counts[seg(t)] += 1;
        }
        for (l, x) in layers.iter().enumerate() {
            for t in 0..t_len {
                let s = seg(t);
                let row = &x[t * d..(t + 1) * d];
                let acc = &mut sums[(l * k + s) * d..(l * k + s + 1) * d];
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
                norm_sums[l * k + s] += row.iter().map(|v| v * v).sum::<f32>().sqrt();
            }
        }
        Self {
            n_tokens: t_len,
            sums,
            norm_sums,
            counts,
        }
    }

    /// Mean residual vector at `layer` over tokens from `OFFSETS[offset]` on (all tokens when the
    /// story is shorter), `(d)`.
    pub fn mean(&self, layer: usize, offset: usize, d: usize) -> Vec<f32> {
        let k = OFFSETS.len();
        let from = if self.counts[offset..].iter().sum::<usize>() == 0 {
            0
        } else {
            offset
        };
        let n: usize = self.counts[from..].iter().sum();
        let mut m = vec![0.0f32; d];
        for s in from..k {
            for (a, v) in m
                .iter_mut()
                .zip(&self.sums[(layer * k + s) * d..(layer * k + s + 1) * d])
            {
                *a += v;
            }
        }
        m.iter_mut().for_each(|a| *a /= n.max(1) as f32);
        m
    }

    /// (sum of token norms, tokens) at `layer` from `OFFSETS[offset]` on.
    pub fn norms(&self, layer: usize, offset: usize) -> (f32, usize) {
        let k = OFFSETS.len();
        (
            self.norm_sums[layer * k + offset..layer * k + k]
                .iter()
                .sum(),
            self.counts[offset..].iter().sum(),
        )
    }
}

/// Running mean and second moment of token activations, per layer (for the neutral PCs).
#[derive(Debug, Clone)]
pub struct Moments {
    pub d: usize,
    pub n: usize,
    /// `(n_layer, d)`.
    pub sum: Vec<f64>,
    /// `(n_layer, d, d)`: Σ x xᵀ.
    pub outer: Vec<f64>,
}

impl Moments {
    pub fn new(n_layer: usize, d: usize) -> Self {
        Self {
            d,
            n: 0,
            sum: vec![0.0; n_layer * d],
            outer: vec![0.0; n_layer * d * d],
        }
    }

    /// Adds the rows of `x (T, d)` at `layer`; `xtx` is `xᵀx (d, d)` computed by the caller
    /// (a matrix product on the backend). Call `count` once per batch of layers.
    pub fn add(&mut self, layer: usize, x: &[f32], xtx: &[f32]) {
        let d = self.d;
        for row in x.chunks_exact(d) {
            for (a, v) in self.sum[layer * d..(layer + 1) * d].iter_mut().zip(row) {
                *a += *v as f64;
            }
        }
        for (a, v) in self.outer[layer * d * d..(layer + 1) * d * d]
            .iter_mut()
            .zip(xtx)
        {
            *a += *v as f64;
        }
    }

    pub fn count(&mut self, tokens: usize) {
        self.n += tokens;
    }

    pub fn merge(&mut self, other: &Moments) {
        self.n += other.n;
        self.sum
            .iter_mut()
            .zip(&other.sum)
            .for_each(|(a, b)| *a += b);
        self.outer
            .iter_mut()
            .zip(&other.outer)
            .for_each(|(a, b)| *a += b);
    }

    /// Covariance `(d, d)` at `layer`.
    pub fn covariance(&self, layer: usize) -> Vec<f64> {
        let (d, n) = (self.d, self.n.max(1) as f64);
        let mean: Vec<f64> = self.sum[layer * d..(layer + 1) * d]
            .iter()
            .map(|s| s / n)
            .collect();
        let mut cov = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] = self.outer[layer * d * d + i * d + j] / n - mean[i] * mean[j];
            }
        }
        cov
    }
}

/// The fewest leading principal components of a covariance `(d, d)` that explain at least
/// `frac` of its variance: orthonormal rows `(k, d)`, and the share each explains.
pub fn principal_components(cov: &[f64], d: usize, frac: f64) -> (Vec<Vec<f32>>, Vec<f64>) {
    let eig = SymmetricEigen::new(DMatrix::from_row_slice(d, d, cov));
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let total: f64 = eig.eigenvalues.iter().map(|v| v.max(0.0)).sum();
    let (mut basis, mut shares, mut acc) = (Vec::new(), Vec::new(), 0.0);
    for i in order {
        if acc >= frac || total <= 0.0 {
            break;
        }
        let share = eig.eigenvalues[i].max(0.0) / total;
        acc += share;
        shares.push(share);
        basis.push(
            eig.eigenvectors
                .column(i)
                .iter()
                .map(|&v| v as f32)
                .collect(),
        );
    }
    (basis, shares)
}

/// Emotion directions `(n, d)`: the mean of each emotion's story means minus the mean over
/// emotions. `story_means` pairs an emotion index with one story's mean `(d)`.
pub fn emotion_directions(
    story_means: &[(usize, Vec<f32>)],
    n: usize,
    d: usize,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let mut sums = vec![0.0f64; n * d];
    let mut counts = vec![0usize; n];
    for (e, m) in story_means {
        counts[*e] += 1;
        for (a, v) in sums[e * d..(e + 1) * d].iter_mut().zip(m) {
            *a += *v as f64;
        }
    }
    if let Some(e) = counts.iter().position(|&c| c == 0) {
        return Err(Error::Io(std::io::Error::other(format!(
            "emotion #{e} has no training story"
        ))));
    }
    let means: Vec<f64> = sums
        .chunks_exact(d)
        .zip(&counts)
        .flat_map(|(s, &c)| s.iter().map(move |v| v / c as f64))
        .collect();
    let grand: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|e| means[e * d + j]).sum::<f64>() / n as f64)
        .collect();
    let dirs = means
        .iter()
        .enumerate()
        .map(|(i, m)| (m - grand[i % d]) as f32)
        .collect();
    Ok((dirs, grand.iter().map(|&g| g as f32).collect()))
}

/// Within-level covariance `(d, d)` of `samples` (level, mean `(d)`): each sample minus its
/// level's mean, the span of `basis` projected out, averaged outer products.
pub fn within_scatter(samples: &[(usize, &[f32])], basis: &[Vec<f32>], d: usize) -> Vec<f64> {
    let levels = samples.iter().map(|s| s.0 + 1).max().unwrap_or(0);
    let mut sum = vec![0.0f64; levels * d];
    let mut count = vec![0usize; levels];
    for (k, x) in samples {
        count[*k] += 1;
        sum[k * d..(k + 1) * d]
            .iter_mut()
            .zip(x.iter())
            .for_each(|(a, &v)| *a += v as f64);
    }
    let mut resid: Vec<f32> = samples
        .iter()
        .flat_map(|(k, x)| {
            let (s, c) = (&sum[k * d..(k + 1) * d], count[*k] as f64);
            x.iter()
                .zip(s)
                .map(move |(&v, m)| (v as f64 - m / c) as f32)
        })
        .collect();
    project_out(&mut resid, d, basis);
    // Samples as columns `(d, n)`; the product through nalgebra's blocked GEMM (its `tr_mul`
    // takes dot products column by column: 8x slower at the corpus's 7,700 × 576).
    let rt = DMatrix::from_column_slice(d, samples.len(), &resid).map(|v| v as f64);
    let s = &rt * rt.transpose() / samples.len().max(1) as f64;
    s.as_slice().to_vec()
}

/// The same within-level covariance as [`within_scatter`] from sums: `gram` the sum of the
/// samples' outer products `(d, d)`, `sums (levels, d)` and `counts` each level's sum and count,
/// all after subtracting one fixed vector (which changes no scatter and keeps the difference
/// below well-conditioned): `(gram − Σ_k s_k s_kᵀ / n_k) / Σ n_k`, the span of `basis` projected
/// out on both sides. Sums over folds add, so cross-validation forms each fold's scatter
/// without another pass over its stories.
pub fn scatter_from_sums(
    gram: &DMatrix<f64>,
    sums: &[f64],
    counts: &[usize],
    basis: &[Vec<f32>],
    d: usize,
) -> Vec<f64> {
    let total: usize = counts.iter().sum();
    let scaled: Vec<f64> = sums
        .chunks_exact(d)
        .zip(counts)
        .flat_map(|(s, &c)| s.iter().map(move |v| v / (c.max(1) as f64).sqrt()))
        .collect();
    let m = DMatrix::from_row_slice(counts.len(), d, &scaled);
    let mut s = (gram - m.transpose() * m) / total.max(1) as f64;
    if !basis.is_empty() {
        let b = DMatrix::from_row_slice(basis.len(), d, &basis.concat()).map(|x| x as f64);
        // P S P with P = I − BᵀB: S − Bᵀ(BS) − (SBᵀ)B + Bᵀ(BSBᵀ)B.
        let bs = &b * &s;
        let bsb = &bs * b.transpose();
        s = &s - b.transpose() * &bs - bs.transpose() * &b + b.transpose() * bsb * &b;
    }
    s.as_slice().to_vec()
}

/// Discriminant directions `(n, d)`, unit length: each row of `dirs` solved against the
/// covariance `scatter (d, d)` shrunk toward `tr/d · I` by `lambda` in (0, 1]: `(1 − λ) S + λ tr/d I`.
/// `λ = 1` gives `dirs` themselves (normalised).
pub fn discriminant(dirs: &[f32], scatter: &[f64], d: usize, lambda: f64) -> Result<Vec<f32>> {
    Ok(discriminant_scores(dirs, scatter, d, lambda)?.0)
}

/// The Cholesky factor of the covariance `scatter (d, d)` shrunk toward `tr/d · I` by `lambda`:
/// `(1 − λ) S + λ tr/d I`.
pub fn shrunk(scatter: &[f64], d: usize, lambda: f64) -> Result<Cholesky<f64, Dyn>> {
    let s = DMatrix::from_row_slice(d, d, scatter);
    let t = s.trace() / d as f64;
    let a = s * (1.0 - lambda) + DMatrix::<f64>::identity(d, d) * (lambda * t);
    a.cholesky()
        .ok_or_else(|| Error::Model("within-emotion covariance is not positive definite".into()))
}

/// [`discriminant`]'s unit directions `v̂ (n, d)` with the weight and bias `(n)` that make
/// `weight_e · v̂_e·x + bias_e` the linear discriminant's score of a centred `x`: with
/// `w_e = A⁻¹ m_e` (`m_e` the rows of `dirs`, `A` the shrunk covariance), `w_e·x − ½ w_e·m_e`,
/// the log-likelihood of `x` under a Gaussian around `m_e` with covariance `A` (up to a constant
/// shared by all emotions), divided by the mean `|w_e|` (one scale for all: no ranking changes).
/// At `λ = 1` weight 1 and bias 0: the projections onto the means, as the paper ranks.
pub fn discriminant_scores(
    dirs: &[f32],
    scatter: &[f64],
    d: usize,
    lambda: f64,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let n = dirs.len() / d;
    let mut out = dirs.to_vec();
    let (mut weight, mut bias) = (vec![1.0f32; n], vec![0.0f32; n]);
    if lambda < 1.0 {
        let chol = shrunk(scatter, d, lambda)?;
        let v = DMatrix::from_row_slice(n, d, dirs).map(|x| x as f64);
        let w = chol.solve(&v.transpose());
        let norms: Vec<f64> = w.column_iter().map(|c| c.norm()).collect();
        let scale = norms.iter().sum::<f64>() / n.max(1) as f64;
        for (e, row) in out.chunks_exact_mut(d).enumerate() {
            row.iter_mut()
                .zip(w.column(e).iter())
                .for_each(|(o, &x)| *o = x as f32);
            weight[e] = (norms[e] / scale) as f32;
            bias[e] = (-0.5 * w.column(e).dot(&v.row(e).transpose()) / scale) as f32;
        }
    }
    normalise_rows(&mut out, d);
    Ok((out, weight, bias))
}

/// Removes the span of orthonormal `basis` rows from every row of `rows (n, d)`.
pub fn project_out(rows: &mut [f32], d: usize, basis: &[Vec<f32>]) {
    for row in rows.chunks_exact_mut(d) {
        for b in basis {
            let c: f32 = row.iter().zip(b).map(|(x, y)| x * y).sum();
            row.iter_mut().zip(b).for_each(|(x, y)| *x -= c * y);
        }
    }
}

/// Scales every row of `rows (n, d)` to unit length (a zero row stays zero).
pub fn normalise_rows(rows: &mut [f32], d: usize) {
    for row in rows.chunks_exact_mut(d) {
        let n = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.0 {
            row.iter_mut().for_each(|x| *x /= n);
        }
    }
}

/// Top-1 and top-5 accuracy of ranking each `(emotion, x)` among `n` unit directions by
/// `(x − centre) · v`.
pub fn rank_accuracy(
    samples: &[(usize, Vec<f32>)],
    dirs: &[f32],
    centre: &[f32],
    d: usize,
) -> (f64, f64) {
    let n = dirs.len() / d;
    let (mut top1, mut top5) = (0usize, 0usize);
    for (e, x) in samples {
        let xc: Vec<f32> = x.iter().zip(centre).map(|(a, c)| a - c).collect();
        let scores: Vec<f32> = (0..n)
            .map(|k| {
                dirs[k * d..(k + 1) * d]
                    .iter()
                    .zip(&xc)
                    .map(|(v, x)| v * x)
                    .sum()
            })
            .collect();
        let better = scores.iter().filter(|&&s| s > scores[*e]).count();
        top1 += (better == 0) as usize;
        top5 += (better < 5) as usize;
    }
    let m = samples.len().max(1) as f64;
    (top1 as f64 / m, top5 as f64 / m)
}

/// Where one story mean sits in the design: its emotion level (the neutral scenes are one more
/// level), its topic, and its person (none for neutral scenes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Design {
    pub level: usize,
    pub topic: usize,
    pub person: Option<usize>,
}

/// Backfitting stops when no effect moves by more than this (residual units) in a sweep, or
/// after [`FIT_SWEEPS`].
const FIT_TOLERANCE: f64 = 1e-5;
const FIT_SWEEPS: usize = 100;

/// Least-squares fit of `x_i ≈ a[level_i] + b[topic_i] + c[person_i]` over `samples` of
/// `(design, mean (d))`, by backfitting (Gauss–Seidel on the normal equations); `b` and `c` are
/// centred, so `a` carries the intercept. With `topics == false`, `b = c = 0` and `a` is the
/// plain mean per level. Returns `a (n_levels, d)`; a level with no sample is an error.
pub fn fit_effects(
    samples: &[(Design, &[f32])],
    n_levels: usize,
    n_topics: usize,
    d: usize,
    topics: bool,
) -> Result<Vec<f32>> {
    let e = fit_factors(samples, n_levels, n_topics, d, topics)?;
    Ok(e.level.iter().map(|&v| v as f32).collect())
}

/// All three sets of effects of [`fit_effects`], each `(levels, d)`: `topic` and `person`
/// centred (zero where the fit has none).
pub struct Effects {
    pub level: Vec<f64>,
    pub topic: Vec<f64>,
    pub person: Vec<f64>,
}

impl Effects {
    /// `x` minus its topic and person effects: what the level's effect is the mean of.
    pub fn residual(&self, k: &Design, x: &[f32]) -> Vec<f64> {
        let d = x.len();
        let t = &self.topic[k.topic * d..(k.topic + 1) * d];
        let p = k.person.map(|p| &self.person[p * d..(p + 1) * d]);
        (0..d)
            .map(|j| x[j] as f64 - t[j] - p.map_or(0.0, |p| p[j]))
            .collect()
    }
}

/// [`fit_effects`], returning every factor's effects.
pub fn fit_factors(
    samples: &[(Design, &[f32])],
    n_levels: usize,
    n_topics: usize,
    d: usize,
    topics: bool,
) -> Result<Effects> {
    let mut count = vec![0usize; n_levels];
    samples.iter().for_each(|(k, _)| count[k.level] += 1);
    if let Some(e) = count.iter().position(|&c| c == 0) {
        return Err(Error::Io(std::io::Error::other(format!(
            "emotion level #{e} has no training story"
        ))));
    }
    let mut a = vec![0.0f64; n_levels * d];
    let mut b = vec![0.0f64; n_topics * d];
    let mut c = vec![0.0f64; 2 * d];
    let zero = vec![0.0f64; d];
    for _ in 0..if topics { FIT_SWEEPS } else { 1 } {
        let before = a.clone();
        // Each factor in turn: the mean residual of its samples given the other two.
        let a_new = factor_means(
            samples,
            n_levels,
            d,
            |k| Some(k.level),
            |k| {
                (
                    &b[k.topic * d..(k.topic + 1) * d],
                    k.person.map_or(&zero[..], |p| &c[p * d..(p + 1) * d]),
                )
            },
        );
        a = a_new;
        if !topics {
            break;
        }
        b = factor_means(
            samples,
            n_topics,
            d,
            |k| Some(k.topic),
            |k| {
                (
                    &a[k.level * d..(k.level + 1) * d],
                    k.person.map_or(&zero[..], |p| &c[p * d..(p + 1) * d]),
                )
            },
        );
        centre_levels(&mut b, d);
        c = factor_means(
            samples,
            2,
            d,
            |k| k.person,
            |k| {
                (
                    &a[k.level * d..(k.level + 1) * d],
                    &b[k.topic * d..(k.topic + 1) * d],
                )
            },
        );
        centre_levels(&mut c, d);
        let moved = a
            .iter()
            .zip(&before)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        if moved < FIT_TOLERANCE {
            break;
        }
    }
    Ok(Effects {
        level: a,
        topic: b,
        person: c,
    })
}

/// Per level of one factor (`key`; `None` leaves a sample out): the mean over its samples of
/// `x − other₁ − other₂`, with `others` the two other factors' effects for that sample. A level
/// with no sample gets NaN, which [`centre_levels`] leaves out and then sets to 0.
fn factor_means<'e>(
    samples: &[(Design, &[f32])],
    n: usize,
    d: usize,
    key: impl Fn(&Design) -> Option<usize>,
    others: impl Fn(&Design) -> (&'e [f64], &'e [f64]),
) -> Vec<f64> {
    let mut sum = vec![0.0f64; n * d];
    let mut cnt = vec![0usize; n];
    for (k, x) in samples {
        let Some(i) = key(k) else { continue };
        cnt[i] += 1;
        let (o1, o2) = others(k);
        for (((s, &x), &p), &q) in sum[i * d..(i + 1) * d]
            .iter_mut()
            .zip(x.iter())
            .zip(o1)
            .zip(o2)
        {
            *s += x as f64 - p - q;
        }
    }
    for (row, &k) in sum.chunks_exact_mut(d).zip(&cnt) {
        row.iter_mut()
            .for_each(|v| *v = if k > 0 { *v / k as f64 } else { f64::NAN });
    }
    sum
}

/// Subtracts the mean over the levels that have samples (non-NaN rows); empty levels become 0.
fn centre_levels(eff: &mut [f64], d: usize) {
    let used: Vec<usize> = (0..eff.len() / d)
        .filter(|&i| !eff[i * d].is_nan())
        .collect();
    for j in 0..d {
        let m = used.iter().map(|&i| eff[i * d + j]).sum::<f64>() / used.len().max(1) as f64;
        used.iter().for_each(|&i| eff[i * d + j] -= m);
    }
    eff.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = 0.0);
}

/// Directions `(n, d)` and centre `(d)` from effects `a (n_levels ≥ n, d)`: the first `n`
/// levels (the emotions) minus their mean, which is the centre.
pub fn centred(a: &[f32], n: usize, d: usize) -> (Vec<f32>, Vec<f32>) {
    let centre: Vec<f32> = (0..d)
        .map(|j| (0..n).map(|e| a[e * d + j] as f64).sum::<f64>() as f32 / n as f32)
        .collect();
    let dirs = a[..n * d]
        .iter()
        .enumerate()
        .map(|(i, v)| v - centre[i % d])
        .collect();
    (dirs, centre)
}
