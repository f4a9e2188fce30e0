//! The pass's cache on disk, per part (`stories`: the stories with the neutral dialogues'
//! moments; `scenes`). A file is named by a key of the model and every text of the part, and
//! holds each text's statistics under a key of that text alone: a corpus that gained or changed
//! some texts reads only those through the model and takes the rest from the model's earlier
//! files (the dialogues' moments too, when the dialogues are the same).
//!
//! Format v4: magic, the model's SHA-256 (64 hex digits), the dialogues' key (32 bytes, zero
//! without dialogues), then `n_layer, d, texts, has_moments, moment tokens` (u64 LE), per text its
//! key (32 bytes), its segment counts (u64) and norm sums then sums (f32), then the moments (f64).
//! A v3 file (the same without keys) is read when its name matches and rewritten as v4.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::extract::{Moments, StoryStats, OFFSETS};
use crate::io::{from_le_bytes, hex, le_bytes};

const MAGIC_V3: &[u8] = b"limbic-pass-v3\n";
const MAGIC: &[u8] = b"limbic-pass-v4\n";

pub(super) type Part = (Vec<StoryStats>, Option<Moments>);
type Key = [u8; 32];

/// Adds each text, length first, to `h`.
fn hash_texts<'a>(h: &mut Sha256, texts: impl IntoIterator<Item = &'a String>) {
    for t in texts {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
}

fn key_of<'a>(texts: impl IntoIterator<Item = &'a String>) -> Key {
    let mut h = Sha256::new();
    hash_texts(&mut h, texts);
    h.finalize().into()
}

/// The file under `dir` for a part (`what`) over `texts` and then `dialogues`.
fn part_path(
    dir: &Path,
    what: &str,
    model_sha256: &str,
    texts: &[String],
    dialogues: &[String],
) -> PathBuf {
    let mut h = Sha256::new();
    h.update(model_sha256.as_bytes());
    h.update(format!("{what} {OFFSETS:?} {}", texts.len() + dialogues.len()).as_bytes());
    hash_texts(&mut h, texts.iter().chain(dialogues));
    let key = hex(&h.finalize()[..8]);
    dir.join(format!("{what}-{key}.bin"))
}

/// A cached file's contents: each text's statistics by its key, the dialogues' key and moments.
struct Entries {
    model: String,
    dialogues: Key,
    stats: Vec<(Key, StoryStats)>,
    moments: Option<Moments>,
}

/// The part over `texts` and `dialogues`: from the file that holds exactly them, else as much as
/// the model's other files of the part hold, with `read(missing texts, dialogues or none)` for
/// the rest; the result is saved under its own name.
pub(super) fn cached_part(
    dir: &Path,
    what: &str,
    model_sha256: &str,
    texts: &[String],
    dialogues: &[String],
    tick: &dyn Fn(),
    read: impl FnOnce(&[String], &[String]) -> Result<Part>,
) -> Result<Part> {
    let path = part_path(dir, what, model_sha256, texts, dialogues);
    let keys: Vec<Key> = texts.iter().map(|t| key_of([t])).collect();
    let dkey = if dialogues.is_empty() {
        [0; 32]
    } else {
        key_of(dialogues)
    };
    if path.exists() {
        match load(&path, None) {
            Ok(e) if e.model.is_empty() || e.model == model_sha256 => {
                let (stats, moments) = (
                    e.stats.into_iter().map(|(_, s)| s).collect::<Vec<_>>(),
                    e.moments,
                );
                if e.model.is_empty() && stats.len() == keys.len() {
                    // A v3 file: give it its texts' keys.
                    save(&path, model_sha256, &dkey, &keys, &stats, moments.as_ref())?;
                }
                return Ok((stats, moments));
            }
            Ok(_) => {}
            Err(e) => eprintln!("cache {} unreadable ({e}); reading again", path.display()),
        }
    }
    // What the model's earlier files of this part hold, newest first, until nothing is missing.
    let mut known: HashMap<Key, StoryStats> = HashMap::new();
    let mut moments = None;
    let wanted: HashSet<&Key> = keys.iter().collect();
    let prefix = format!("{what}-");
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(".bin")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, p) in files {
        if known.len() == wanted.len() && (moments.is_some() || dialogues.is_empty()) {
            break;
        }
        let Ok(e) = load(&p, Some(model_sha256)) else {
            continue;
        };
        if moments.is_none() && e.dialogues == dkey && !dialogues.is_empty() {
            moments = e.moments;
        }
        known.extend(e.stats.into_iter().filter(|(k, _)| wanted.contains(k)));
    }
    let missing: Vec<String> = texts
        .iter()
        .zip(&keys)
        .filter(|(_, k)| !known.contains_key(*k))
        .map(|(t, _)| t.clone())
        .collect();
    if !known.is_empty() {
        eprintln!(
            "{what}: {} of {} texts from the cache, {} to read{}",
            texts.len() - missing.len(),
            texts.len(),
            missing.len(),
            if moments.is_some() {
                " (dialogues cached)"
            } else {
                ""
            }
        );
    }
    // The progress counts what came from the cache as done.
    let cached = texts.len() - missing.len() + moments.as_ref().map_or(0, |_| dialogues.len());
    (0..cached).for_each(|_| tick());
    let need_dialogues = if moments.is_some() {
        &[][..]
    } else {
        dialogues
    };
    let (new_stats, new_moments) = read(&missing, need_dialogues)?;
    let mut fresh = missing.iter().zip(new_stats);
    let mut stats = Vec::with_capacity(texts.len());
    for k in &keys {
        let s = match known.get(k) {
            Some(s) => s.clone(),
            None => fresh
                .next()
                .map(|(_, s)| s)
                .ok_or_else(|| Error::Model("a text was not read".into()))?,
        };
        stats.push(s);
    }
    let moments = moments.or(new_moments);
    save(&path, model_sha256, &dkey, &keys, &stats, moments.as_ref())?;
    Ok((stats, moments))
}

