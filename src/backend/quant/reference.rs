//! The scalar reference: lane by lane, block by block, the arithmetic every kernel must equal.

use super::{Format, QMatrix, G, OFFSET, Q8, QK};

pub fn group(w: &QMatrix, x: &Q8, g: usize) -> [f32; G] {
    let (d, m, q) = w.group_data(g);
    let lanes = w.format.lanes();
    let mut acc = [0.0f32; G];
    for b in 0..w.cols / QK {
        let xq = &x.q[b * QK..][..QK];
        for (lane, &i) in lanes.iter().enumerate() {
            let at = b * G + lane;
            match w.format {
                Format::Q4_1 | Format::Q5 => {
                    let (five, quants) = (w.format == Format::Q5, w.format.sizes().1);
                    let block = &q[b * G * quants..][..G * quants];
                    let wq = &block[i * 16..][..16];
                    // Q5: each value's fifth bit, from the block's words after the nibbles.
                    let qh = match five {
                        true => {
                            u32::from_le_bytes(std::array::from_fn(|k| block[G * 16 + i * 4 + k]))
                        }
                        false => 0,
                    };
                    let high = |j: usize| (((qh >> j) & 1) << 4) as i32;
                    let isum: i32 = (0..16)
                        .map(|j| {
                            ((wq[j] & 0x0F) as i32 | high(j)) * xq[j] as i32
                                + ((wq[j] >> 4) as i32 | high(j + 16)) * xq[j + 16] as i32
                        })
                        .sum();
                    acc[lane] += d.get(at) * x.d[b] * isum as f32 + m.get(at) * x.s[b];
                }
                Format::Q8_0 => {
                    let wq = &q[(b * G + i) * QK..][..QK];
                    let isum: i32 = (0..QK)
                        .map(|j| (wq[j] ^ OFFSET) as i8 as i32 * xq[j] as i32)
                        .sum();
                    acc[lane] += d.get(at) * x.d16[b] * isum as f32;
                }
                Format::Q8_16 => {
                    let wq = &q[(b * G + i) * QK..][..QK];
                    for h in 0..2 {
                        let isum: i32 = (16 * h..16 * h + 16)
                            .map(|j| (wq[j] ^ OFFSET) as i8 as i32 * xq[j] as i32)
                            .sum();
                        acc[lane] += d.get((b * 2 + h) * G + lane) * x.d[b] * isum as f32;
                    }
                }
            }
        }
    }
    acc
}

/// One block of 32 activations to 8 bits: the scale `amax / 127` and the quants' sum.
pub fn quantize_block(blk: &[f32], q: &mut [i8]) -> (f32, i32) {
    let amax = blk.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let scale = amax / 127.0;
    let inv = if scale != 0.0 { 1.0 / scale } else { 0.0 };
    for (q, v) in q.iter_mut().zip(blk) {
        *q = (v * inv).round() as i8;
    }
    (scale, q.iter().map(|&v| v as i32).sum())
}
