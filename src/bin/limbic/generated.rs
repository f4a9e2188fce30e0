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

use half::f16;
use limbic::calibrate::parallel;
use limbic::emotions::{narrow, EmotionSet};
use limbic::extract::{normalise_rows, project_out};
use limbic::make::{capture_every_layer, neutral_rows, text_means};
use limbic::{HookSet, Result, Sampler, Session};

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
/// they were read from.
pub fn directions(bytes: &[u8], set: &EmotionSet, layers: &[usize]) -> Result<Made> {
    let (n, d) = (set.names.len(), set.d_model);
    if set.neutral_basis.len() != set.n_layer() {
        return Err(limbic::Error::Steer(
            "this vectors file has no neutral PCs (made before v4): run `limbic extract` first"
                .into(),
        ));
    }
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
