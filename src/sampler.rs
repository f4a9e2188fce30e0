//! How the next token is chosen: [`Sampler`] holds the settings a person gives, [`Choice`]
//! applies them to one reply's logits. Greedy choice (and the repeat penalty) work on the
//! logits as they are; only sampling at a temperature goes through candle-transformers'
//! `LogitsProcessor` (seeded, so a seed gives the same text on every run).

use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};

use crate::error::{Error, Result};

/// How the next token is chosen. `temperature == 0` is greedy.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampler {
    pub temperature: f64,
    /// Nucleus mass in (0, 1]; 1 keeps every token.
    pub top_p: f64,
    /// Divides the logits of recently seen tokens (1 = off).
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: 1.0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 299792458,
        }
    }
}

impl Sampler {
    /// Checks the numbers a person typed.
    pub fn validate(&self) -> Result<()> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(Error::Sampling(format!(
                "temperature must be ≥ 0, got {}",
                self.temperature
            )));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::Sampling(format!(
                "top-p must be in (0, 1], got {}",
                self.top_p
            )));
        }
        if !self.repeat_penalty.is_finite() || self.repeat_penalty <= 0.0 {
            return Err(Error::Sampling(format!(
                "repeat penalty must be > 0, got {}",
                self.repeat_penalty
            )));
        }
        Ok(())
    }

    /// The choice of one reply's tokens under these settings.
    pub fn choice(&self) -> Choice {
        let random = (self.temperature > 0.0).then(|| {
            let sampling = if self.top_p < 1.0 {
                Sampling::TopP {
                    p: self.top_p,
                    temperature: self.temperature,
                }
            } else {
                Sampling::All {
                    temperature: self.temperature,
                }
            };
            LogitsProcessor::from_sampling(self.seed, sampling)
        });
        // What a device can choose itself: everything, but for a penalty over more recent
        // tokens than it keeps. (A penalty over no tokens is none.)
        let penalty = match self.repeat_last_n {
            0 => 1.0,
            _ => self.repeat_penalty,
        };
        let device = if penalty != 1.0 && self.repeat_last_n > DEVICE_LAST_N {
            None
        } else if random.is_none() && penalty == 1.0 {
            Some(DeviceChoice::Greedy)
        } else {
            Some(DeviceChoice::Sample(Gumbel {
                temperature: self.temperature as f32,
                seed: self.seed,
                counter: 0,
                top_p: self.top_p as f32,
                penalty,
                last_n: self.repeat_last_n.max(1) as u32,
            }))
        };
        Choice {
            random,
            penalty: self.repeat_penalty,
            last_n: self.repeat_last_n,
            device,
        }
    }
}

/// The most recent tokens a device's repeat penalty looks at.
pub const DEVICE_LAST_N: usize = 256;

/// A draw from `softmax(z / temperature)` by the Gumbel-max trick: the largest of
/// `z / temperature + g`, `g = −ln(−ln u)` with `u` uniform from a counter-based hash of
/// (`seed`, `counter`, token), so the same three give the same draw on every run and device.
/// `z` is the logit after the repeat penalty; with `top_p` < 1 only the nucleus is drawn from.
/// At temperature 0: the largest `z` (greedy with a penalty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gumbel {
    pub temperature: f32,
    pub seed: u64,
    /// Which draw of the reply: the position of the last token read.
    pub counter: u32,
    /// Nucleus mass in (0, 1].
    pub top_p: f32,
    /// Repeat penalty (1 = off) over the last `last_n` tokens (at most [`DEVICE_LAST_N`]).
    pub penalty: f32,
    pub last_n: u32,
}

impl Gumbel {
    /// A draw at `temperature` over all tokens, no penalty.
    pub fn new(temperature: f32, seed: u64) -> Self {
        Self {
            temperature,
            seed,
            counter: 0,
            top_p: 1.0,
            penalty: 1.0,
            last_n: 1,
        }
    }

    /// The recent tokens a device's penalty reads for a draw after `ids` (their last
    /// `last_n`, the token at position i in slot i % last_n, after one unused value), or
    /// `None` without a penalty.
    pub fn recent(&self, ids: &[u32]) -> Option<Vec<f32>> {
        if self.penalty == 1.0 {
            return None;
        }
        let n = self.last_n as usize;
        let mut slots = vec![0f32; 1 + n];
        for (i, &id) in ids.iter().enumerate().skip(ids.len().saturating_sub(n)) {
            slots[1 + i % n] = id as f32;
        }
        Some(slots)
    }
}

/// A choice a device can make without the logits leaving it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeviceChoice {
    /// The largest logit.
    Greedy,
    /// A draw (or at temperature 0, greedy after a repeat penalty).
    Sample(Gumbel),
}

/// One reply's token choice: greedy, or seeded sampling.
pub struct Choice {
    /// The sampler at a temperature; `None` is greedy.
    random: Option<LogitsProcessor>,
    penalty: f32,
    last_n: usize,
    device: Option<DeviceChoice>,
}

