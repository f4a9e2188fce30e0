//! Criterion benchmarks of our quantized matrix–vector products at the model's shapes, on every
//! kernel this machine has (the scalar reference, AVX2, AVX-512 VNNI), beside candle's QMatMul
//! on the same weights. `cargo bench --bench kernels`.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use limbic::backend::quant::{Kernel, QMatrix, Q8};

fn weights(rows: usize, cols: usize, dtype: GgmlDType) -> QTensor {
    let v: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 2654435761usize) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let t = Tensor::from_vec(v, (rows, cols), &Device::Cpu).expect("tensor");
    QTensor::quantize(&t, dtype).expect("quantize")
}

fn matvec(c: &mut Criterion) {
    // (format, out, in): attention q/o, ffn gate/up, ffn down; the Q8_0 output matrix.
    let shapes = [
        (GgmlDType::Q4_1, 576, 576),
        (GgmlDType::Q4_1, 1536, 576),
        (GgmlDType::Q4_1, 576, 1536),
        (GgmlDType::Q8_0, 49152, 576),
    ];
    for (dtype, rows, cols) in shapes {
        let mut g = c.benchmark_group(format!("{dtype:?}_matvec"));
        let qt = weights(rows, cols, dtype);
        let stored = limbic::gguf::qweight(&qt).expect("stored weight");
        let ours = QMatrix::new(&stored)
            .expect("repack")
            .expect("Q4_1 or Q8_0");
        let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let xt = Tensor::from_vec(x.clone(), (1, cols), &Device::Cpu).expect("x");
        let candle = QMatMul::from_qtensor(qt).expect("qmatmul");
        let shape = format!("{rows}x{cols}");
        for &k in Kernel::available() {
            g.bench_with_input(
                BenchmarkId::new(format!("limbic-{k:?}"), &shape),
                &x,
                |b, x| {
                    b.iter(|| {
                        let mut out = vec![0.0f32; rows];
                        ours.rows_with(k, &[Q8::new(x)], 0, &mut out);
                        out
                    })
                },
            );
        }
        g.bench_with_input(BenchmarkId::new("candle", &shape), &xt, |b, xt| {
            b.iter(|| candle.forward(xt).expect("forward"))
        });
        g.finish();
    }
}

/// A prompt's products: 32 tokens through each Q4_1 block shape, on one thread.
fn matmul(c: &mut Criterion) {
    const T: usize = 32;
    for (rows, cols) in [(1536, 576), (576, 1536)] {
        let mut g = c.benchmark_group("Q4_1_matmul_32_tokens");
        let stored = limbic::gguf::qweight(&weights(rows, cols, GgmlDType::Q4_1)).expect("stored");
        let ours = QMatrix::new(&stored).expect("repack").expect("Q4_1");
        let xs: Vec<Q8> = (0..T)
            .map(|t| {
                Q8::new(
                    &(0..cols)
                        .map(|i| ((i * 7 + t) as f32 * 0.37).sin())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        for &k in Kernel::available() {
            let id = BenchmarkId::new(format!("limbic-{k:?}"), format!("{rows}x{cols}"));
            g.bench_with_input(id, &xs, |b, xs| {
                b.iter(|| {
                    let mut out = vec![0.0f32; T * rows];
                    ours.rows_with(k, xs, 0, &mut out);
                    out
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, matvec, matmul);
criterion_main!(benches);
