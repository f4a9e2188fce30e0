//! Small numerics shared above the backends: the dot product of two rows, the log-softmax of
//! a row of logits, the sum of squares every backend's norm takes, and the transcendental
//! functions the model runs on. (The CPU backend keeps its own fixed-order dot for
//! bit-identical kernels.)
//!
//! `exp`, `ln`, `powf` and `sin`/`cos` come from the `libm` crate on every target, never from
//! the platform: natively `f32::exp` is glibc's and in the browser it is Rust's own port of
//! musl's, and the two differ in the last bit for some inputs, which is enough to flip an
//! activation's 8-bit rounding a few layers later (the page's p(" sad") after "How does he
//! feel? He feels" was 0.00398 against 0.00457 natively). With one implementation the page
//! computes exactly what the CLI, the extraction and the report compute (tests/wasm.rs holds
//! it to a native fixture bit for bit).

/// `e^x`.
pub fn exp(x: f32) -> f32 {
    libm::exp(x as f64) as f32
}

/// `e^x` in f64.
pub fn exp64(x: f64) -> f64 {
    libm::exp(x)
}

/// The natural logarithm in f64.
pub fn ln64(x: f64) -> f64 {
    libm::log(x)
}

/// `x^y`.
pub fn powf(x: f32, y: f32) -> f32 {
    libm::pow(x as f64, y as f64) as f32
}

/// `(sin x, cos x)`.
pub fn sin_cos(x: f32) -> (f32, f32) {
    let (s, c) = libm::sincos(x as f64);
    (s as f32, c as f32)
}

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

/// The SHA-256 (hex) of `values`' little-endian bytes: two builds computed the same bits
/// exactly when their digests agree (`limbic logits --json` prints it; the golden fixture and
/// the browser's test compare it).
pub fn digest(values: &[f32]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for v in values {
        h.update(v.to_le_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `log p_i = l_i − log Σ_j exp l_j`, summed in f64 from the largest logit down, so a row of
/// 49,152 logits neither overflows nor loses the small probabilities.
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = max as f64 + ln64(logits.iter().map(|&l| exp64((l - max) as f64)).sum::<f64>());
    logits.iter().map(|&l| (l as f64 - lse) as f32).collect()
}
