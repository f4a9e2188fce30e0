//! Small numerics shared above the backends: the dot product of two rows and the log-softmax of
//! a row of logits. (The CPU backend keeps its own fixed-order dot for bit-identical kernels.)

/// Σ a_i b_i.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `log p_i = l_i − log Σ_j exp l_j`, summed in f64 from the largest logit down, so a row of
/// 49,152 logits neither overflows nor loses the small probabilities.
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = max as f64
        + logits
            .iter()
            .map(|&l| ((l - max) as f64).exp())
            .sum::<f64>()
            .ln();
    logits.iter().map(|&l| (l as f64 - lse) as f32).collect()
}