fn save(
    path: &Path,
    model: &str,
    dialogues: &Key,
    keys: &[Key],
    stats: &[StoryStats],
    moments: Option<&Moments>,
) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let k = OFFSETS.len();
    let n_layer = stats.first().map_or(0, |s| s.norm_sums.len() / k);
    let d = stats
        .first()
        .map_or(0, |s| s.sums.len() / (n_layer * k).max(1));
    let tmp = path.with_extension("partial");
    let mut f = BufWriter::new(std::fs::File::create(&tmp)?);
    f.write_all(MAGIC)?;
    f.write_all(
        format!("{model:<64}")
            .as_bytes()
            .get(..64)
            .unwrap_or_default(),
    )?;
    f.write_all(dialogues)?;
    for v in [
        n_layer,
        d,
        stats.len(),
        moments.is_some() as usize,
        moments.map_or(0, |m| m.n),
    ] {
        f.write_all(&(v as u64).to_le_bytes())?;
    }
    for (key, s) in keys.iter().zip(stats) {
        f.write_all(key)?;
        for c in s.counts {
            f.write_all(&(c as u64).to_le_bytes())?;
        }
        f.write_all(&le_bytes(&s.norm_sums))?;
        f.write_all(&le_bytes(&s.sums))?;
    }
    if let Some(m) = moments {
        m.sum
            .iter()
            .chain(&m.outer)
            .try_for_each(|v| f.write_all(&v.to_le_bytes()))?;
    }
    f.flush()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// A file's entries; with `model`, only a v4 file of that model (its header read, no more).
