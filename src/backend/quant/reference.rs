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
                Format::Q4_1 => {
                    let wq = &q[(b * G + i) * 16..][..16];
                    let isum: i32 = (0..16)
                        .map(|j| {
                            (wq[j] & 0x0F) as i32 * xq[j] as i32
                                + (wq[j] >> 4) as i32 * xq[j + 16] as i32
                        })
                        .sum();
                    acc[lane] += d[at] * x.d[b] * isum as f32 + m[at] * x.s[b];
                }
                Format::Q8_0 => {
                    let wq = &q[(b * G + i) * QK..][..QK];
                    let isum: i32 = (0..QK)
                        .map(|j| (wq[j] ^ OFFSET) as i8 as i32 * xq[j] as i32)
                        .sum();
                    acc[lane] += d[at] * x.d16[b] * isum as f32;
                }
            }
        }
    }
    acc
}
