//! Report section 5's per-emotion check from outside the model: the words of the steered
//! replies in the NRC Emotion Lexicon (Mohammad & Turney 2013), whose categories name four of
//! the six swept emotions. VADER's compound is one number for valence, and a reply of dark,
//! tender words reads near neutral on it; the lexicon counts the emotion's own words.
//!
//! Read from the report's replies in steering.json (never from the choice's, and nothing is
//! chosen on it): per steered emotion, the share of its replies' words in its own category
//! against the unsteered replies to the same prompts with the same seeds, with a 95 % interval
//! from resampling those (prompt, seed) pairs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use limbic::crossval::resampled;

/// The swept emotions the lexicon has a category for (it has none for calm or desperate).
pub const OWN_CATEGORY: [(&str, &str); 4] = [
    ("happy", "joy"),
    ("sad", "sadness"),
    ("afraid", "fear"),
    ("angry", "anger"),
];
/// The categories the table shows.
const SHOWN: [&str; 6] = ["joy", "sadness", "fear", "anger", "positive", "negative"];

type Shares = BTreeMap<String, f64>;

/// Steered over unsteered mean share of `category`, over the pairs `(steered, unsteered)`, with
/// a 95 % interval from resampling the pairs.
pub fn ratio(pairs: &[(&Shares, &Shares)], category: &str, seed: u64) -> (f64, f64, f64) {
    let of = |idx: &[usize]| {
        let (mut a, mut b) = (0.0, 0.0);
        for &i in idx {
            a += pairs[i].0.get(category).copied().unwrap_or(0.0);
            b += pairs[i].1.get(category).copied().unwrap_or(0.0);
        }
        // No unsteered word of the category in a resample: no finite ratio.
        if b > 0.0 {
            a / b
        } else {
            f64::INFINITY
        }
    };
    let reps = resampled(pairs.len(), 1000, seed, of);
    let all: Vec<usize> = (0..pairs.len()).collect();
    (of(&all), reps[24], reps[974])
}

/// The report's paragraph and table on the report replies `r["runs"]`; per swept emotion with a
/// category, `{category, unsteered, steered, ratio, low, high}` (shares of words), keyed by name.
pub fn words(r: &Value, out: &Path, md: &mut String) -> BTreeMap<String, Value> {
    let runs: Vec<&Value> = r["runs"].as_array().into_iter().flatten().collect();
    let texts: Vec<String> = runs
        .iter()
        .map(|x| x["text"].as_str().unwrap_or("").to_string())
        .collect();
    let Some(shares) = crate::validate_text::emotion_words(&texts, out) else {
        md.push_str("\n**Emotion words.** The NRC Emotion Lexicon could not be read (scripts/validation_data.py emotion-words), so this check is missing.\n");
        return BTreeMap::new();
    };
    let group = |x: &Value| x["emotion"].as_str().unwrap_or("none").to_string();
    let key = |x: &Value| format!("{}\u{0}{}", x["prompt"], x["seed"]);
    let unsteered: BTreeMap<String, &Shares> = runs
        .iter()
        .zip(&shares)
        .filter(|(x, _)| x["emotion"].is_null())
        .map(|(x, s)| (key(x), s))
        .collect();
    let mut order: Vec<String> = Vec::new();
    for x in &runs {
        if !order.contains(&group(x)) {
            order.push(group(x));
        }
    }
    let _ = write!(md, "\n**Emotion words** (a per-emotion check from outside the model): the share of the replies' words that the NRC Emotion Lexicon (Mohammad & Turney 2013, as packaged by `NRCLex` 4.1.0) puts in each category, in %, \
        on the report's replies above; the last column, for the emotions it has a category for (none for *calm* or *desperate*), how many times steering multiplies the share of the emotion's own category over the unsteered replies \
        to the same prompts and seeds (95 % interval from resampling them). Nothing was chosen on it.\n\n| replies | {} | own category |\n|---|{}---|\n",
        SHOWN.join(" | "), "---|".repeat(SHOWN.len()));
    let mut own = BTreeMap::new();
    for (g, name) in order.iter().enumerate() {
        let mine: Vec<(&Value, &Shares)> = runs
            .iter()
            .zip(&shares)
            .filter(|(x, _)| &group(x) == name)
            .map(|(x, s)| (*x, s))
            .collect();
        let cells: Vec<String> = SHOWN
            .iter()
            .map(|c| format!("{:.1}", 100.0 * mean_share(mine.iter().map(|m| m.1), c)))
            .collect();
        let last = match OWN_CATEGORY.iter().find(|(e, _)| e == name) {
            Some(&(_, cat)) => {
                let pairs: Vec<(&Shares, &Shares)> = mine
                    .iter()
                    .filter_map(|(x, s)| unsteered.get(&key(x)).map(|u| (*s, *u)))
                    .collect();
                let (k, lo, hi) = ratio(&pairs, cat, 0x1e8 + g as u64);
                let (steered, base) = (
                    mean_share(pairs.iter().map(|p| p.0), cat),
                    mean_share(pairs.iter().map(|p| p.1), cat),
                );
                own.insert(name.clone(), json!({"category": cat, "unsteered": base, "steered": steered, "ratio": k, "low": lo, "high": hi}));
                format!("{cat} ×{} [{}, {}]", said(k), said(lo), said(hi))
            }
            None => "—".into(),
        };
        let shown = if name == "none" { "unsteered" } else { name };
        let _ = writeln!(md, "| {shown} | {} | {last} |", cells.join(" | "));
    }
    own
}

/// The mean share of `category` over `shares` (0 for none).
fn mean_share<'a>(shares: impl ExactSizeIterator<Item = &'a Shares>, category: &str) -> f64 {
    let n = shares.len().max(1) as f64;
    shares
        .map(|s| s.get(category).copied().unwrap_or(0.0))
        .sum::<f64>()
        / n
}

/// A ratio to one decimal; "∞" where the unsteered replies had none of the category's words
/// (in some resamples of few replies, or all of them).
pub fn said(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "∞".into()
    }
}

#[cfg(test)]
mod tests {
    use super::{ratio, said, Shares};

    #[test]
    fn the_own_category_ratio_is_of_means_with_an_interval_around_it() {
        let s = |x: f64| -> Shares { [("sadness".to_string(), x)].into_iter().collect() };
        let steered = [s(0.04), s(0.06), s(0.05), s(0.05)];
        let unsteered = [s(0.01), s(0.01), s(0.02), s(0.01)];
        let pairs: Vec<(&Shares, &Shares)> = steered.iter().zip(&unsteered).collect();
        let (k, lo, hi) = ratio(&pairs, "sadness", 1);
        assert!((k - 0.20 / 0.05).abs() < 1e-9, "{k}");
        assert!(lo <= k && k <= hi && lo > 2.0, "{lo} {k} {hi}");
        // A category no unsteered reply has: no finite ratio, said as such.
        let (k, ..) = ratio(&pairs, "joy", 1);
        assert!(k.is_infinite());
        assert_eq!(said(k), "∞");
        // One unsteered reply of four has the category: some resamples miss it.
        let few = [s(0.0), s(0.0), s(0.0), s(0.01)];
        let pairs: Vec<(&Shares, &Shares)> = steered.iter().zip(&few).collect();
        let (k, lo, hi) = ratio(&pairs, "sadness", 1);
        assert!(
            (k - 20.0).abs() < 1e-9 && lo.is_finite() && hi.is_infinite(),
            "{k} {lo} {hi}"
        );
    }
}
