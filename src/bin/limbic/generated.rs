//! Generation-based steering directions (issue 13's variant): the model's own residual stream
//! while it writes a story about a character who feels each emotion, read at the layers the
//! steering sweep tries.
//!
//! Per emotion, [`SAMPLES`] replies to [`prompt`] (seeded sampling, [`TOKENS`] tokens at most),
//! each read again with every wanted layer captured; a reply's mean is over its own tokens (the
//! prompt and the chat format are context, not averaged). The emotion's mean is the mean of its
//! replies' means; its direction is that minus the mean over all emotions, with the file's
//! neutral principal components projected out, scaled to unit length: built as the emotions'
//! `mean.{l}` are, from text the model wrote instead of text it was given.

use std::io::Read;
use std::path::{Path, PathBuf};

use half::f16;
use limbic::calibrate::parallel;
use limbic::emotions::{narrow, EmotionSet};
use limbic::extract::{normalise_rows, project_out};
use limbic::io::{from_le_bytes, hex, le_bytes, write_atomic};
use limbic::make::{capture_every_layer, neutral_rows, text_means};
use limbic::{HookSet, Result, Sampler, Session};
use sha2::{Digest, Sha256};

use crate::emotion::progress;

/// Replies per emotion (seeds 1..=SAMPLES).
pub const SAMPLES: u64 = 6;
/// Most tokens per reply.
pub const TOKENS: usize = 96;
const TEMPERATURE: f64 = 0.8;
const TOP_P: f64 = 0.95;

/// What the model is asked to write for `emotion`.
pub fn prompt(emotion: &str) -> String {
    format!("Write a short story about a character who feels {emotion}.")
}

/// One reply's mean residual per wanted layer, over the reply's tokens (`None` for an empty
/// reply), and the reply.
type Reply = (Option<Vec<Vec<f32>>>, String);

fn reply_means(session: &mut Session, emotion: &str, seed: u64, layers: &[usize]) -> Result<Reply> {
    session.set_hooks(HookSet::new())?;
    let ids = session.encode_prompt(&session.tokenizer.request(&prompt(emotion))?)?;
    let sampler = Sampler {
        temperature: TEMPERATURE,
        top_p: TOP_P,
        seed,
        ..Sampler::default()
    };
    session.start_now(ids.clone(), &sampler, TOKENS)?;
    while session.step_now()?.is_some() {}
    let all = session.ids().to_vec();
    let text = session.tokenizer.decode(&all[ids.len()..])?;
    if all.len() <= ids.len() {
        return Ok((None, text));
    }
    session.set_hooks(capture_every_layer(session.config().n_layer))?;
    let fwd = session.run(&all)?;
    session.set_hooks(HookSet::new())?;
    // Every layer's mean from the first reply token on, as a made vector's texts are read.
    let mut means = text_means(
        &fwd.captures,
        session.config().n_layer,
        session.config().d_model,
        ids.len(),
    )?;
    let wanted = layers
        .iter()
        .map(|&l| std::mem::take(&mut means[l]))
        .collect();
    Ok((Some(wanted), text))
}

/// Per layer of a set, `(n, d)` unit directions in f16 as the vectors file holds them (empty at
/// layers not made), and per emotion the replies they were read from.
pub type Made = (Vec<Vec<f16>>, Vec<Vec<String>>);

