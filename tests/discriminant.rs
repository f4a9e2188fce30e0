//! The readout's discriminant on synthetic activations: it reads past a noisy direction, and its
//! scores (unit direction, weight, bias) rank as the Gaussian likelihood under the shrunk
//! within-emotion covariance does.

mod common;

use common::{cos, Rng};
use limbic::extract::{
    discriminant, discriminant_scores, emotion_directions, fit_effects, fit_factors,
    normalise_rows, rank_accuracy, scatter_from_sums, shrunk, within_scatter, Design,
};
use nalgebra::{DMatrix, DVector};

const D: usize = 48;
const N: usize = 6;

#[test]
fn the_discriminant_reads_past_a_noisy_direction_and_lambda_one_is_the_mean() {
    // Emotions differ a little along every axis; stories of one emotion vary a lot along a few
    // axes (their topic, say), which the plain means cannot tell from the emotion.
    let mut rng = Rng(11);
    let planted: Vec<Vec<f32>> = (0..N).map(|_| rng.vec(D, 0.6)).collect();
    let loud: Vec<Vec<f32>> = (0..4).map(|_| rng.vec(D, 1.0)).collect();
    let mut stories = Vec::new();
    for (e, u) in planted.iter().enumerate() {
        for _ in 0..60 {
            let w: Vec<f32> = loud.iter().map(|_| rng.next() * 6.0).collect();
            let noise = rng.vec(D, 0.3);
            let x: Vec<f32> = (0..D)
                .map(|j| u[j] + noise[j] + loud.iter().zip(&w).map(|(l, w)| w * l[j]).sum::<f32>())
                .collect();
            stories.push((e, x));
        }
    }
    let (train, test): (Vec<_>, Vec<_>) = stories.iter().enumerate().partition(|(i, _)| i % 3 != 0);
    let train: Vec<(usize, Vec<f32>)> = train.into_iter().map(|(_, s)| s.clone()).collect();
    let test: Vec<(usize, Vec<f32>)> = test.into_iter().map(|(_, s)| s.clone()).collect();
    let (dirs, centre) = emotion_directions(&train, N, D).unwrap();
    let labelled: Vec<(usize, &[f32])> = train.iter().map(|(e, x)| (*e, x.as_slice())).collect();
    let scatter = within_scatter(&labelled, &[], D);
    let mut plain = dirs.clone();
    normalise_rows(&mut plain, D);
    assert_eq!(discriminant(&dirs, &scatter, D, 1.0).unwrap(), plain);
    let disc = discriminant(&dirs, &scatter, D, 0.1).unwrap();
    let (p1, _) = rank_accuracy(&test, &plain, &centre, D);
    let (d1, _) = rank_accuracy(&test, &disc, &centre, D);
    assert!(
        d1 > p1 + 0.2 && d1 > 0.8,
        "discriminant top-1 {d1} vs means {p1}"
    );
    // The loud axes carry no within-emotion weight in the discriminant.
    for l in &loud {
        let mut u = l.clone();
        normalise_rows(&mut u, D);
        for row in disc.chunks_exact(D) {
            assert!(
                cos(row, &u).abs() < 0.2,
                "cos with a loud axis {}",
                cos(row, &u)
            );
        }
    }
    // Identical stories per emotion have no within-emotion spread; a basis is projected out.
    let same: Vec<(usize, &[f32])> = planted
        .iter()
        .enumerate()
        .flat_map(|(e, u)| [(e, u.as_slice()), (e, u.as_slice())])
        .collect();
    assert!(within_scatter(&same, &[], D).iter().all(|v| v.abs() < 1e-9));
    let mut b = loud[0].clone();
    normalise_rows(&mut b, D);
    let s = within_scatter(&labelled, std::slice::from_ref(&b), D);
    let sb: f64 = (0..D)
        .map(|i| {
            (0..D)
                .map(|j| s[i * D + j] * b[j] as f64)
                .sum::<f64>()
                .powi(2)
        })
        .sum();
    assert!(sb < 1e-6, "the projected-out axis keeps variance {sb}");
}

