//! Small statistics for the validation report: correlations, ranks, k-means, the norms CSV.

use std::path::Path;

use limbic::extract::normalise_rows;
use limbic::numerics::dot;
use limbic::Result;

pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().max(1) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt().max(1e-12)
}

pub fn ranks(v: &[f64]) -> Vec<f64> {
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

pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// Deterministic spherical k-means on unit rows; returns the cluster of each row.
pub fn kmeans(rows: &[f32], d: usize, k: usize) -> Vec<usize> {
    let n = rows.len() / d;
    let row = |i: usize| &rows[i * d..(i + 1) * d];
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

pub fn read_norms(path: &Path) -> Result<Vec<(String, f64, f64)>> {
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
