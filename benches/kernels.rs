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

criterion_group!(benches, matvec);
criterion_main!(benches);
