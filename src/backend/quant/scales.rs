//! Block scales and minimums as a matrix stores them: in f16 where every one of them is exactly
//! a finite f16 (Q4_1, Q5_0, Q5_1 and Q8_0 as downloaded; Q4_0's and Q5_0's minimums are −8 and
//! −16 times the scale), else in f32 (a K-quant's sub-block scales are products of two numbers).
//! The kernels widen f16 to f32 as they load it, exactly, so the arithmetic is the same either
//! way; f16 is half the bytes to hold and to read per token.

use half::f16;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub enum Store {
    /// f16 bit patterns.
    Half(Vec<u16>),
    Full(Vec<f32>),
}

impl Store {
    /// `v` in f16 when each value is exactly a finite f16, else as it is.
    pub fn pack(v: Vec<f32>) -> Self {
        let exact = |x: f32| {
            let h = f16::from_f32(x);
            (h.is_finite() && h.to_f32().to_bits() == x.to_bits()).then_some(h.to_bits())
        };
        let mut half = Vec::with_capacity(v.len()); // exactly: a collected map_while doubles
        half.extend(v.iter().map_while(|&x| exact(x)));
        if half.len() == v.len() {
            Store::Half(half)
        } else {
            Store::Full(v)
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Store::Half(h) => h.len(),
            Store::Full(f) => f.len(),
        }
    }

    /// Room for `n` values in all.
    pub fn reserve_total(&mut self, n: usize) {
        match self {
            Store::Half(h) => h.reserve_exact(n.saturating_sub(h.len())),
            Store::Full(f) => f.reserve_exact(n.saturating_sub(f.len())),
        }
    }

    /// `more`'s values after these (in f32 for both unless both are f16).
    pub fn append(&mut self, more: Store) {
        match (&mut *self, more) {
            (Store::Half(a), Store::Half(b)) => a.extend(b),
            (Store::Full(a), Store::Full(b)) => a.extend(b),
            (_, more) => {
                let mut all = self.widen();
                all.extend(more.widen());
                *self = Store::Full(all);
            }
        }
    }

    fn widen(&self) -> Vec<f32> {
        let all = self.slice(0..self.len());
        (0..self.len()).map(|i| all.get(i)).collect()
    }

    pub fn slice(&self, r: Range<usize>) -> Lanes<'_> {
        match self {
            Store::Half(h) => Lanes::Half(&h[r]),
            Store::Full(f) => Lanes::Full(&f[r]),
        }
    }
}

/// Part of a [`Store`], as the kernels read it.
#[derive(Debug, Clone, Copy)]
pub enum Lanes<'a> {
    Half(&'a [u16]),
    Full(&'a [f32]),
}

impl Lanes<'_> {
    pub fn get(self, i: usize) -> f32 {
        match self {
            Lanes::Half(h) => f16::from_bits(h[i]).to_f32(),
            Lanes::Full(f) => f[i],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_go_to_f16_only_when_every_one_is_exact_and_finite() {
        let exact = vec![0.5, -0.0, 65504.0, 2f32.powi(-24), -3.25];
        assert!(matches!(Store::pack(exact.clone()), Store::Half(_)));
        for odd in [0.1, 1e6, f32::INFINITY, f32::NAN] {
            let mut v = exact.clone();
            v.push(odd);
            assert!(matches!(Store::pack(v), Store::Full(_)), "{odd}");
        }
        let s = Store::pack(exact.clone());
        let back: Vec<u32> = (0..5).map(|i| s.slice(0..5).get(i).to_bits()).collect();
        assert_eq!(back, exact.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn appending_a_wider_store_widens_and_keeps_every_value() {
        let mut s = Store::pack(vec![1.0, 2.0]);
        s.append(Store::pack(vec![0.1]));
        assert_eq!(s, Store::Full(vec![1.0, 2.0, 0.1]));
        let mut h = Store::pack(vec![1.0]);
        h.append(Store::pack(vec![-2.0]));
        assert_eq!(h, Store::pack(vec![1.0, -2.0]));
        assert!(matches!(h, Store::Half(_)));
    }
}
