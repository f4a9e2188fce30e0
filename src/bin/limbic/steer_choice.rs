//! The steering choice of `limbic steer-sweep`, from a table of measured cells (one per direction,
//! layer set, strength and swept emotion): each swept emotion's own setting, and one setting for
//! the others. The table is measured by the sweep, or pooled ([`pool`]) from earlier sweeps'
//! tables over the same grid with other seeds: a cell's mean over all their replies is the mean
//! of the sweeps' means weighted by their seeds (each seed the same replies).

use serde_json::{json, Value};

use limbic::emotions::{Direction, EmotionSet};
use limbic::{Error, Result};

/// How far below an emotion's strongest fluent effect a setting may be and still be chosen for
/// a larger own-word ratio: two noise sds of the difference of two cells over six seeds (one
/// cell's mean effect wanders by 0.07–0.11 sd over three seeds, `steering-stability.md`, so by
/// about 0.065 over six and 0.09 for a difference of two).
pub const EFFECT_TOLERANCE: f64 = 0.2;
/// The report's fluency bound: mean perplexity of steered replies at most this times the
/// unsteered ones'.
pub const MAX_PPL_RATIO: f64 = 2.0;
/// The choice holds a cell to that bound less two noise sds of one cell's log perplexity over
/// six seeds (0.086 over three, measured on the two three-seed sweeps' 432 cells; 0.061 over
/// six): 2 × e^−0.12 ≈ 1.77×, so a setting chosen near the bound does not land over it on other
/// prompts by noise alone.
pub const PPL_MARGIN: f64 = 0.12;
/// Repetition bound: steered replies' mean share of distinct words at least this times the
/// unsteered ones' (a word said over and over is easy to predict, so perplexity alone lets it
/// through).
pub const MIN_DISTINCT_RATIO: f64 = 0.5;

/// One setting's measures for one emotion: its mean VADER effect (signed by the emotion's
/// valence), perplexity and share of distinct words over its replies, and its own-word ratio.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub direction: Direction,
    pub layers: Vec<usize>,
    pub strength: f32,
    pub emotion: usize,
    pub effect: f64,
    pub perplexity: f64,
    pub feel_ratio: f64,
    pub distinct: f64,
}

/// A sweep's measured table: its seeds, the unsteered replies' mean VADER, perplexity and share
/// of distinct words, and every cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub seeds: Vec<u64>,
    pub vader: f64,
    pub perplexity: f64,
    pub distinct: f64,
    pub cells: Vec<Cell>,
}

/// The choice: each swept emotion's own cell (`None` where none is fluent), every (direction,
/// layer set)'s strongest fluent cell per swept emotion with their mean effect, and the best of
/// those for the other emotions.
pub struct Choice<'a> {
    pub own: Vec<Option<&'a Cell>>,
    pub settings: Vec<Setting<'a>>,
    pub best: usize,
}

/// A direction and layer set, its strongest fluent cell per swept emotion, and their mean effect
/// (none counts 0).
pub struct Setting<'a> {
    pub direction: Direction,
    pub layers: Vec<usize>,
    pub per: Vec<Option<&'a Cell>>,
    pub score: f64,
}

impl Table {
    /// Fluent: within the choice's perplexity bound and the repetition bound.
    pub fn fluent(&self, c: &Cell) -> bool {
        c.perplexity <= MAX_PPL_RATIO * (-PPL_MARGIN).exp() * self.perplexity
            && c.distinct >= MIN_DISTINCT_RATIO * self.distinct
    }

    /// The cells and baseline as a sweep file's `choice` records them.
    pub fn to_json(&self, set: &EmotionSet) -> Value {
        let cells: Vec<Value> = self.cells.iter().map(|c| json!({"direction": c.direction.name(), "layers": c.layers, "strength": c.strength, "emotion": set.names[c.emotion], "effect": c.effect, "perplexity": c.perplexity, "feel_ratio": c.feel_ratio, "distinct": c.distinct})).collect();
        json!({"seeds": self.seeds, "unsteered_vader": self.vader, "unsteered_perplexity": self.perplexity, "unsteered_distinct": self.distinct, "cells": cells,
               "effect_tolerance": EFFECT_TOLERANCE, "max_perplexity_ratio": MAX_PPL_RATIO, "perplexity_margin": PPL_MARGIN, "min_distinct_ratio": MIN_DISTINCT_RATIO})
    }

