//! Small numerics shared above the backends: the dot product of two rows, the log-softmax of
//! a row of logits, the sum of squares every backend's norm takes, and the transcendental
//! functions the model runs on. (The CPU backend keeps its own fixed-order dot for
//! bit-identical kernels.)
//!
//! The transcendental functions the model runs on give the same f32 bits natively and in the
//! browser, so the page computes exactly what the CLI, the extraction and the report compute
//! (tests/parity.rs and tests/wasm.rs hold both builds to the golden fixture's SHA-256 of the
//! log-probabilities). f32's own `exp` would not: natively it is glibc's and in wasm Rust's
//! port of musl's, which differ in the last bit on about one input in ten, enough to flip an
//! activation's 8-bit rounding a few layers later (the page's p(" sad") after "How does he
//! feel? He feels" was 0.00398 against 0.00457 natively).
//!
//! - [`exp`] is computed in f64 and rounded once to f32. f64's `exp` is still the platform's,
//!   but each is within an f64 ulp (2²⁹ times finer than f32's), so the rounded results can
//!   part only where e^x lies within ~2⁻⁵³ of an f32 rounding midpoint (about one call in 2²⁹;
//!   none on the golden prompts or 40 corpus stories against `libm`'s exp). `libm`'s exp on
//!   both targets would be the same code, but natively it is 4× glibc's cost (18 % on a
//!   420-token prompt). The CPU backend's softmax and SiLU take whole rows natively through
//!   an AVX2 exp of the same kind (`backend::cpu::exp`: f64, within about an f64 ulp, rounded
//!   once; none of 20 million random inputs parts from this one).
//! - The rope's `sin`/`cos` and `pow` (a table made once) and the log-softmax's f64 `exp` and
//!   `ln` are the `libm` crate's on both targets: the same code, so the same bits.

/// `e^x`, in f64 rounded once to f32 (see the module doc).
pub fn exp(x: f32) -> f32 {
    (x as f64).exp() as f32
}

/// `e^x` in f64, the same code on every target.
pub fn exp64(x: f64) -> f64 {
    libm::exp(x)
}

/// The natural logarithm in f64, the same code on every target.
pub fn ln64(x: f64) -> f64 {
    libm::log(x)
}

/// `x^y`, in f64 rounded once, the same code on every target.
pub fn powf(x: f32, y: f32) -> f32 {
    libm::pow(x as f64, y as f64) as f32
}

/// `(sin x, cos x)`, in f64 rounded once, the same code on every target.
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
