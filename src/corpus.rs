//! The corpus as the extraction reads it (`data/`): emotion names, stories on their topic grid,
//! neutral dialogues (for the neutral principal components) and neutral scenes (the grid's
//! topics told flatly: the contrastive baseline and the readout's zero), and the splits.
//!
//! Splits: a story's `split` is `test` (fixed by a hash of its id when the corpus was written,
//! see scripts/corpus_grid.py) or anything else (the pool that cross-validation folds). Neutral
//! scenes are split here by a hash of their id: half calibrate the readout's intensity, half are
//! held out to measure it.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::chat::{ChatTemplate, Role};
use crate::error::{Error, Result};

/// One story of the corpus.
#[derive(Debug, Clone, Deserialize)]
pub struct Story {
    pub id: String,
    pub emotion: String,
    pub topic: String,
    pub person: String,
    pub text: String,
    pub split: String,
}

impl Story {
    pub fn is_test(&self) -> bool {
        self.split == "test"
    }
}

/// One neutral Human/Assistant dialogue.
#[derive(Debug, Clone, Deserialize)]
pub struct Dialogue {
    pub id: String,
    pub turns: Vec<Turn>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Turn {
    pub role: String,
    pub text: String,
}

/// A grid topic told flatly, with no emotion.
#[derive(Debug, Clone, Deserialize)]
pub struct Scene {
    pub id: String,
    pub topic: String,
    pub text: String,
}

impl Scene {
    /// Held out from the intensity calibration (about half, by a hash of the id).
    pub fn is_held_out(&self) -> bool {
        Sha256::digest(format!("limbic-v2-neutral:{}", self.id).as_bytes())[0] & 1 == 1
    }
}

#[derive(Deserialize)]
struct Catalogue {
    name: String,
}

/// The corpus: emotion names in catalogue order, stories, dialogues, neutral scenes, and the
/// topics (every story's and scene's, in first-seen order).
pub struct Corpus {
    pub names: Vec<String>,
    pub stories: Vec<Story>,
    pub dialogues: Vec<Dialogue>,
    pub scenes: Vec<Scene>,
    pub topics: Vec<String>,
}

impl Corpus {
    /// Reads `emotions.json` beside the corpus folder, `stories/*.jsonl`, `neutral/*.jsonl` and
    /// `neutral_scenes.jsonl` (optional).
    pub fn load(corpus: &Path) -> Result<Self> {
        let cat_path = corpus
            .parent()
            .unwrap_or(Path::new("."))
            .join("emotions.json");
        let cat: Vec<Catalogue> = serde_json::from_str(&read(&cat_path)?)
            .map_err(|e| bad(format!("{}: {e}", cat_path.display())))?;
        let names: Vec<String> = cat.into_iter().map(|c| c.name).collect();
        let stories: Vec<Story> = read_jsonl_dir(&corpus.join("stories"))?;
        let dialogues: Vec<Dialogue> = read_jsonl_dir(&corpus.join("neutral"))?;
        let scenes_path = corpus.join("neutral_scenes.jsonl");
        let scenes: Vec<Scene> = if scenes_path.exists() {
            read_jsonl(&scenes_path)?
        } else {
            Vec::new()
        };
        if let Some(s) = stories.iter().find(|s| !names.contains(&s.emotion)) {
            return Err(bad(format!(
                "story {} has unknown emotion {:?}",
                s.id, s.emotion
            )));
        }
        if stories.is_empty() || dialogues.is_empty() {
            return Err(bad(format!(
                "no stories or dialogues under {}",
                corpus.display()
            )));
        }
        let mut topics: Vec<String> = Vec::new();
        for t in stories
            .iter()
            .map(|s| &s.topic)
            .chain(scenes.iter().map(|s| &s.topic))
        {
            if !topics.contains(t) {
                topics.push(t.clone());
            }
        }
        Ok(Self {
            names,
            stories,
            dialogues,
            scenes,
            topics,
        })
    }

    /// Index of a story's emotion in `names`.
    pub fn emotion_of(&self, s: &Story) -> usize {
        self.names.iter().position(|n| *n == s.emotion).unwrap_or(0)
    }

    /// Index of a topic in `topics`.
    pub fn topic_index(&self, topic: &str) -> usize {
        self.topics.iter().position(|t| t == topic).unwrap_or(0)
    }
}

/// A dialogue as the model sees it: its turns in the model's chat format, no system prompt.
pub fn dialogue_text(d: &Dialogue, chat: &ChatTemplate) -> String {
    d.turns
        .iter()
        .map(|t| {
            let role = if t.role == "human" {
                Role::User
            } else {
                Role::Assistant
            };
            chat.turn(role, &t.text)
        })
        .collect()
}

fn bad(m: String) -> Error {
    Error::Io(std::io::Error::other(m))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| bad(format!("{}: {e}", path.display())))
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    read(path)?
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| bad(format!("{}:{}: {e}", path.display(), i + 1)))
        })
        .collect()
}

fn read_jsonl_dir<T: for<'de> Deserialize<'de>>(dir: &Path) -> Result<Vec<T>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| bad(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(read_jsonl(&f)?);
    }
    Ok(out)
}
