//! The steering choice of `limbic steer-sweep`, from a table of measured cells (one per direction,
//! layer set, strength and swept emotion): each swept emotion's own setting, and one setting for
//! the others. The table is measured by the sweep, or pooled ([`pool`]) from earlier sweeps'
//! tables over the same grid with other seeds: a cell's mean over all their replies is the mean
//! of the sweeps' means weighted by their seeds (each seed the same replies). Each cell keeps its
//! perplexity per seed group as well (each seed of a measured table, each pooled table), so the
//! choice's perplexity margin is measured from the table it chooses on ([`Table::margin`]).

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
/// the table's seeds, so a setting chosen near the bound does not land over it on other prompts
/// by noise alone: measured from the table's seed groups ([`Table::margin`]), or this where it
/// has one group (SmolLM2's, measured once on its two three-seed sweeps: 0.086 over three seeds,
/// 0.061 over six, 2 × e^−0.12 ≈ 1.77×; Gemma 3 270M's cells are twice as noisy).
pub const PPL_MARGIN: f64 = 0.12;
/// Repetition bound: steered replies' mean share of distinct words at least this times the
/// unsteered ones' (a word said over and over is easy to predict, so perplexity alone lets it
/// through).
pub const MIN_DISTINCT_RATIO: f64 = 0.5;
/// Repeating-reply bound: a setting's share of replies that repeat
/// ([`crate::validate_text::repeats`]: one word over half the words, or a character ten times
/// running) at most this above the unsteered replies' (3 more of 36). A mean share of distinct
/// words lets through a setting where half the replies say "happy happy happy…" and the rest
/// read well (Gemma 3 270M's *happy*, 18 of 30 report replies). Measured by sweeps from
/// 8 December 2026 on: a table joined or pooled with an older one goes without it.
pub const MAX_REPEATING: f64 = 0.1;

/// One setting's measures for one emotion: its mean VADER effect (signed by the emotion's
/// valence), perplexity (and per seed group of its table), share of distinct words and share of
/// repeating replies (where measured) over its replies, and its own-word ratio.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub direction: Direction,
    pub layers: Vec<usize>,
    pub strength: f32,
    pub emotion: usize,
    pub effect: f64,
    pub perplexity: f64,
    pub group_perplexity: Vec<f64>,
    pub feel_ratio: f64,
    pub distinct: f64,
    pub repeating: Option<f64>,
}

