//! Our quantized products (Q4_1 and Q8_0): every SIMD kernel equals the scalar reference bit for
//! bit; the product is within a stated tolerance of dequantize + f32 matmul on the model's own
//! weights; rows (and whole stored weights) dequantize exactly as candle does.

mod common;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use limbic::backend::quant::{Kernel, QMatrix, Q8};
use limbic::backend::{DType, QWeight};
use limbic::gguf::qweight;

/// Deterministic values in [-1, 1), every 13th one 8× larger (residual streams have outliers).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            if i % 13 == 0 {
                v * 8.0
            } else {
                v
            }
        })
        .collect()
}

fn quantized(rows: usize, cols: usize, dtype: GgmlDType, seed: u64) -> QWeight {
    let t = Tensor::from_vec(values(rows * cols, seed), (rows, cols), &Device::Cpu).unwrap();
    qweight(&QTensor::quantize(&t, dtype).unwrap()).unwrap()
}

#[test]
fn stored_weights_dequantize_as_candle_does() {
    for dtype in [
        GgmlDType::F32,
        GgmlDType::F16,
        GgmlDType::Q4_1,
        GgmlDType::Q8_0,
        // Read into our formats value for value: Q4_0 as Q4_1 (the same nibbles, minimum −8·d:
        // q·d − 8·d is exact, but a zero comes out +0 where (q − 8)·d gives −0 for d < 0). Q4_K
        // is kept and read as Q4_1 blocks with f32 scales; Q5_0 (minimum −16·d, zeros as for
        // Q4_0), Q5_1 and Q5_K as 5-bit blocks; Q6_K as bytes with f32 scales.
        GgmlDType::Q4_0,
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q4K,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
    ] {
        let (rows, cols) = (5, 512);
        let t = Tensor::from_vec(values(rows * cols, 7), (rows, cols), &Device::Cpu).unwrap();
        let qt = QTensor::quantize(&t, dtype).unwrap();
        let want: Vec<f32> = qt
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let w = qweight(&qt).unwrap();
        assert_eq!(w.shape(), (rows, cols));
        let got = w.dequantize();
        assert_eq!(got.len(), want.len(), "{dtype:?}");
        let stored_as = match dtype {
            GgmlDType::Q4_0 => DType::Q4_1,
            GgmlDType::Q5_0 => DType::Q5_0,
            GgmlDType::Q4K => DType::Q4_K,
            GgmlDType::Q5_1 => DType::Q5_1,
            GgmlDType::Q5K => DType::Q5_K,
            GgmlDType::Q6K => DType::Q6_K,
            _ => w.dtype(),
        };
        assert_eq!(w.dtype(), stored_as, "{dtype:?}");
        for (i, (g, r)) in got.iter().zip(&want).enumerate() {
            let zeros = matches!(dtype, GgmlDType::Q4_0 | GgmlDType::Q5_0);
            let same = g.to_bits() == r.to_bits() || (zeros && g == r);
            assert!(same, "{dtype:?} value {i}: {g} vs {r}");
        }
        // Repacked for our kernels, each row still holds those values.
        if let Some(q) = QMatrix::new(&w).unwrap() {
            for r in 0..rows {
                let row: Vec<u32> = q.dequantize_row(r).iter().map(|v| v.to_bits()).collect();
                let want: Vec<u32> = got[r * cols..][..cols]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                assert!(row == want, "{dtype:?} row {r} repacked");
            }
        }
    }
}