    /// A sweep file's `choice`, which must have been measured over `grid` (every key of it the
    /// same: prompts, sentences, strengths, sampling), or over some of its layer sets.
    pub fn from_json(choice: &Value, grid: &Value, set: &EmotionSet) -> Result<Table> {
        let bad = |what: &str| Error::Steer(format!("the earlier sweep's choice: {what}"));
        let sets = grid["layer_sets"].as_array().cloned().unwrap_or_default();
        let mut theirs = choice["layer_sets"].as_array().into_iter().flatten();
        if let Some(s) = theirs.find(|s| !sets.contains(s)) {
            return Err(bad(&format!(
                "its layer set {s} is not one of this sweep's"
            )));
        }
        for (key, want) in grid.as_object().into_iter().flatten() {
            if key != "layer_sets" && &choice[key] != want {
                return Err(bad(&format!(
                    "its {key} differ from this sweep's ({} against {want})",
                    choice[key]
                )));
            }
        }
        let num = |v: &Value, key: &str| v[key].as_f64().ok_or_else(|| bad(&format!("no {key}")));
        let cells = choice["cells"]
            .as_array()
            .ok_or_else(|| bad("no cells"))?
            .iter()
            .map(|c| {
                Ok(Cell {
                    direction: Direction::of_json(c),
                    layers: serde_json::from_value(c["layers"].clone())
                        .map_err(|e| bad(&format!("layers: {e}")))?,
                    strength: num(c, "strength")? as f32,
                    emotion: set.index(c["emotion"].as_str().unwrap_or(""))?,
                    effect: num(c, "effect")?,
                    perplexity: num(c, "perplexity")?,
                    feel_ratio: num(c, "feel_ratio")?,
                    distinct: num(c, "distinct")?,
                })
            })
            .collect::<Result<Vec<Cell>>>()?;
        Ok(Table {
            seeds: serde_json::from_value(choice["seeds"].clone())
                .map_err(|e| bad(&format!("seeds: {e}")))?,
            vader: num(choice, "unsteered_vader")?,
            perplexity: num(choice, "unsteered_perplexity")?,
            distinct: num(choice, "unsteered_distinct")?,
            cells,
        })
    }
}

/// Tables measured with the same seeds over different layer sets of one grid (`sets`) as one
/// table over all of them, per seed list: a sweep of some layer sets joins an earlier sweep of
/// the others. Each joined table's cells are in the grid's order, as one sweep measures them.
pub fn join(tables: Vec<Table>, sets: &[Vec<usize>]) -> Result<Vec<Table>> {
    let mut joined: Vec<Table> = Vec::new();
    for t in tables {
        let Some(j) = joined.iter_mut().find(|j| j.seeds == t.seeds) else {
            joined.push(t);
            continue;
        };
        // The same replies; a table pooled from runs with fewer seeds each may round its means
        // differently in the last bits.
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        if !(near(j.vader, t.vader)
            && near(j.perplexity, t.perplexity)
            && near(j.distinct, t.distinct))
        {
            return Err(Error::Steer(format!(
                "two sweeps with seeds {:?} have different unsteered replies: another model or code",
                t.seeds
            )));
        }
        if t.cells
            .iter()
            .any(|c| j.cells.iter().any(|o| o.layers == c.layers))
        {
            return Err(Error::Steer(format!(
                "two sweeps with seeds {:?} measured the same layer set",
                t.seeds
            )));
        }
        j.cells.extend(t.cells);
    }
    let at = |c: &Cell| sets.iter().position(|s| *s == c.layers);
    for j in &mut joined {
        let mut have: Vec<usize> = j.cells.iter().filter_map(at).collect();
        have.sort_unstable();
        have.dedup();
        if have.len() != sets.len() || j.cells.iter().any(|c| at(c).is_none()) {
            return Err(Error::Steer(format!(
                "the sweeps with seeds {:?} measured {} of this grid's {} layer sets",
                j.seeds,
                have.len(),
                sets.len()
            )));
        }
        // Stable: within a direction and layer set, the cells stay in the sweep's order.
        j.cells.sort_by_key(|c| (c.direction as usize, at(c)));
    }
    Ok(joined)
}

