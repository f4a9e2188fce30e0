//! Small numerics shared above the backends: the dot product of two rows, the log-softmax of
//! a row of logits, and the sum of squares every backend's norm takes. (The CPU backend keeps
//! its own fixed-order dot for bit-identical kernels.)

/// Σ a_i b_i.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Σ v², in the order every backend sums it: 32 strided partial sums (partial j takes values
/// j, j + 32, j + 64, … in turn), then the 32 partials in order. A GPU sums a row over 32 lanes
/// at once in exactly this order, so its norms equal the CPU's to the last bit.
pub fn sum_sq(row: &[f32]) -> f32 {
    let mut part = [0f32; 32];
    for chunk in row.chunks(32) {
        for (p, v) in part.iter_mut().zip(chunk) {
            *p += v * v;
        }
    }
    part.iter().sum()
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