impl Choice {
    /// The choice as a device can make it without the logits leaving it; `None` when the host
    /// must (a penalty over more than [`DEVICE_LAST_N`] tokens). A device's draw is its
    /// own random stream, not the host's: the same seed gives the same text on every run on
    /// that path, another text than the host's sampler.
    pub fn on_device(&self) -> Option<DeviceChoice> {
        self.device
    }

    /// The next token after `history` given its `logits`.
    pub fn next(&mut self, mut logits: Vec<f32>, history: &[u32]) -> Result<u32> {
        if self.penalty != 1.0 {
            let from = history.len().saturating_sub(self.last_n);
            repeat_penalty(&mut logits, self.penalty, &history[from..]);
        }
        match &mut self.random {
            None => argmax(&logits),
            Some(p) => {
                let n = logits.len();
                Ok(p.sample(&Tensor::from_vec(logits, n, &Device::Cpu)?)?)
            }
        }
    }
}

/// Divides (or for negative logits multiplies) each seen token's logit by `penalty`, once per
/// token, as candle-transformers' `apply_repeat_penalty` and llama.cpp's do.
fn repeat_penalty(logits: &mut [f32], penalty: f32, seen: &[u32]) {
    let mut done = std::collections::HashSet::new();
    for &id in seen {
        if !done.insert(id) {
            continue;
        }
        if let Some(l) = logits.get_mut(id as usize) {
            if *l >= 0.0 {
                *l /= penalty
            } else {
                *l *= penalty
            }
        }
    }
}

/// The index of the largest logit; of equal ones, the first (as candle's arg-max chooses, which
/// greedy replies used before and the golden tokens were made with).
fn argmax(logits: &[f32]) -> Result<u32> {
    let first = *logits
        .first()
        .ok_or_else(|| Error::Sampling("no logits to choose from".into()))?;
    let (mut best, mut at) = (first, 0);
    for (i, &v) in logits.iter().enumerate() {
        if best < v {
            (best, at) = (v, i);
        }
    }
    Ok(at as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_makes_every_choice_but_a_penalty_over_more_than_it_keeps() {
        let on = |s: Sampler| s.choice().on_device();
        assert_eq!(on(Sampler::default()), Some(DeviceChoice::Greedy));
        let penalised = Sampler {
            repeat_penalty: 1.3,
            ..Sampler::default()
        };
        let Some(DeviceChoice::Sample(g)) = on(penalised.clone()) else {
            panic!("greedy with a penalty is not the device's");
        };
        assert_eq!((g.temperature, g.penalty, g.last_n), (0.0, 1.3, 64));
        // A penalty over no tokens is none; over more than the device keeps, the host's.
        let none = Sampler {
            repeat_last_n: 0,
            ..penalised.clone()
        };
        assert_eq!(on(none), Some(DeviceChoice::Greedy));
        let long = Sampler {
            repeat_last_n: DEVICE_LAST_N + 1,
            ..penalised
        };
        assert_eq!(on(long), None);
        let top_p = Sampler {
            temperature: 0.8,
            top_p: 0.9,
            ..Sampler::default()
        };
        assert!(matches!(on(top_p), Some(DeviceChoice::Sample(g)) if g.top_p == 0.9));
        // The recent tokens' slots: position i in slot i % last_n, after one unused value.
        let g = Gumbel {
            penalty: 1.3,
            last_n: 3,
            ..Gumbel::new(0.0, 1)
        };
        assert_eq!(g.recent(&[7, 8]), Some(vec![0.0, 7.0, 8.0, 0.0]));
        assert_eq!(
            g.recent(&[7, 8, 9, 10, 11]),
            Some(vec![0.0, 10.0, 11.0, 9.0])
        );
        assert_eq!(Gumbel::new(0.5, 1).recent(&[7]), None);
    }

    #[test]
    fn greedy_is_the_largest_and_the_penalty_moves_it() {
        let mut c = Sampler::default().choice();
        assert_eq!(c.next(vec![0.1, 2.0, -1.0, 1.9], &[]).unwrap(), 1);
        assert_eq!(c.next(vec![3.0, 1.0, 3.0], &[]).unwrap(), 0);
        let mut c = Sampler {
            repeat_penalty: 1.2,
            ..Sampler::default()
        }
        .choice();
        // 2.0 / 1.2 < 1.9: the seen token loses; a negative seen logit is pushed further down.
        assert_eq!(c.next(vec![0.1, 2.0, -1.0, 1.9], &[1, 1]).unwrap(), 3);
        let mut l = vec![-1.0, 1.0];
        repeat_penalty(&mut l, 2.0, &[0, 0, 1]);
        assert_eq!(l, vec![-2.0, 0.5]);
    }

    #[test]
    fn sampling_is_seeded() {
        let s = Sampler {
            temperature: 1.0,
            seed: 7,
            ..Sampler::default()
        };
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let draw = || {
            let mut c = s.choice();
            (0..20)
                .map(|_| c.next(logits.clone(), &[]).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(), draw());
    }
}