#[test]
fn discriminant_scores_are_the_gaussian_log_likelihood_up_to_one_scale() {
    // Means of unequal length and stories spread unevenly: the unit directions alone would
    // favour the long means; weight and bias make the scores the likelihood's.
    let mut rng = Rng(5);
    let means: Vec<f32> = (0..N)
        .flat_map(|e| rng.vec(D, 0.2 + 0.3 * e as f32))
        .collect();
    let stretch = rng.vec(D, 1.0);
    let stories: Vec<(usize, Vec<f32>)> = (0..240)
        .map(|i| {
            let (e, w) = (i % N, rng.next() * 3.0);
            let x = (0..D).map(|j| means[e * D + j] + w * stretch[j] + rng.next() * 0.5);
            (e, x.collect())
        })
        .collect();
    let labelled: Vec<(usize, &[f32])> = stories.iter().map(|(e, x)| (*e, x.as_slice())).collect();
    let scatter = within_scatter(&labelled, &[], D);
    let lambda = 0.3;
    let (v, w, b) = discriminant_scores(&means, &scatter, D, lambda).unwrap();
    assert_eq!(v, discriminant(&means, &scatter, D, lambda).unwrap());
    let s = DMatrix::from_row_slice(D, D, &scatter);
    let t = s.trace() / D as f64;
    let inv = (s * (1.0 - lambda) + DMatrix::<f64>::identity(D, D) * (lambda * t))
        .try_inverse()
        .unwrap();
    let wide = |x: &[f32]| DVector::from_iterator(D, x.iter().map(|&a| a as f64));
    let mut scales = Vec::new();
    for _ in 0..20 {
        let x = rng.vec(D, 1.5);
        let ll: Vec<f64> = (0..N)
            .map(|e| {
                let r = wide(&x) - wide(&means[e * D..(e + 1) * D]);
                -0.5 * r.dot(&(&inv * &r))
            })
            .collect();
        let sc: Vec<f64> = (0..N)
            .map(|e| {
                let p: f32 = v[e * D..(e + 1) * D]
                    .iter()
                    .zip(&x)
                    .map(|(a, b)| a * b)
                    .sum();
                (w[e] * p + b[e]) as f64
            })
            .collect();
        // ll_e − ll_0 = scale · (sc_e − sc_0), one positive scale for every emotion and input.
        for e in 1..N {
            scales.push((ll[e] - ll[0]) / (sc[e] - sc[0]));
        }
    }
    let first = scales[0];
    assert!(first > 0.0, "scale {first}");
    for k in &scales {
        assert!((k / first - 1.0).abs() < 1e-3, "scales {first} and {k}");
    }
    // λ = 1: the projections onto the unit means, as the paper ranks.
    let (v1, w1, b1) = discriminant_scores(&means, &[], D, 1.0).unwrap();
    let mut unit = means.clone();
    normalise_rows(&mut unit, D);
    assert_eq!((v1, w1, b1), (unit, vec![1.0; N], vec![0.0; N]));
}

#[test]
fn the_scatter_from_per_fold_sums_is_the_measured_one() {
    // Two folds' sums added give the scatter of their stories together, a basis projected out,
    // whatever fixed vector was subtracted first.
    let mut rng = Rng(8);
    let stories: Vec<(usize, Vec<f32>)> = (0..90)
        .map(|i| (i % N, rng.vec(D, 2.0).iter().map(|x| x + 40.0).collect()))
        .collect();
    let mut b = rng.vec(D, 1.0);
    normalise_rows(&mut b, D);
    let basis = vec![b];
    let labelled: Vec<(usize, &[f32])> = stories.iter().map(|(e, x)| (*e, x.as_slice())).collect();
    let want = within_scatter(&labelled, &basis, D);
    let shift = rng.vec(D, 30.0);
    let mut gram = DMatrix::<f64>::zeros(D, D);
    let (mut sums, mut counts) = (vec![0.0f64; N * D], vec![0usize; N]);
    for fold in [0, 1] {
        for (e, x) in stories.iter().skip(fold).step_by(2) {
            let v = DVector::from_iterator(D, x.iter().zip(&shift).map(|(a, s)| (a - s) as f64));
            gram += &v * v.transpose();
            counts[*e] += 1;
            sums[e * D..(e + 1) * D]
                .iter_mut()
                .zip(v.iter())
                .for_each(|(s, x)| *s += x);
        }
    }
    let got = scatter_from_sums(&gram, &sums, &counts, &basis, D);
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4 * scale, "{g} vs {w}");
    }
}