/// The generation-based directions at `layers` of `set`, and the replies (per emotion, per seed)
/// they were read from. The replies and their means are cached under `cache` (keyed by the
/// model, the emotions, the layers and the sampling), so a second sweep does not write them again.
pub fn directions(
    bytes: &[u8],
    sha: &str,
    set: &EmotionSet,
    layers: &[usize],
    cache: &Path,
) -> Result<Made> {
    let (n, d) = (set.names.len(), set.d_model);
    if set.neutral_basis.len() != set.n_layer() {
        return Err(limbic::Error::Steer(
            "this vectors file has no neutral PCs (made before v4): run `limbic extract` first"
                .into(),
        ));
    }
    let path = replies_path(cache, sha, set, layers);
    let replies = match load(&path, n * SAMPLES as usize, layers.len(), d) {
        Some(r) => r,
        None => {
            let jobs: Vec<(usize, u64)> = (0..n)
                .flat_map(|e| (1..=SAMPLES).map(move |s| (e, s)))
                .collect();
            let bar = progress(jobs.len(), "generated stories");
            let replies = parallel(
                &jobs,
                || Session::cpu(bytes),
                |session, &(e, seed)| reply_means(session, &set.names[e], seed, layers),
                |_| (),
                &|| bar.inc(1),
            )?
            .0;
            bar.finish_and_clear();
            save(&path, &replies)?;
            replies
        }
    };
    let mut out = vec![Vec::new(); set.n_layer()];
    for (li, &l) in layers.iter().enumerate() {
        // Per emotion: the mean of its replies' means.
        let mut rows = vec![0.0f32; n * d];
        for e in 0..n {
            let mine: Vec<&Vec<f32>> = replies[e * SAMPLES as usize..(e + 1) * SAMPLES as usize]
                .iter()
                .filter_map(|r| r.0.as_ref().map(|m| &m[li]))
                .collect();
            let row = &mut rows[e * d..(e + 1) * d];
            for m in &mine {
                row.iter_mut().zip(*m).for_each(|(a, x)| *a += x);
            }
            row.iter_mut().for_each(|a| *a /= mine.len().max(1) as f32);
        }
        let mut centre = vec![0.0f32; d];
        for row in rows.chunks_exact(d) {
            centre
                .iter_mut()
                .zip(row)
                .for_each(|(c, x)| *c += x / n as f32);
        }
        for row in rows.chunks_exact_mut(d) {
            row.iter_mut().zip(&centre).for_each(|(x, c)| *x -= c);
        }
        project_out(&mut rows, d, &neutral_rows(set, l));
        normalise_rows(&mut rows, d);
        out[l] = narrow(rows);
    }
    let texts = replies
        .chunks(SAMPLES as usize)
        .map(|c| c.iter().map(|r| r.1.clone()).collect())
        .collect();
    Ok((out, texts))
}

/// The cache file of the replies for this model, emotions, layers and sampling.
fn replies_path(dir: &Path, sha: &str, set: &EmotionSet, layers: &[usize]) -> PathBuf {
    let mut h = Sha256::new();
    h.update(format!(
        "{sha} {SAMPLES} {TOKENS} {TEMPERATURE} {TOP_P} {layers:?} {} {:?}",
        prompt("*"),
        set.names
    ));
    let key = hex(&h.finalize()[..8]);
    dir.join(format!("generated-{key}.bin"))
}

/// Per reply: its text (u64 length, bytes), then 0, or 1 and its means (f32).
fn save(path: &Path, replies: &[Reply]) -> Result<()> {
    let mut bytes = Vec::new();
    for (means, text) in replies {
        bytes.extend((text.len() as u64).to_le_bytes());
        bytes.extend(text.as_bytes());
        bytes.push(means.is_some() as u8);
        means
            .iter()
            .flatten()
            .for_each(|m| bytes.extend(le_bytes(m)));
    }
    write_atomic(path, &bytes)
}

/// The cached replies (`n` of them, each with `n_layers` means of `d`), if the file holds
/// exactly those.
fn load(path: &Path, n: usize, n_layers: usize, d: usize) -> Option<Vec<Reply>> {
    let mut f = std::io::BufReader::new(std::fs::File::open(path).ok()?);
    let mut out = Vec::with_capacity(n);
    let mut b8 = [0u8; 8];
    for _ in 0..n {
        f.read_exact(&mut b8).ok()?;
        let mut text = vec![0u8; usize::try_from(u64::from_le_bytes(b8)).ok()?.min(1 << 20)];
        f.read_exact(&mut text).ok()?;
        let mut flag = [0u8];
        f.read_exact(&mut flag).ok()?;
        let means = if flag[0] == 1 {
            let mut buf = vec![0u8; 4 * n_layers * d];
            f.read_exact(&mut buf).ok()?;
            Some(
                from_le_bytes(&buf)
                    .chunks_exact(d)
                    .map(<[f32]>::to_vec)
                    .collect(),
            )
        } else {
            None
        };
        out.push((means, String::from_utf8(text).ok()?));
    }
    f.read_exact(&mut [0u8]).is_err().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_replies_read_back_as_written() {
        let path =
            std::env::temp_dir().join(format!("limbic-generated-{}.bin", std::process::id()));
        let replies: Vec<Reply> = vec![
            (
                Some(vec![vec![1.0, -2.5], vec![0.25, 3.0]]),
                "Once, ünder a tree.".into(),
            ),
            (None, String::new()),
        ];
        save(&path, &replies).unwrap();
        assert_eq!(load(&path, 2, 2, 2), Some(replies.clone()));
        // Any other shape is a miss, never a misread.
        assert_eq!(load(&path, 2, 1, 2), None);
        assert_eq!(load(&path, 3, 2, 2), None);
        let _ = std::fs::remove_file(&path);
    }
}
