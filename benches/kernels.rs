//! Criterion benchmarks of the Q4_1 matrix–vector product at the model's shapes: our kernel
//! (dispatching to AVX2 where present), its scalar reference, and candle's QMatMul, side by side.
//! `cargo bench --bench kernels`.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use limbic::backend::quant::{QMatrix, Q8};

fn weights(rows: usize, cols: usize) -> QTensor {
    let v: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 2654435761usize) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let t = Tensor::from_vec(v, (rows, cols), &Device::Cpu).expect("tensor");
    QTensor::quantize(&t, GgmlDType::Q4_1).expect("quantize")
}

fn q4_1_matvec(c: &mut Criterion) {
    let mut g = c.benchmark_group("q4_1_matvec");
    // (out, in): attention q/o, ffn gate/up, ffn down.
    for (rows, cols) in [(576, 576), (1536, 576), (576, 1536)] {
        let qt = weights(rows, cols);
        let ours = QMatrix::new(&qt).expect("repack").expect("Q4_1");
        let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let xt = Tensor::from_vec(x.clone(), (1, cols), &Device::Cpu).expect("x");
        let candle = QMatMul::from_qtensor(qt).expect("qmatmul");
        let shape = format!("{rows}x{cols}");
        g.bench_with_input(BenchmarkId::new("limbic", &shape), &x, |b, x| {
            b.iter(|| ours.matmul(x, 1))
        });
        g.bench_with_input(
            BenchmarkId::new("limbic-scalar-reference", &shape),
            &x,
            |b, x| {
                b.iter(|| {
                    let xq = Q8::new(x);
                    (0..rows)
                        .map(|r| ours.dot_row_reference(r, &xq))
                        .collect::<Vec<f32>>()
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("candle", &shape), &xt, |b, xt| {
            b.iter(|| candle.forward(xt).expect("forward"))
        });
    }
    g.finish();
}

criterion_group!(benches, q4_1_matvec);
criterion_main!(benches);