#[test]
fn the_pair_bootstrap_rebuilds_a_fit_from_residuals_and_one_inverse() {
    // What the pair cosines' bootstrap relies on: each level's effect is the mean of its
    // samples' residuals (topic and person effects removed), and the discriminant's directions
    // are the rows of V A⁻¹ for the shrunk covariance's inverse, normalised.
    let mut rng = Rng(21);
    let (topics, levels) = (5, N);
    let effect: Vec<Vec<f32>> = (0..levels).map(|_| rng.vec(D, 1.0)).collect();
    let topic: Vec<Vec<f32>> = (0..topics).map(|_| rng.vec(D, 3.0)).collect();
    let person = rng.vec(D, 2.0);
    let mut means = Vec::new();
    for i in 0..240 {
        // Unbalanced: topic and level are correlated, so backfitting has work to do.
        let (e, t, p) = (i % levels, (i % levels + i / 7) % topics, (i / 11) % 2);
        let noise = rng.vec(D, 0.2);
        let x: Vec<f32> = (0..D)
            .map(|j| effect[e][j] + topic[t][j] + p as f32 * person[j] + noise[j])
            .collect();
        let k = Design {
            level: e,
            topic: t,
            person: Some(p),
        };
        means.push((k, x));
    }
    let samples: Vec<(Design, &[f32])> = means.iter().map(|(k, x)| (*k, x.as_slice())).collect();
    let fit = fit_factors(&samples, levels, topics, D, true).unwrap();
    let a = fit_effects(&samples, levels, topics, D, true).unwrap();
    for e in 0..levels {
        let own: Vec<Vec<f64>> = samples
            .iter()
            .filter(|(k, _)| k.level == e)
            .map(|(k, x)| fit.residual(k, x))
            .collect();
        for j in 0..D {
            let m = own.iter().map(|r| r[j]).sum::<f64>() / own.len() as f64;
            assert!(
                (m - a[e * D + j] as f64).abs() < 1e-3,
                "level {e}, {j}: {m} vs {}",
                a[e * D + j]
            );
        }
    }
    // The topics pulled no level: each effect is the planted one up to the shared intercept.
    for e in 0..levels {
        let mean = |j: usize| effect.iter().map(|u| u[j]).sum::<f32>() / levels as f32;
        let want: Vec<f32> = (0..D).map(|j| effect[e][j] - mean(j)).collect();
        let centre: Vec<f32> = (0..D)
            .map(|j| (0..levels).map(|f| a[f * D + j]).sum::<f32>() / levels as f32)
            .collect();
        let got: Vec<f32> = (0..D).map(|j| a[e * D + j] - centre[j]).collect();
        assert!(cos(&got, &want) > 0.98, "level {e}: {}", cos(&got, &want));
    }
    let lab: Vec<(usize, &[f32])> = samples.iter().map(|(k, x)| (k.level, *x)).collect();
    let scatter = within_scatter(&lab, &[], D);
    let lambda = 0.3;
    let want = discriminant(&a, &scatter, D, lambda).unwrap();
    let inv = shrunk(&scatter, D, lambda).unwrap().inverse();
    let v = DMatrix::from_row_slice(levels, D, &a).map(|x| x as f64);
    let mut got: Vec<f32> = (v * inv).transpose().iter().map(|&x| x as f32).collect();
    normalise_rows(&mut got, D);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "{g} vs {w}");
    }
}