#[test]
fn every_kernel_equals_the_scalar_reference_bit_for_bit() {
    let kernels = Kernel::available();
    eprintln!("kernels here: {kernels:?}");
    for dtype in [
        GgmlDType::Q4_1,
        GgmlDType::Q8_0,
        GgmlDType::Q4K,
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
    ] {
        // Row counts that are not multiples of the 8-row groups; widths of 1 to 18 blocks (a
        // K-quant's rows are whole 256-value blocks).
        let shapes = match dtype {
            GgmlDType::Q4K | GgmlDType::Q5K | GgmlDType::Q6K => {
                [(37, 256, 1), (8, 512, 2), (203, 768, 3), (5, 256, 4)]
            }
            _ => [(37, 96, 1), (8, 32, 2), (203, 576, 3), (5, 160, 4)],
        };
        for (rows, cols, seed) in shapes {
            let w = QMatrix::new(&quantized(rows, cols, dtype, seed))
                .unwrap()
                .unwrap();
            for xs in [values(cols, seed + 100), vec![0.0; cols]] {
                let x = Q8::new(&xs);
                for (from, to) in [(0, rows), (rows / 3, rows - rows / 4), (rows - 1, rows)] {
                    let mut want = vec![0.0f32; to - from];
                    w.rows_with(Kernel::Reference, std::slice::from_ref(&x), from, &mut want);
                    for &k in kernels {
                        let mut got = vec![f32::NAN; to - from];
                        w.rows_with(k, std::slice::from_ref(&x), from, &mut got);
                        for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                            assert_eq!(
                                g.to_bits(),
                                r.to_bits(),
                                "{dtype:?} {rows}x{cols} {k:?} row {}: {g} vs {r}",
                                from + i
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn batched_tokens_give_the_bits_of_one_token_at_a_time() {
    // A prompt's product serves several activation rows per pass over the weights; every
    // output must be the one-row reference's, whatever the batch (7 rows: a full batch of 4
    // and a partial one).
    for dtype in [
        GgmlDType::Q4_1,
        GgmlDType::Q8_0,
        GgmlDType::Q5_0,
        GgmlDType::Q6K,
    ] {
        let (rows, cols) = (45, 256);
        let w = QMatrix::new(&quantized(rows, cols, dtype, 9))
            .unwrap()
            .unwrap();
        let xs: Vec<Q8> = (0..7).map(|t| Q8::new(&values(cols, 50 + t))).collect();
        let (from, len) = (5, 33);
        for &k in Kernel::available() {
            let mut got = vec![f32::NAN; xs.len() * len];
            w.rows_with(k, &xs, from, &mut got);
            for (t, x) in xs.iter().enumerate() {
                let mut want = vec![0.0f32; len];
                w.rows_with(Kernel::Reference, std::slice::from_ref(x), from, &mut want);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got[t * len..][..len]),
                    bits(&want),
                    "{dtype:?} {k:?} token {t}"
                );
            }
            // The whole product on the pool (runs of rows) and on one thread (written in place,
            // as each worker of a corpus pass runs it).
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            for (how, whole) in [
                ("on the pool", w.matmul_q8(&xs)),
                ("on one thread", one.install(|| w.matmul_q8(&xs))),
            ] {
                for (t, x) in xs.iter().enumerate() {
                    let mut want = vec![0.0f32; rows];
                    w.rows_with(Kernel::Reference, std::slice::from_ref(x), 0, &mut want);
                    assert_eq!(
                        &whole[t * rows..][..rows],
                        &want[..],
                        "{dtype:?} matmul {how}, token {t}"
                    );
                }
            }
        }
    }
}

#[test]
fn activations_quantize_as_the_scalar_reference_does() {
    // Scale 1 (amax 127): exact halves must round away from zero as `f32::round` does; then
    // zeros, subnormal-sized values, outliers, and the values `as i8` saturates (±inf, NaN).
    let mut ties: Vec<f32> = (0..32).map(|i| i as f32 - 15.5).collect();
    ties[31] = 127.0;
    ties[30] = -126.5;
    let tiny: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) * 1e-40).collect();
    let mut odd = values(64, 7);
    odd[3] = f32::NAN;
    odd[40] = f32::INFINITY;
    odd[41] = f32::NEG_INFINITY;
    odd[50] = -0.0;
    let mut all = vec![ties, vec![0.0; 32], tiny, odd];
    all.extend((0..200).map(|s| values(576, s)));
    for x in all {
        // Debug text: a block holding ±inf has scale inf and `s` = inf · 0 = NaN in both.
        let (got, want) = (Q8::new(&x), Q8::reference(&x));
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{x:?}");
    }
}

#[test]
fn extreme_blocks_do_not_overflow_any_kernel() {
    // Weights at both ends of their range (nibbles 0 and 15; ±127) against activations of
    // ±127 with matching signs: the integer sums are at their largest, where an i16
    // intermediate would saturate. Row r is (±1, ∓1, ...), x the same pattern: w·x = ±cols
    // for the stored values (Q5_0 keeps −1 as −15/16: its scale is set by the +1s).
    let (rows, cols) = (16, 256);
    let alt = |c: usize| if c.is_multiple_of(2) { 1.0f32 } else { -1.0 };
    for dtype in [
        GgmlDType::Q4_1,
        GgmlDType::Q8_0,
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
    ] {
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| alt(i % cols) * alt(i / cols))
            .collect();
        let t = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
        let stored = qweight(&QTensor::quantize(&t, dtype).unwrap()).unwrap();
        let exact = stored.dequantize();
        let q = QMatrix::new(&stored).unwrap().unwrap();
        for sign in [1.0f32, -1.0] {
            let xs: Vec<f32> = (0..cols).map(|c| sign * alt(c)).collect();
            let x = Q8::new(&xs);
            for &k in Kernel::available() {
                let mut got = vec![0.0f32; rows];
                q.rows_with(k, std::slice::from_ref(&x), 0, &mut got);
                for (r, g) in got.iter().enumerate() {
                    let w = &exact[r * cols..][..cols];
                    let want: f32 = w.iter().zip(&xs).map(|(a, b)| a * b).sum();
                    assert!(
                        (g - want).abs() < 1e-2 * cols as f32,
                        "{dtype:?} {k:?} row {r}: {g} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn products_on_the_model_weights_match_dequantized_f32() {
    let bytes = common::model_bytes();
    let mut cur = std::io::Cursor::new(&bytes);
    let content = Content::read(&mut cur).unwrap();
    for (name, rows) in [
        ("blk.3.attn_k.weight", usize::MAX),
        ("blk.17.ffn_down.weight", usize::MAX),
        ("token_embd.weight", 600), // Q8_0; its first 600 rows
    ] {
        let qt = content.tensor(&mut cur, name, &Device::Cpu).unwrap();
        let stored = qweight(&qt).unwrap();
        let q = QMatrix::new(&stored).unwrap().expect("Q4_1 or Q8_0");
        let rows = rows.min(q.rows);
        let exact_w: Vec<f32> = qt
            .dequantize(&Device::Cpu)
            .unwrap()
            .narrow(0, 0, rows)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for t in [1usize, 3] {
            let x: Vec<f32> = values(t * q.cols, t as u64);
            let got = q.matmul(&x, t);
            assert_eq!(got.len(), t * q.rows);
            let (mut worst, mut worst_at) = (0.0f64, 0);
            for ti in 0..t {
                let xr = &x[ti * q.cols..(ti + 1) * q.cols];
                let norm: f64 = xr.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
                for r in 0..rows {
                    let w = &exact_w[r * q.cols..(r + 1) * q.cols];
                    let want: f64 = w.iter().zip(xr).map(|(a, b)| *a as f64 * *b as f64).sum();
                    let wn: f64 = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
                    // Activation quantization error, relative to |w|·|x| (Cauchy–Schwarz scale).
                    let e = (got[ti * q.rows + r] as f64 - want).abs() / (wn * norm);
                    if e > worst {
                        (worst, worst_at) = (e, ti * q.rows + r);
                    }
                }
            }
            assert!(
                worst < 5e-3,
                "{name} T={t}: worst relative error {worst:.2e} at index {worst_at}"
            );
        }
        assert_eq!(
            stored.dequantize()[..rows * q.cols],
            exact_w[..],
            "{name} dequantized whole"
        );
        for r in [0, 5, rows - 1] {
            assert_eq!(
                q.dequantize_row(r),
                exact_w[r * q.cols..(r + 1) * q.cols].to_vec(),
                "{name} row {r}"
            );
        }
    }
}

#[test]
fn five_bit_and_byte_formats_products_match_dequantized_f32() {
    // Q5_0, Q5_1 and Q5_K run as 5-bit blocks, Q6_K as bytes with a scale and minimum per 16
    // values: the product is the dequantized weights' up to the activations' 8-bit rounding.
    for dtype in [
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
    ] {
        let (rows, cols) = (37, 512);
        let stored = quantized(rows, cols, dtype, 21);
        let exact = stored.dequantize();
        let q = QMatrix::new(&stored).unwrap().expect("a byte format");
        let x = values(2 * cols, 22);
        let got = q.matmul(&x, 2);
        for t in 0..2 {
            let xr = &x[t * cols..][..cols];
            let xn = xr.iter().map(|v| v * v).sum::<f32>().sqrt();
            for r in 0..rows {
                let w = &exact[r * cols..][..cols];
                let want: f32 = w.iter().zip(xr).map(|(a, b)| a * b).sum();
                let wn = w.iter().map(|v| v * v).sum::<f32>().sqrt();
                let e = (got[t * rows + r] - want).abs() / (wn * xn);
                assert!(e < 5e-3, "{dtype:?} token {t} row {r}: error {e:.2e}");
            }
        }
    }
}

#[test]
fn a_matrix_repacked_in_pieces_is_the_matrix_repacked_whole() {
    // The loader reads a large matrix in pieces of whole 8-row groups; each is repacked and
    // appended. Rows 0..64, 64..128, 128..203 of three formats: the same products, bit for bit.
    for dtype in [
        GgmlDType::Q4_1,
        GgmlDType::Q8_0,
        GgmlDType::Q5_0,
        GgmlDType::Q6K,
    ] {
        let (rows, cols) = (203, 256);
        let whole = quantized(rows, cols, dtype, 31);
        let per_row = whole.bytes().len() / rows;
        let piece = |a: usize, b: usize| {
            QWeight::new(
                whole.dtype(),
                (b - a, cols),
                whole.bytes()[a * per_row..b * per_row].to_vec(),
            )
            .unwrap()
        };
        let mut q = QMatrix::new(&piece(0, 64)).unwrap().unwrap();
        q.reserve_rows(rows);
        for (a, b) in [(64, 128), (128, rows)] {
            q.append(QMatrix::new(&piece(a, b)).unwrap().unwrap())
                .unwrap();
        }
        let want = QMatrix::new(&whole).unwrap().unwrap();
        assert_eq!(q.rows, rows);
        let x = values(2 * cols, 32);
        let bits = |v: Vec<f32>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(q.matmul(&x, 2)), bits(want.matmul(&x, 2)), "{dtype:?}");
        // Appending after rows that are not whole groups would misplace them: refused.
        let mut odd = QMatrix::new(&piece(0, 13)).unwrap().unwrap();
        assert!(odd
            .append(QMatrix::new(&piece(13, 20)).unwrap().unwrap())
            .is_err());
    }
}

#[test]
fn scales_are_held_in_f16_where_that_is_exact() {
    // Bytes per 32 values held: quants, then the scale (and minimum) in f16 where every one is
    // exactly an f16 (as the file has them), in f32 where they are products (K-quants).
    let (rows, cols) = (64, 512);
    for (dtype, per_block) in [
        (GgmlDType::Q4_1, 16 + 2 + 2),
        (GgmlDType::Q4_0, 16 + 2 + 2),
        (GgmlDType::Q8_0, 32 + 2),
        (GgmlDType::Q5_0, 20 + 2 + 2),
        (GgmlDType::Q5_1, 20 + 2 + 2),
        (GgmlDType::Q4K, 16 + 4 + 4),
        (GgmlDType::Q5K, 20 + 4 + 4),
        (GgmlDType::Q6K, 32 + 2 * 4),
    ] {
        let q = QMatrix::new(&quantized(rows, cols, dtype, 3))
            .unwrap()
            .unwrap();
        assert_eq!(q.bytes(), rows * cols / 32 * per_block, "{dtype:?}");
    }
}
