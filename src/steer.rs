//! Steering maths on an [`EmotionSet`]: which direction steering toward an emotion adds, where,
//! and how hard by default.
//!
//! Toward `e` with strength `s` (a fraction of the mean residual norm at the layer, the paper's
//! unit), `s · resid_norm_l · û_{l,e}` is added at each of the emotion's steering layers, `s`
//! split evenly over them (what is added at several layers accumulates in the residual stream).
//! `û` is one of three [`Direction`]s: the emotion's unit mean `m̂` (measured against the mean
//! of all emotions); the contrastive one, the emotion against the neutral scenes of the same
//! topics, `û ∝ raw_norm_{l,e} · m̂_{l,e} − neutral_l`; or the generation-based one, the model's
//! own residual stream while it writes a story about a character who feels the emotion, against
//! the mean over all emotions (`generated.{l}`, made by `limbic steer-sweep`). The layers and
//! the direction are the file's default, or the emotion's own where the sweep measured that
//! emotion.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::emotions::{check_strength, EmotionSet};
use crate::error::Result;
use crate::hooks::{HookPoint, HookSet, Intervention};
use crate::numerics::dot;

/// Which vector steering adds (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Mean,
    Contrastive,
    Generated,
}

impl Direction {
    pub const ALL: [Direction; 3] = [Self::Mean, Self::Contrastive, Self::Generated];

    pub fn name(self) -> &'static str {
        match self {
            Self::Mean => "mean",
            Self::Contrastive => "contrastive",
            Self::Generated => "generated",
        }
    }

    /// A setting's direction: `"direction"`, or v3/v4's `"contrastive": true|false`.
    pub fn of_json(v: &serde_json::Value) -> Self {
        match v.get("direction").cloned().map(serde_json::from_value) {
            Some(Ok(d)) => d,
            _ if v["contrastive"] == true => Self::Contrastive,
            _ => Self::Mean,
        }
    }
}

/// Where and with which direction one emotion is steered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SettingOnDisk")]
pub struct SteerSetting {
    pub layers: Vec<usize>,
    pub direction: Direction,
}

/// [`SteerSetting`] as files of every version hold it.
#[derive(Deserialize)]
struct SettingOnDisk {
    layers: Vec<usize>,
    #[serde(flatten)]
    rest: serde_json::Value,
}

impl From<SettingOnDisk> for SteerSetting {
    fn from(s: SettingOnDisk) -> Self {
        Self {
            layers: s.layers,
            direction: Direction::of_json(&s.rest),
        }
    }
}

impl EmotionSet {
    /// The direction steering toward `e` adds.
    pub fn direction_for(&self, e: usize) -> Direction {
        match self.steer_own.get(e) {
            Some(Some(own)) => own.direction,
            _ => self.steer_direction,
        }
    }

    /// The layers steering toward `e` adds to when no layer is given.
    pub fn steer_layers_for(&self, e: usize) -> Vec<usize> {
        match self.steer_own.get(e) {
            Some(Some(own)) => own.layers.clone(),
            _ => self.default_steer_layers(),
        }
    }

    /// The unit direction `(d)` that steering toward `e` adds at `layer`.
    pub fn steer_direction(&self, layer: usize, e: usize) -> Vec<f32> {
        let direction = self.direction_for(e);
        if direction == Direction::Generated {
            if let Some(g) = self.generated(layer, e) {
                return g;
            }
        }
        let v = self.mean(layer, e);
        match (self.raw_norm.get(layer), self.neutral.get(layer)) {
            (Some(r), Some(u)) if direction == Direction::Contrastive => {
                let mut w: Vec<f32> = v.iter().zip(u).map(|(x, n)| r[e] * x - n).collect();
                let len = dot(&w, &w).sqrt();
                if len > 0.0 {
                    w.iter_mut().for_each(|x| *x /= len);
                }
                w
            }
            _ => v,
        }
    }