/// A sweep's measured table: its seeds, how many of them each seed group of the cells'
/// `group_perplexity` holds (one each in a measured table; a table read from a sweep file that
/// kept no groups is one), the unsteered replies' mean VADER, perplexity, share of distinct
/// words and share of repeating replies (`None`: not measured, in none of the cells either), and
/// every cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub seeds: Vec<u64>,
    pub groups: Vec<usize>,
    pub vader: f64,
    pub perplexity: f64,
    pub distinct: f64,
    pub repeating: Option<f64>,
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
    /// Two noise sds of one cell's log perplexity over all the table's seeds, measured from how
    /// its seed groups spread around each cell's mean (each group's shift over all cells taken
    /// out): with groups of n_i seeds (N in all), σ₁² = Σ n_i·r² / ((cells − 1)(groups − 1)) is
    /// one seed's variance, and the margin 2σ₁/√N. `None` with one group (nothing to measure).
    pub fn margin(&self) -> Option<f64> {
        let k = self.groups.len();
        let n: usize = self.groups.iter().sum();
        let logs: Vec<Vec<f64>> = self
            .cells
            .iter()
            .filter(|c| c.group_perplexity.iter().all(|p| p.is_finite() && *p > 0.0))
            .map(|c| c.group_perplexity.iter().map(|p| p.ln()).collect())
            .collect();
        if k < 2 || logs.len() < 2 {
            return None;
        }
        let w = |i: usize| self.groups[i] as f64;
        // Each cell's deviations from its seed-weighted mean, then each group's mean deviation.
        let dev: Vec<Vec<f64>> = logs
            .iter()
            .map(|l| {
                let m = (0..k).map(|i| w(i) * l[i]).sum::<f64>() / n as f64;
                l.iter().map(|x| x - m).collect()
            })
            .collect();
        let shift: Vec<f64> = (0..k)
            .map(|i| dev.iter().map(|d| d[i]).sum::<f64>() / dev.len() as f64)
            .collect();
        let ss: f64 = dev
            .iter()
            .flat_map(|d| (0..k).map(move |i| (i, d[i])))
            .map(|(i, d)| w(i) * (d - shift[i]).powi(2))
            .sum();
        let var1 = ss / ((dev.len() - 1) * (k - 1)) as f64;
        Some(2.0 * (var1 / n as f64).sqrt())
    }

    /// Fluent: within the choice's perplexity bound (less the margin), the distinct-word bound
    /// and, where measured, the repeating-reply bound.
    pub fn fluent(&self) -> impl Fn(&Cell) -> bool + '_ {
        let bound = MAX_PPL_RATIO * (-self.margin().unwrap_or(PPL_MARGIN)).exp() * self.perplexity;
        move |c| {
            c.perplexity <= bound
                && c.distinct >= MIN_DISTINCT_RATIO * self.distinct
                && self
                    .repeating
                    .is_none_or(|r0| c.repeating.is_some_and(|r| r <= r0 + MAX_REPEATING))
        }
    }

    /// The cells (each with whether it is fluent) and baseline as a sweep file's `choice`
    /// records them, with the margin the choice used and whether it was measured on this table.
    pub fn to_json(&self, set: &EmotionSet) -> Value {
        let margin = self.margin();
        let fluent = self.fluent();
        let cells: Vec<Value> = self.cells.iter().map(|c| json!({"direction": c.direction.name(), "layers": c.layers, "strength": c.strength, "emotion": set.names[c.emotion], "effect": c.effect, "perplexity": c.perplexity, "group_perplexity": c.group_perplexity, "feel_ratio": c.feel_ratio, "distinct": c.distinct, "repeating": c.repeating, "fluent": fluent(c)})).collect();
        json!({"seeds": self.seeds, "group_seeds": self.groups, "unsteered_vader": self.vader, "unsteered_perplexity": self.perplexity, "unsteered_distinct": self.distinct, "unsteered_repeating": self.repeating, "cells": cells,
               "effect_tolerance": EFFECT_TOLERANCE, "max_perplexity_ratio": MAX_PPL_RATIO, "perplexity_margin": margin.unwrap_or(PPL_MARGIN), "perplexity_margin_measured": margin.is_some(), "min_distinct_ratio": MIN_DISTINCT_RATIO,
               "max_repeating_above_unsteered": MAX_REPEATING, "repeating_bound_applied": self.repeating.is_some()})
    }

    /// Its seeds as one group (each cell's perplexity over all of them).
    fn one_group(&mut self) {
        self.groups = vec![self.seeds.len()];
        for c in &mut self.cells {
            c.group_perplexity = vec![c.perplexity];
        }
    }

    /// Without the share of repeating replies: what a table that lacks it joins or pools into.
    fn without_repeating(&mut self) {
        self.repeating = None;
        for c in &mut self.cells {
            c.repeating = None;
        }
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
        let seeds: Vec<u64> = serde_json::from_value(choice["seeds"].clone())
            .map_err(|e| bad(&format!("seeds: {e}")))?;
        // Sweeps until 8 December 2026 kept no seed groups: all their seeds one.
        let groups: Vec<usize> = match &choice["group_seeds"] {
            Value::Null => vec![seeds.len()],
            g => {
                serde_json::from_value(g.clone()).map_err(|e| bad(&format!("group_seeds: {e}")))?
            }
        };
        if groups.iter().sum::<usize>() != seeds.len() || groups.contains(&0) {
            return Err(bad("its seed groups do not add up to its seeds"));
        }
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
                    group_perplexity: match &c["group_perplexity"] {
                        Value::Null if groups.len() == 1 => vec![num(c, "perplexity")?],
                        g => serde_json::from_value::<Vec<f64>>(g.clone())
                            .ok()
                            .filter(|g| g.len() == groups.len())
                            .ok_or_else(|| {
                                bad("a cell's group_perplexity is not one per seed group")
                            })?,
                    },
                    feel_ratio: num(c, "feel_ratio")?,
                    distinct: num(c, "distinct")?,
                    repeating: c["repeating"].as_f64(),
                })
            })
            .collect::<Result<Vec<Cell>>>()?;
        let mut table = Table {
            seeds,
            groups,
            vader: num(choice, "unsteered_vader")?,
            perplexity: num(choice, "unsteered_perplexity")?,
            distinct: num(choice, "unsteered_distinct")?,
            repeating: choice["unsteered_repeating"].as_f64(),
            cells,
        };
        if table.cells.iter().any(|c| c.repeating.is_none()) {
            table.without_repeating();
        }
        Ok(table)
    }
}