/// Tables over the same grid with different seeds as one: each mean weighted by the table's
/// seeds. The own-word ratio does not sample, so the tables must agree on it.
pub fn pool(tables: &[Table]) -> Result<Table> {
    let first = tables
        .first()
        .ok_or_else(|| Error::Steer("no sweep to pool".into()))?;
    let mut seeds: Vec<u64> = tables.iter().flat_map(|t| t.seeds.clone()).collect();
    seeds.sort_unstable();
    let n = seeds.len();
    seeds.dedup();
    if seeds.len() != n {
        return Err(Error::Steer(
            "the sweeps to pool share a seed: their replies would count twice".into(),
        ));
    }
    let w: Vec<f64> = tables
        .iter()
        .map(|t| t.seeds.len() as f64 / n as f64)
        .collect();
    let mean = |x: &dyn Fn(&Table) -> f64| tables.iter().zip(&w).map(|(t, w)| w * x(t)).sum();
    let mut cells = first.cells.clone();
    for (i, c) in cells.iter_mut().enumerate() {
        for t in &tables[1..] {
            let o = t.cells.get(i).filter(|o| {
                (o.direction, &o.layers, o.strength, o.emotion)
                    == (c.direction, &c.layers, c.strength, c.emotion)
            });
            match o {
                Some(o) if (o.feel_ratio / c.feel_ratio - 1.0).abs() < 1e-9 => {}
                Some(_) => {
                    return Err(Error::Steer(
                        "the sweeps to pool measured a different own-word ratio for one cell: another model or vectors"
                            .into(),
                    ))
                }
                None => {
                    return Err(Error::Steer(
                        "the sweeps to pool have different cells".into(),
                    ))
                }
            }
        }
        c.effect = mean(&|t| t.cells[i].effect);
        c.perplexity = mean(&|t| t.cells[i].perplexity);
        c.distinct = mean(&|t| t.cells[i].distinct);
    }
    if tables.iter().any(|t| t.cells.len() != cells.len()) {
        return Err(Error::Steer(
            "the sweeps to pool have different cells".into(),
        ));
    }
    Ok(Table {
        seeds: tables.iter().flat_map(|t| t.seeds.clone()).collect(),
        vader: mean(&|t| t.vader),
        perplexity: mean(&|t| t.perplexity),
        distinct: mean(&|t| t.distinct),
        cells,
    })
}

/// Per swept emotion, its own setting: among its fluent cells whose effect is within
/// [`EFFECT_TOLERANCE`] of the strongest fluent effect, the one with the largest own-word ratio
/// (the outside measure first, the emotion's own word to choose between near-equals). For the
/// others, the direction and layer set whose swept emotions' strongest fluent effects have the
/// best mean.
pub fn choose<'a>(table: &'a Table, emotions: &[usize], sets: &[Vec<usize>]) -> Choice<'a> {
    let fluent: Vec<&Cell> = table.cells.iter().filter(|c| table.fluent(c)).collect();
    let strongest = |keep: &dyn Fn(&Cell) -> bool| {
        fluent
            .iter()
            .filter(|c| keep(c))
            .max_by(|a, b| a.effect.total_cmp(&b.effect))
            .copied()
    };
    let own = emotions
        .iter()
        .map(|&e| {
            let top = strongest(&|c| c.emotion == e)?.effect;
            fluent
                .iter()
                .filter(|c| c.emotion == e && c.effect >= top - EFFECT_TOLERANCE)
                .max_by(|a, b| a.feel_ratio.total_cmp(&b.feel_ratio))
                .copied()
        })
        .collect();
    let mut settings = Vec::new();
    for direction in Direction::ALL {
        for layers in sets {
            let per: Vec<Option<&Cell>> = emotions
                .iter()
                .map(|&e| {
                    strongest(&|c| {
                        c.direction == direction && &c.layers == layers && c.emotion == e
                    })
                })
                .collect();
            let score =
                per.iter().map(|p| p.map_or(0.0, |c| c.effect)).sum::<f64>() / per.len() as f64;
            settings.push(Setting {
                direction,
                layers: layers.clone(),
                per,
                score,
            });
        }
    }
    let best = (0..settings.len())
        .max_by(|&a, &b| settings[a].score.total_cmp(&settings[b].score))
        .unwrap_or(0);
    Choice {
        own,
        settings,
        best,
    }
}

#[cfg(test)]
mod tests {
    use super::{choose, join, pool, Cell, Table, EFFECT_TOLERANCE};
    use limbic::emotions::Direction;

    fn cell(layer: usize, strength: f32, effect: f64, perplexity: f64, feel_ratio: f64) -> Cell {
        Cell {
            direction: Direction::Mean,
            layers: vec![layer],
            strength,
            emotion: 0,
            effect,
            perplexity,
            feel_ratio,
            distinct: 0.8,
        }
    }

    fn table(seeds: &[u64], cells: Vec<Cell>) -> Table {
        Table {
            seeds: seeds.to_vec(),
            vader: 0.6,
            perplexity: 4.0,
            distinct: 0.8,
            cells,
        }
    }

