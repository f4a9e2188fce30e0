//! The engine's calls for vectors made from texts or read from links ([`crate::make`]):
//! `makeText` / `makeKeep` per text, `makeVector`, `makeCancel`, `addVector`, `clearVectors`,
//! `exportVector`, `importVector` (a llama.cpp control-vector file). Made vectors live beside
//! the emotion set, never in it.

use wasm_bindgen::prelude::*;

use super::{js, Engine};
use crate::make::{self, MadeVector};
use crate::sampler::Sampler;

#[wasm_bindgen]
impl Engine {
    /// Making a vector, one text at a time: starts the pass over `text` capturing every layer
    /// (the first text of a vector clears the steering). Then `await ready()` and
    /// `makeKeep(opposite)`; after the last text, `makeVector(name)`.
    #[wasm_bindgen(js_name = makeText)]
    pub fn make_text(&mut self, text: &str) -> Result<usize, JsError> {
        self.emotion_set()?;
        if self.making.len() >= make::MAX_TEXTS {
            return Err(JsError::new(&format!(
                "at most {} texts make one vector",
                make::MAX_TEXTS
            )));
        }
        let ids = self.session.encode_prompt(text).map_err(js)?;
        let n = ids.len();
        let hooks = make::capture_every_layer(self.session.config().n_layer);
        self.session.set_hooks(hooks).map_err(js)?;
        self.session
            .start(ids, &Sampler::default(), 0)
            .map_err(js)?;
        Ok(n)
    }

    /// Keeps what the pass `makeText` started read: the text's mean per layer, as a concept
    /// text or (`opposite`) a baseline one.
    #[wasm_bindgen(js_name = makeKeep)]
    pub fn make_keep(&mut self, opposite: bool) -> Result<(), JsError> {
        let set = self
            .emotions
            .as_ref()
            .ok_or_else(|| JsError::new("no emotion vectors loaded"))?;
        let (n_layer, d, offset) = (set.n_layer(), set.d_model, set.token_offset);
        self.session.finish().map_err(js)?;
        let g = self
            .session
            .generation
            .as_ref()
            .ok_or_else(|| JsError::new("no text was read"))?;
        let means = make::text_means(&g.prompt_captures, n_layer, d, offset).map_err(js)?;
        self.making.push((opposite, means));
        Ok(())
    }

    /// Builds the vector from the texts kept since the last `makeVector` or `makeCancel`,
    /// keeps it under `name` (replacing one of that name) and clears the capture hooks; then
    /// `await ready()` and `madeInfo()`. On error (too few texts, a name taken by an emotion)
    /// nothing is kept.
    #[wasm_bindgen(js_name = makeVector)]
    pub fn make_vector(&mut self, name: &str) -> Result<(), JsError> {
        let making = std::mem::take(&mut self.making);
        self.session.set_hooks(crate::HookSet::new()).map_err(js)?;
        let set = self.emotion_set()?;
        let (opposite, concept): (Vec<_>, Vec<_>) = making.into_iter().partition(|(o, _)| *o);
        let strip =
            |v: Vec<(bool, Vec<Vec<f32>>)>| v.into_iter().map(|(_, m)| m).collect::<Vec<_>>();
        let vectors = make::make_vector(set, &strip(concept), &strip(opposite)).map_err(js)?;
        let made = MadeVector::new(
            set,
            name,
            vectors.into_iter().enumerate().collect(),
            make::steer_layer(set),
        )
        .map_err(js)?;
        self.keep(made)
    }

    /// Drops the texts kept for a vector not yet made, and the capture hooks.
    #[wasm_bindgen(js_name = makeCancel)]
    pub fn make_cancel(&mut self) -> Result<(), JsError> {
        self.making.clear();
        self.session.set_hooks(crate::HookSet::new()).map_err(js)
    }

    /// Keeps a vector given as values `(d)` at one `layer` (a link's), steered there; then, as
    /// after `makeVector`, `madeInfo()`. Non-finite values, a wrong length or layer, or a name
    /// taken by an emotion are errors and keep nothing.
    #[wasm_bindgen(js_name = addVector)]
    pub fn add_vector(
        &mut self,
        name: &str,
        layer: usize,
        values: Vec<f32>,
    ) -> Result<(), JsError> {
        let set = self.emotion_set()?;
        let made = MadeVector::new(set, name, [(layer, values)].into_iter().collect(), layer)
            .map_err(js)?;
        self.keep(made)
    }

    /// Keeps a llama.cpp control vector (a GGUF file of cvector-generator's or repeng's layout)
    /// under `name`; then, as after `makeVector`, `madeInfo()`. It steers as llama.cpp applies
    /// it (strength 1: the file as it is). A file that is not a control vector, or was made for
    /// another model (embedding size, layers), is an error that says why, and nothing is kept.
    #[wasm_bindgen(js_name = importVector)]
    pub fn import_vector(&mut self, name: &str, bytes: &[u8]) -> Result<(), JsError> {
        let set = self.emotion_set()?;
        let cv = crate::control_vector::ControlVector::read_gguf(bytes).map_err(js)?;
        let made = MadeVector::from_control(set, name, cv).map_err(js)?;
        self.keep(made)
    }

    /// Forgets every made vector (the built-in emotions are untouched).
    #[wasm_bindgen(js_name = clearVectors)]
    pub fn clear_vectors(&mut self) {
        self.made.clear();
        self.trace = None;
    }

    /// A made vector for other tools: `"gguf"`, a llama.cpp control vector adding what steering
    /// with `strength` adds (at its steering layer); `"json"`, its name, layers and values.
    #[wasm_bindgen(js_name = exportVector)]
    pub fn export_vector(
        &self,
        name: &str,
        format: &str,
        strength: f32,
    ) -> Result<Vec<u8>, JsError> {
        let set = self.emotion_set()?;
        let m = self
            .made
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| JsError::new(&format!("no made vector named {name:?}")))?;
        match format {
            "gguf" => {
                let hint = self.session.config().arch.clone();
                crate::control_vector::write_gguf(&m.steering(set, strength).map_err(js)?, &hint)
                    .map_err(js)
            }
            "json" => Ok(make::to_json(m, set, strength).map_err(js)?.into_bytes()),
            _ => Err(JsError::new("export format must be \"gguf\" or \"json\"")),
        }
    }

    /// Keeps `made` (replacing one of its name) and starts describing it ([`make::Summary`]):
    /// its logit lens runs on the model's device, so `await ready()`, then `madeInfo()`.
    fn keep(&mut self, made: MadeVector) -> Result<(), JsError> {
        let set = self
            .emotions
            .as_ref()
            .ok_or_else(|| JsError::new("no emotion vectors loaded"))?;
        let shown = make::summary_start(set, &made, &mut self.session).map_err(js)?;
        self.made.retain(|m| m.name != made.name);
        self.made.push(made);
        self.shown = Some(shown);
        Ok(())
    }

    /// After `makeVector`, `addVector` or `importVector` and `await ready()`: the vector kept,
    /// `{name, steerLayer, vector, shownLayer, neighbours: [[emotion, cosine]], lens, layers,
    /// imported}`.
    #[wasm_bindgen(js_name = madeInfo)]
    pub fn made_info(&mut self) -> Result<JsValue, JsError> {
        let (s, lens) = self
            .shown
            .take()
            .ok_or_else(|| JsError::new("no made vector to describe"))?;
        let info = make::summary_finish(s, lens, &mut self.session).map_err(js)?;
        Ok(serde_wasm_bindgen::to_value(&info)?)
    }
}