fn load(path: &Path, model_wanted: Option<&str>) -> Result<Entries> {
    let mut f = BufReader::new(std::fs::File::open(path)?);
    let mut magic = vec![0u8; MAGIC.len()];
    f.read_exact(&mut magic)?;
    let v4 = magic == MAGIC;
    if !v4 && magic != MAGIC_V3 {
        return Err(Error::Model("not a pass cache".into()));
    }
    let (mut model, mut dialogues) = (String::new(), [0u8; 32]);
    if v4 {
        let mut m = [0u8; 64];
        f.read_exact(&mut m)?;
        model = String::from_utf8_lossy(&m).trim_end().to_string();
        f.read_exact(&mut dialogues)?;
    }
    if model_wanted.is_some_and(|m| m != model) {
        return Err(Error::Model(
            "another model's cache (or one without keys)".into(),
        ));
    }
    let (n_layer, d, n_stats, has_moments, n_tokens) =
        (u(&mut f)?, u(&mut f)?, u(&mut f)?, u(&mut f)?, u(&mut f)?);
    let k = OFFSETS.len();
    let mut stats = Vec::with_capacity(n_stats);
    let mut buf = vec![0u8; 4 * n_layer * k * (d + 1)];
    for _ in 0..n_stats {
        let mut key = [0u8; 32];
        if v4 {
            f.read_exact(&mut key)?;
        }
        let mut counts = [0usize; OFFSETS.len()];
        for c in counts.iter_mut() {
            *c = u(&mut f)?;
        }
        f.read_exact(&mut buf)?;
        let vals = from_le_bytes(&buf);
        let (norm_sums, sums) = vals.split_at(n_layer * k);
        stats.push((
            key,
            StoryStats {
                n_tokens: counts.iter().sum(),
                sums: sums.to_vec(),
                norm_sums: norm_sums.to_vec(),
                counts,
            },
        ));
    }
    let moments = if has_moments == 1 {
        let mut m = Moments::new(n_layer, d);
        m.n = n_tokens;
        let mut b8 = [0u8; 8];
        for v in m.sum.iter_mut().chain(m.outer.iter_mut()) {
            f.read_exact(&mut b8)?;
            *v = f64::from_le_bytes(b8);
        }
        Some(m)
    } else {
        None
    };
    Ok(Entries {
        model,
        dialogues,
        stats,
        moments,
    })
}

fn u(f: &mut impl Read) -> Result<usize> {
    let mut b8 = [0u8; 8];
    f.read_exact(&mut b8)?;
    Ok(u64::from_le_bytes(b8) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(seed: f32) -> StoryStats {
        let (n_layer, d, k) = (2, 3, OFFSETS.len());
        StoryStats {
            n_tokens: k,
            sums: (0..n_layer * k * d).map(|i| seed + i as f32).collect(),
            norm_sums: (0..n_layer * k).map(|i| seed * i as f32).collect(),
            counts: [1; OFFSETS.len()],
        }
    }

    /// A read that makes each text's statistics from its length and records what it was asked.
    fn reader(
        asked: &std::cell::RefCell<Vec<String>>,
    ) -> impl FnOnce(&[String], &[String]) -> Result<Part> + '_ {
        move |texts, dialogues| {
            asked
                .borrow_mut()
                .extend(texts.iter().chain(dialogues).cloned());
            let moments = (!dialogues.is_empty()).then(|| {
                let mut m = Moments::new(2, 3);
                m.n = 7;
                m
            });
            Ok((
                texts.iter().map(|t| stats(t.len() as f32)).collect(),
                moments,
            ))
        }
    }

    #[test]
    fn new_texts_are_the_only_ones_read_again() {
        let dir = std::env::temp_dir().join(format!("limbic-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        let dialogues = s(&["q a"]);
        // The part for `model` and `texts`: what was read through the "model", and the ticks.
        let run = |model: &str, texts: &[&str]| {
            let (asked, ticks) = (std::cell::RefCell::new(Vec::new()), std::cell::Cell::new(0));
            let part = cached_part(
                &dir,
                "stories",
                model,
                &s(texts),
                &dialogues,
                &|| ticks.set(ticks.get() + 1),
                reader(&asked),
            )
            .unwrap();
            (part, asked.into_inner(), ticks.get())
        };
        let (first, asked, _) = run("m1", &["a", "bb"]);
        assert_eq!(asked, s(&["a", "bb", "q a"]));
        // The same texts: nothing read.
        let (again, asked, _) = run("m1", &["a", "bb"]);
        assert!(asked.is_empty());
        assert_eq!(again.0, first.0);
        // One new text among the old: only it is read; the dialogues' moments come from the
        // cache, and the progress counts the two cached texts and the dialogue.
        let (grown, asked, ticks) = run("m1", &["a", "cccc", "bb"]);
        assert_eq!(asked, s(&["cccc"]));
        assert_eq!(ticks, 3);
        assert_eq!(grown.0, vec![stats(1.0), stats(4.0), stats(2.0)]);
        assert_eq!(grown.1.map(|m| m.n), Some(7));
        // Another model shares nothing.
        let (_, asked, _) = run("m2", &["a"]);
        assert_eq!(asked, s(&["a", "q a"]));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