/// Tables measured with the same seeds over different layer sets of one grid (`sets`) as one
/// table over all of them, per seed list: a sweep of some layer sets joins an earlier sweep of
/// the others. Each joined table's cells are in the grid's order, as one sweep measures them;
/// tables whose seed groups differ join as one group.
pub fn join(tables: Vec<Table>, sets: &[Vec<usize>]) -> Result<Vec<Table>> {
    let mut joined: Vec<Table> = Vec::new();
    for mut t in tables {
        let Some(j) = joined.iter_mut().find(|j| j.seeds == t.seeds) else {
            joined.push(t);
            continue;
        };
        if j.groups != t.groups {
            j.one_group();
            t.one_group();
        }
        if j.repeating.is_none() || t.repeating.is_none() {
            j.without_repeating();
            t.without_repeating();
        }
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
    let repeating = tables.iter().all(|t| t.repeating.is_some());
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
        c.group_perplexity = tables
            .iter()
            .flat_map(|t| t.cells[i].group_perplexity.clone())
            .collect();
        c.distinct = mean(&|t| t.cells[i].distinct);
        c.repeating = repeating.then(|| mean(&|t| t.cells[i].repeating.unwrap_or(f64::NAN)));
    }
    if tables.iter().any(|t| t.cells.len() != cells.len()) {
        return Err(Error::Steer(
            "the sweeps to pool have different cells".into(),
        ));
    }
    Ok(Table {
        seeds: tables.iter().flat_map(|t| t.seeds.clone()).collect(),
        groups: tables.iter().flat_map(|t| t.groups.clone()).collect(),
        vader: mean(&|t| t.vader),
        perplexity: mean(&|t| t.perplexity),
        distinct: mean(&|t| t.distinct),
        repeating: repeating.then(|| mean(&|t| t.repeating.unwrap_or(f64::NAN))),
        cells,
    })
}