    /// The vector to add at `layer` for steering toward `(emotion, strength)` pairs; strength is a
    /// fraction of the mean residual norm there and must be finite and within ±[`MAX_STRENGTH`].
    ///
    /// [`MAX_STRENGTH`]: crate::emotions::MAX_STRENGTH
    pub fn steering(&self, layer: usize, steers: &[(usize, f32)]) -> Result<Vec<f32>> {
        self.check_layer(layer)?;
        let mut v = vec![0.0f32; self.d_model];
        for &(e, s) in steers {
            check_strength(s)?;
            let scale = s * self.resid_norm[layer];
            for (acc, x) in v.iter_mut().zip(self.steer_direction(layer, e)) {
                *acc += scale * x;
            }
        }
        Ok(v)
    }

    /// What steering toward `(emotion, strength)` pairs adds, as `(layer, vector (d))` in layer
    /// order: at `layer` when given, else at each emotion's steering layers with its strength
    /// split evenly over them.
    pub fn steer_vectors(
        &self,
        steers: &[(usize, f32)],
        layer: Option<usize>,
    ) -> Result<Vec<(usize, Vec<f32>)>> {
        steers.iter().try_for_each(|&(_, s)| check_strength(s))?;
        let mut acc: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
        for &(e, s) in steers {
            let layers = layer.map_or_else(|| self.steer_layers_for(e), |l| vec![l]);
            for (l, v) in self.steer_vectors_at(&[(e, s)], &layers)? {
                let sum = acc.entry(l).or_insert_with(|| vec![0.0; self.d_model]);
                sum.iter_mut().zip(&v).for_each(|(a, x)| *a += x);
            }
        }
        Ok(acc.into_iter().collect())
    }

    /// The hooks that steer toward `(emotion, strength)` pairs (see [`EmotionSet::steer_vectors`]):
    /// one vector added per layer, whatever the number of emotions.
    pub fn steer_hooks(&self, steers: &[(usize, f32)], layer: Option<usize>) -> Result<HookSet> {
        self.steer_hooks_with(steers, layer, &[])
    }

    /// [`EmotionSet::steer_hooks`] with `extra` `(layer, vector (d))` terms added too (made
    /// vectors, [`crate::make`]): still one vector added per layer.
    pub fn steer_hooks_with(
        &self,
        steers: &[(usize, f32)],
        layer: Option<usize>,
        extra: &[(usize, Vec<f32>)],
    ) -> Result<HookSet> {
        let mut acc: BTreeMap<usize, Vec<f32>> =
            self.steer_vectors(steers, layer)?.into_iter().collect();
        for (l, v) in extra {
            self.check_layer(*l)?;
            let sum = acc.entry(*l).or_insert_with(|| vec![0.0; self.d_model]);
            sum.iter_mut().zip(v).for_each(|(a, x)| *a += x);
        }
        let mut hooks = HookSet::new();
        for (l, vector) in acc {
            hooks.push(
                HookPoint::ResidPost(l),
                Intervention::Add { vector, alpha: 1.0 },
            );
        }
        Ok(hooks)
    }

    /// Steering toward `(emotion, strength)` pairs at the given layers, each strength split
    /// evenly over them.
    pub fn steer_vectors_at(
        &self,
        steers: &[(usize, f32)],
        layers: &[usize],
    ) -> Result<Vec<(usize, Vec<f32>)>> {
        let k = layers.len().max(1) as f32;
        steers.iter().try_for_each(|&(_, s)| check_strength(s))?;
        let split: Vec<(usize, f32)> = steers.iter().map(|&(e, s)| (e, s / k)).collect();
        layers
            .iter()
            .map(|&l| Ok((l, self.steering(l, &split)?)))
            .collect()
    }

    /// The layers `--steer` adds to by default.
    pub fn default_steer_layers(&self) -> Vec<usize> {
        if self.steer_layers.is_empty() {
            vec![self.default_layer]
        } else {
            self.steer_layers.clone()
        }
    }

    /// The default strength for steering toward `e`.
    pub fn strength_of(&self, e: usize) -> f32 {
        self.steer_strength
            .get(e)
            .copied()
            .unwrap_or(self.default_strength)
    }
}
