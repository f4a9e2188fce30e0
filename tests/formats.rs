//! Weight formats read into the ones our kernels run, value for value: Q4_0 as Q4_1 (the same
//! nibbles, minimum −8·d) and Q5_0 as Q8_0 (each 5-bit value less 16 as a byte). Checked against
//! candle's own dequantization of the same blocks, bit for bit. (Against llama.cpp on whole
//! files of every type: scripts/formats_parity.py, in `make test`.)

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use limbic::backend::weight::DType;
use limbic::gguf::qweight;

/// A (rows, cols) matrix of varied values, blocks of very different scales among them.
fn values(rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols)
        .map(|i| {
            let scale = [1e-3, 0.1, 1.0, 37.0][(i / 32) % 4];
            scale * ((i as f32 * 0.7548).sin() + 0.3 * (i as f32 * 0.123).cos())
        })
        .collect()
}

fn read_as(kind: GgmlDType, want: DType) {
    let (rows, cols) = (6, 128);
    let t = Tensor::from_vec(values(rows, cols), (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, kind).unwrap();
    let w = qweight(&q).unwrap();
    assert_eq!((w.dtype(), w.shape()), (want, (rows, cols)), "{kind:?}");
    let exact: Vec<f32> = q
        .dequantize(&Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(w.dequantize(), exact, "{kind:?}: values changed");
}

#[test]
fn q4_0_runs_as_q4_1_and_q5_0_as_q8_0_with_the_same_values() {
    read_as(GgmlDType::Q4_0, DType::Q4_1);
    read_as(GgmlDType::Q5_0, DType::Q8_0);
    // Formats without a kernel of ours are read as f32.
    read_as(GgmlDType::Q5_1, DType::F32);
}