/// Per swept emotion, its own setting: among its fluent cells whose effect is within
/// [`EFFECT_TOLERANCE`] of the strongest fluent effect, the one with the largest own-word ratio
/// (the outside measure first, the emotion's own word to choose between near-equals). For the
/// others, the direction and layer set whose swept emotions' strongest fluent effects have the
/// best mean.
pub fn choose<'a>(table: &'a Table, emotions: &[usize], sets: &[Vec<usize>]) -> Choice<'a> {
    let is_fluent = table.fluent();
    let fluent: Vec<&Cell> = table.cells.iter().filter(|c| is_fluent(c)).collect();
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
    use super::{choose, join, pool, Cell, Table, EFFECT_TOLERANCE, MAX_REPEATING, PPL_MARGIN};
    use limbic::emotions::Direction;

    fn cell(layer: usize, strength: f32, effect: f64, perplexity: f64, feel_ratio: f64) -> Cell {
        Cell {
            direction: Direction::Mean,
            layers: vec![layer],
            strength,
            emotion: 0,
            effect,
            perplexity,
            group_perplexity: vec![perplexity],
            feel_ratio,
            distinct: 0.8,
            repeating: None,
        }
    }

    fn table(seeds: &[u64], cells: Vec<Cell>) -> Table {
        Table {
            seeds: seeds.to_vec(),
            groups: vec![seeds.len()],
            vader: 0.6,
            perplexity: 4.0,
            distinct: 0.8,
            repeating: None,
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
    fn the_perplexity_margin_is_measured_from_the_seed_groups_spread() {
        // Two three-seed tables whose log perplexities differ per cell by d (and all by a shift
        // that is no noise): one seed's variance 1.5·var(d), so over six seeds 2σ = sd(d).
        let d = [0.3, -0.1, 0.2, 0.0, -0.25, 0.15];
        let cells = |shift: f64, sign: f64| {
            d.iter()
                .enumerate()
                .map(|(i, d)| {
                    cell(
                        10 + i,
                        0.2,
                        0.0,
                        (1.5 + 0.1 * i as f64 + shift + sign * d / 2.0).exp(),
                        1.0,
                    )
                })
                .collect()
        };
        let p = pool(&[
            table(&[7, 8, 9], cells(0.4, 1.0)),
            table(&[10, 11, 12], cells(0.0, -1.0)),
        ])
        .expect("pooled");
        assert_eq!(p.groups, [3, 3]);
        assert_eq!(p.cells[0].group_perplexity.len(), 2);
        let m = d.iter().sum::<f64>() / d.len() as f64;
        let sd = (d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() - 1) as f64).sqrt();
        let margin = p.margin().expect("two groups");
        assert!((margin - sd).abs() < 1e-9, "{margin} against {sd}");
        // One group: nothing to measure, the constant. The bound follows the margin: a cell at
        // 1.7× the unsteered perplexity passes 2·e^−0.12 but not 2·e^−sd (sd ≈ 0.21).
        assert_eq!(table(&[7, 8, 9], cells(0.0, 1.0)).margin(), None);
        let near = cell(10, 0.2, 0.0, 1.7 * p.perplexity, 1.0);
        assert!(1.7 < 2.0 * (-PPL_MARGIN).exp() && !(p.fluent())(&near));
        let mut one = p.clone();
        one.groups = vec![6];
        for c in &mut one.cells {
            c.group_perplexity = vec![c.perplexity];
        }
        assert!((one.fluent())(&near));
    }

    #[test]
    fn a_table_kept_per_seed_joins_one_kept_as_a_whole_as_one_group() {
        let sets = [vec![10], vec![13]];
        let mut new = table(&[7, 8], vec![cell(10, 0.2, 0.3, 5.0, 2.0)]);
        new.groups = vec![1, 1];
        new.cells[0].group_perplexity = vec![4.0, 6.0];
        new.cells[0].repeating = Some(0.1);
        new.repeating = Some(0.0);
        let old = table(&[7, 8], vec![cell(13, 0.2, 0.1, 4.5, 1.0)]);
        let j = join(vec![new.clone(), old], &sets).expect("joined");
        assert_eq!(j[0].groups, [2]);
        let g: Vec<_> = j[0]
            .cells
            .iter()
            .map(|c| c.group_perplexity.clone())
            .collect();
        assert_eq!(g, [vec![5.0], vec![4.5]]);
        assert!(j[0].repeating.is_none() && j[0].cells.iter().all(|c| c.repeating.is_none()));
        // Alike, they stay per seed.
        let mut other = new.clone();
        other.cells[0].layers = vec![13];
        let j = join(vec![new, other], &sets).expect("joined");
        assert_eq!(
            (j[0].groups.clone(), j[0].repeating),
            (vec![1, 1], Some(0.0))
        );
    }

    #[test]
    fn a_setting_whose_replies_repeat_is_not_fluent_where_the_table_measured_it() {
        let mut t = table(
            &[7],
            vec![cell(10, 0.2, 0.6, 4.5, 9.0), cell(13, 0.2, 0.4, 4.5, 2.0)],
        );
        t.cells[0].repeating = Some(0.05 + MAX_REPEATING + 0.01);
        t.cells[1].repeating = Some(0.05 + MAX_REPEATING - 0.01);
        t.repeating = Some(0.05);
        let sets = [vec![10], vec![13]];
        assert_eq!(
            choose(&t, &[0], &sets).own[0].map(|c| c.layers[0]),
            Some(13)
        );
        // Pooled with a table that did not measure it: the bound goes, and the stronger cell
        // is chosen again.
        let mut old = t.clone();
        old.seeds = vec![8];
        old.without_repeating();
        let p = pool(&[t.clone(), old]).expect("pooled");
        assert!(p.repeating.is_none() && p.cells.iter().all(|c| c.repeating.is_none()));
        assert_eq!(
            choose(&p, &[0], &sets).own[0].map(|c| c.layers[0]),
            Some(10)
        );
        let mut again = t.clone();
        again.seeds = vec![9];
        let both = pool(&[t, again]).expect("pooled");
        assert!((both.cells[0].repeating.unwrap_or(0.0) - 0.16).abs() < 1e-12);
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