    #[test]
    fn the_choice_takes_the_own_word_among_near_equal_fluent_effects() {
        let t = table(
            &[7],
            vec![
                // Strongest, but over 2x less the margin (7.08 for a baseline of 4).
                cell(10, 0.5, 1.0, 7.5, 50.0),
                // The strongest fluent effect.
                cell(13, 0.35, 0.6, 7.0, 2.0),
                // Near it, and the own word higher: chosen.
                cell(16, 0.2, 0.6 - EFFECT_TOLERANCE + 0.01, 5.0, 9.0),
                // Own word higher still, but too weak.
                cell(19, 0.1, 0.6 - EFFECT_TOLERANCE - 0.01, 4.2, 20.0),
            ],
        );
        let c = choose(&t, &[0], &[vec![10], vec![13], vec![16], vec![19]]);
        assert_eq!(c.own[0].map(|c| c.layers[0]), Some(16));
        // The others' setting: the layer set with the strongest fluent effect.
        assert_eq!(c.settings[c.best].layers, [13]);
        assert!(c
            .settings
            .iter()
            .all(|s| s.layers != [10] || s.per[0].is_none()));
    }

    #[test]
    fn pooled_tables_weigh_each_seed_alike_and_refuse_what_does_not_match() {
        let a = table(&[7, 8], vec![cell(13, 0.2, 0.3, 6.0, 3.0)]);
        let mut b = table(&[9], vec![cell(13, 0.2, 0.9, 3.0, 3.0)]);
        b.vader = 0.3;
        let p = pool(&[a.clone(), b.clone()]).expect("pooled");
        assert_eq!(p.seeds, [7, 8, 9]);
        assert!((p.cells[0].effect - 0.5).abs() < 1e-12);
        assert!((p.cells[0].perplexity - 5.0).abs() < 1e-12);
        assert!((p.vader - 0.5).abs() < 1e-12);
        assert_eq!(p.cells[0].feel_ratio, 3.0);
        // A seed in both, another cell, another own-word ratio (other vectors): refused.
        assert!(pool(&[a.clone(), table(&[8], b.cells.clone())]).is_err());
        let mut other = b.clone();
        other.cells[0].layers = vec![16];
        assert!(pool(&[a.clone(), other]).is_err());
        let mut other = b.clone();
        other.cells[0].feel_ratio = 3.5;
        assert!(pool(&[a.clone(), other]).is_err());
        let mut other = b;
        other.cells.push(cell(16, 0.2, 0.1, 4.0, 1.0));
        assert!(pool(&[a, other]).is_err());
        assert!(pool(&[]).is_err());
    }

    #[test]
    fn tables_of_some_layer_sets_join_into_the_grids_order_per_seed_list() {
        let sets = [vec![10], vec![13], vec![10, 11]];
        let mut gen = cell(10, 0.2, 0.1, 4.0, 1.0);
        gen.direction = Direction::Generated;
        let early = table(&[7], vec![cell(10, 0.1, 0.2, 4.0, 1.0), gen.clone()]);
        let mut band = cell(10, 0.1, 0.3, 4.0, 1.0);
        band.layers = vec![10, 11];
        let later = table(&[7], vec![cell(13, 0.1, 0.4, 4.0, 1.0), band.clone()]);
        let other_seed = table(&[8], [&later.cells[..], &early.cells[..]].concat());
        let j = join(vec![later.clone(), other_seed, early.clone()], &sets).expect("joined");
        assert_eq!(j.len(), 2);
        assert_eq!(j[0].cells, j[1].cells);
        let joined = j.iter().find(|t| t.seeds == [7]).expect("seed 7");
        let layers: Vec<_> = joined.cells.iter().map(|c| c.layers.clone()).collect();
        // Mean at 10, 13, 10-11, then generated at 10: one sweep's order.
        assert_eq!(layers, [vec![10], vec![13], vec![10, 11], vec![10]]);
        assert_eq!(joined.cells[3], gen);
        // Seed 8 alone covers one of the three layer sets: refused, as are a set measured twice,
        // another baseline for the same seeds, and a set outside the grid.
        assert!(join(
            vec![early.clone(), later.clone(), table(&[8], vec![band])],
            &sets
        )
        .is_err());
        assert!(join(vec![early.clone(), later.clone(), early.clone()], &sets).is_err());
        let mut moved = later.clone();
        moved.perplexity = 4.0 + 1e-6;
        assert!(join(vec![early.clone(), moved], &sets).is_err());
        assert!(join(vec![early, later], &sets[..2]).is_err());
    }
}
