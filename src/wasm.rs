//! The browser's engine: thin wasm-bindgen wrappers over [`crate::session`]. Errors become
//! `JsError` here and only here; nothing panics across the boundary.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::hooks::{HookPoint, HookSet, Intervention};
use crate::session::{Generation, Sampler};
use crate::tokenizer::chat_prompt;
use crate::Cpu;

fn js(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// One generated token as JavaScript sees it: `{id, text}`.
#[derive(Serialize)]
struct JsStep {
    id: u32,
    text: String,
}

/// The model in a browser tab: load from bytes, generate step by step, capture or steer.
#[wasm_bindgen]
pub struct Engine {
    inner: crate::Engine<Cpu>,
    generation: Option<Generation>,
    hooks: HookSet,
}

#[wasm_bindgen]
impl Engine {
    /// Parses a GGUF model held in memory.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<Engine, JsError> {
        console_error_panic_hook::set_once();
        Ok(Engine {
            inner: crate::load_cpu(bytes).map_err(js)?,
            generation: None,
            hooks: HookSet::new(),
        })
    }

    /// Which backend runs the model ("cpu").
    pub fn backend(&self) -> String {
        use crate::backend::Backend;
        self.inner.model.backend.name().to_string()
    }

    /// Number of blocks (layers) in the model.
    #[wasm_bindgen(js_name = nLayer)]
    pub fn n_layer(&self) -> usize {
        self.inner.model.config.n_layer
    }

    /// Width of the residual stream.
    #[wasm_bindgen(js_name = dModel)]
    pub fn d_model(&self) -> usize {
        self.inner.model.config.d_model
    }

    /// Text → token ids; with `chat`, the text is wrapped as one user turn.
    pub fn tokenize(&self, text: &str, chat: bool) -> Result<Vec<u32>, JsError> {
        let text = if chat {
            chat_prompt(text, None)
        } else {
            text.to_string()
        };
        self.inner.tokenizer.encode(&text).map_err(js)
    }

    /// Starts a reply to `prompt`; returns the number of prompt tokens.
    pub fn start(
        &mut self,
        prompt: &str,
        chat: bool,
        max_tokens: usize,
        temperature: f64,
        top_p: f64,
        seed: u64,
    ) -> Result<usize, JsError> {
        self.generation = None;
        let sampler = Sampler {
            temperature,
            top_p,
            seed,
            ..Sampler::default()
        };
        sampler.validate().map_err(js)?;
        let text = if chat {
            chat_prompt(prompt, None)
        } else {
            prompt.to_string()
        };
        let ids = self.inner.encode_prompt(&text).map_err(js)?;
        let g = self.inner.start(ids, &sampler, max_tokens).map_err(js)?;
        let n = g.prompt_len;
        self.generation = Some(g);
        Ok(n)
    }

    /// The next token as `{id, text}`, or `null` when the reply is over.
    pub fn step(&mut self) -> Result<JsValue, JsError> {
        let Some(g) = self.generation.as_mut() else {
            return Ok(JsValue::NULL);
        };
        match self.inner.step(g) {
            Ok(Some(s)) => Ok(serde_wasm_bindgen::to_value(&JsStep {
                id: s.id,
                text: s.text,
            })?),
            Ok(None) => {
                self.generation = None;
                Ok(JsValue::NULL)
            }
            Err(e) => {
                self.generation = None;
                Err(js(e))
            }
        }
    }

    /// Ids generated so far in the current reply.
    pub fn generated(&self) -> Vec<u32> {
        self.generation
            .as_ref()
            .map(|g| g.generated().to_vec())
            .unwrap_or_default()
    }

    /// Adds `alpha * vector` to the output of block `layer` from the next `start` on.
    #[wasm_bindgen(js_name = addSteer)]
    pub fn add_steer(&mut self, layer: usize, vector: Vec<f32>, alpha: f32) -> Result<(), JsError> {
        self.push_hook(
            HookPoint::ResidPost(layer),
            Intervention::Add { vector, alpha },
        )
    }

    /// Keeps the output of block `layer` for every position from the next `start` on.
    #[wasm_bindgen(js_name = addCapture)]
    pub fn add_capture(&mut self, layer: usize) -> Result<(), JsError> {
        self.push_hook(HookPoint::ResidPost(layer), Intervention::Capture)
    }

    /// Removes every hook.
    #[wasm_bindgen(js_name = clearHooks)]
    pub fn clear_hooks(&mut self) -> Result<(), JsError> {
        self.hooks = HookSet::new();
        self.inner.model.set_hooks(&self.hooks).map_err(js)
    }

    /// The prompt's capture at block `layer`'s output, `(prompt_len, d)` row-major (empty if none).
    #[wasm_bindgen(js_name = promptCapture)]
    pub fn prompt_capture(&self, layer: usize) -> Vec<f32> {
        self.generation
            .as_ref()
            .and_then(|g| g.prompt_captures.get(HookPoint::ResidPost(layer)))
            .map(|c| c.values.clone())
            .unwrap_or_default()
    }

    fn push_hook(&mut self, point: HookPoint, what: Intervention) -> Result<(), JsError> {
        let mut next = self.hooks.clone();
        next.push(point, what);
        self.inner.model.set_hooks(&next).map_err(js)?;
        self.hooks = next;
        Ok(())
    }
}
