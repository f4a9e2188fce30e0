//! The browser's engine: thin wasm-bindgen wrappers over [`crate::session::Session`]. Errors
//! become `JsError` here and only here; nothing panics across the boundary. Made vectors'
//! calls (make, add, clear, export) are in `wasm/made.rs`.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::backend::{cpu::Cpu, AnyBackend};
use crate::emotions::EmotionSet;
use crate::make::MadeVector;
use crate::model::Llama;
use crate::readout::Readout;
use crate::sampler::Sampler;
use crate::session::Session;
use crate::Header;

mod made;
mod reader;
use reader::JsReader;

fn js(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// One generated token as JavaScript sees it: `{id, text, scores}`; `scores` are the emotion
/// readout at this token (`n_emotions` values) when a readout is set and the token was run.
#[derive(Serialize)]
struct JsStep {
    id: u32,
    text: String,
    scores: Option<Vec<f32>>,
    /// The traced made vector's score at this token (`setSteers`' `trace`), if one is traced.
    trace: Option<f32>,
}

/// What the page needs to know about loaded emotion vectors.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsEmotions {
    names: Vec<String>,
    default_layer: usize,
    n_layer: usize,
    default_strength: f32,
    token_offset: usize,
    /// Per emotion: the default steering strength.
    steer_strength: Vec<f32>,
    /// Where steering adds by default, and per emotion (its own layers where the sweep chose them).
    steer_layers: Vec<usize>,
    steer_layers_of: Vec<Vec<usize>>,
    /// Readout smoothing windows with a neutral calibration, and the default one.
    windows: Vec<usize>,
    default_window: usize,
    /// `(n_layer, windows, 2, n)` row-major: each emotion's smoothed-score mean, then its spread,
    /// on neutral text (empty for a v1 file).
    calibration: Vec<f32>,
    /// Per window, at the default layer: the intensity neutral text stays below (empty if unknown).
    intensity_floor: Vec<f32>,
    /// `(windows, n + 2)`, at the default layer: the intensity's direction, then the mean and
    /// spread of the scores along it on neutral text (empty in older files).
    intensity: Vec<f32>,
}

/// What `start` returns: the prompt's ids and where the user's own text sits in them
/// (`userStart .. userEnd`; a continued conversation's span starts at its first user turn).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsPrompt {
    ids: Vec<u32>,
    user_start: usize,
    user_end: usize,
}

#[wasm_bindgen]
extern "C" {
    /// The page's handle on a co-worker thread (www/src/engine/co-worker-channel.ts): `begin(id, x, row0, n)`
    /// hands it rows `row0 .. row0 + n` of matrix `id` times `x`; `finish(out)` waits for them.
    pub type CoWorkerHandle;
    #[wasm_bindgen(method)]
    fn begin(this: &CoWorkerHandle, id: usize, x: &[f32], row0: usize, n: usize) -> bool;
    #[wasm_bindgen(method)]
    fn finish(this: &CoWorkerHandle, out: &mut [f32]) -> bool;
}

impl crate::backend::share::CoWorker for CoWorkerHandle {
    fn begin(&self, id: usize, x: &[f32], row0: usize, n: usize) -> bool {
        CoWorkerHandle::begin(self, id, x, row0, n)
    }
    fn finish(&self, out: &mut [f32]) -> bool {
        CoWorkerHandle::finish(self, out)
    }
}

/// The co-worker's own copy of the model's matrices: computes the rows it is handed.
#[wasm_bindgen]
pub struct CoWorker {
    model: Llama<Cpu>,
}

#[wasm_bindgen]
impl CoWorker {
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: js_sys::Uint8Array) -> Result<CoWorker, JsError> {
        let mut reader = JsReader::new(bytes);
        let header = Header::read(&mut reader).map_err(js)?;
        let cpu = Cpu::new(&header.config).map_err(js)?;
        Ok(CoWorker {
            model: Llama::load(header, &mut reader, cpu).map_err(js)?,
        })
    }

    /// Rows `row0 .. row0 + out.len()` of matrix `id` (load order) times `x`, into `out`.
    pub fn compute(
        &self,
        id: usize,
        x: &[f32],
        row0: usize,
        out: &mut [f32],
    ) -> Result<(), JsError> {
        self.model
            .backend
            .shared
            .rows(id, x, row0, out)
            .ok_or_else(|| JsError::new("co-worker: no such matrix or rows"))
    }
}

/// WebGPU devices open in this wasm instance, whichever engine made them: 0 once every
/// engine that used WebGPU left it or was freed.
#[wasm_bindgen(js_name = liveGpuDevices)]
pub fn live_gpu_devices() -> usize {
    AnyBackend::live_gpu_devices()
}

/// The model in a browser tab: load from bytes, generate step by step, read out or steer.
/// A reply runs as `start`, then `await ready()`, `finish()`; then per token `step()`,
/// `await ready()`, `finish()` — so on WebGPU the worker awaits the device instead of blocking.
#[wasm_bindgen]
pub struct Engine {
    session: Session,
    emotions: Option<EmotionSet>,
    /// Earlier turns of the conversation (user, assistant, ...) for chat prompts.
    history: Vec<String>,
    /// Vectors made from texts or read from links; never part of `emotions`.
    made: Vec<MadeVector>,
    /// While a vector is being made: each text read so far, opposite or not, as its per-layer
    /// means `(n_layer, d)`.
    making: Vec<(bool, Vec<Vec<f32>>)>,
    /// The made vector read out beside the emotions (one score per token), if any.
    trace: Option<Readout>,
    /// A made vector's summary while its logit lens is read back (see `madeInfo`).
    shown: Option<(crate::make::Summary, crate::backend::any::Pending)>,
}

#[wasm_bindgen]
impl Engine {
    /// Parses a GGUF model held by JavaScript, on the CPU: read matrix by matrix, never
    /// copied whole into the wasm memory.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: js_sys::Uint8Array) -> Result<Engine, JsError> {
        console_error_panic_hook::set_once();
        let session = Session::from_reader(&mut JsReader::new(bytes), AnyBackend::cpu);
        Ok(Self::with(session.map_err(js)?))
    }

    /// Parses a GGUF model on `backend` ("webgpu" or "cpu"). Asked for WebGPU without a
    /// usable adapter, it runs on the CPU and `fallback()` says why (WebGPU keeps a copy of
    /// the file for that, in case the device is lost later).
    pub async fn create(bytes: js_sys::Uint8Array, backend: String) -> Result<Engine, JsError> {
        if backend != "webgpu" {
            return Self::new(bytes);
        }
        console_error_panic_hook::set_once();
        let bytes = bytes.to_vec();
        let header = Header::read(&mut std::io::Cursor::new(&bytes)).map_err(js)?;
        let gpu = AnyBackend::webgpu(&header.config).await;
        Ok(Self::with(
            Session::gpu_or_cpu(header, bytes, gpu).map_err(js)?,
        ))
    }

    fn with(session: Session) -> Engine {
        Engine {
            session,
            emotions: None,
            history: Vec::new(),
            made: Vec::new(),
            making: Vec::new(),
            trace: None,
            shown: None,
        }
    }

    /// Which backend runs the model: "webgpu" or "cpu".
    pub fn backend(&self) -> String {
        self.session.backend_name().to_string()
    }

    /// Why WebGPU was left for the CPU (at load or mid-reply), or undefined.
    pub fn fallback(&self) -> Option<String> {
        self.session.fallback.clone()
    }

    /// Destroys the WebGPU device as a lost one would be: the next step moves to the CPU.
    #[wasm_bindgen(js_name = loseDevice)]
    pub fn lose_device(&self) {
        self.session.backend().lose_device();
    }

    /// Whether this engine holds an open WebGPU device (false on the CPU, and once the
    /// device was destroyed on leaving WebGPU).
    #[wasm_bindgen(js_name = gpuLive)]
    pub fn gpu_live(&self) -> bool {
        self.session.backend().gpu_live()
    }

    /// Says the WebGPU adapter is a CPU emulating a GPU (WebGPU's `isFallbackAdapter`, as
    /// SwiftShader): products take a row per invocation and no pass is recorded ahead there.
    #[wasm_bindgen(js_name = setEmulatedGpu)]
    pub fn set_emulated_gpu(&mut self, on: bool) {
        self.session.set_emulated_gpu(on);
    }

    /// The GPU's work so far, `[dispatches, copies, submits, bytes read back]` (undefined on the
    /// CPU); `make bench-gpu` reads it per pass.
    #[wasm_bindgen(js_name = gpuCounts)]
    pub fn gpu_counts(&self) -> Option<Vec<f64>> {
        let c = self.session.backend().gpu_counts()?;
        Some(vec![
            c.dispatches as f64,
            c.copies as f64,
            c.submits as f64,
            c.readback_bytes as f64,
        ])
    }

    /// Number of blocks (layers) in the model.
    #[wasm_bindgen(js_name = nLayer)]
    pub fn n_layer(&self) -> usize {
        self.session.config().n_layer
    }

    /// Width of the residual stream.
    #[wasm_bindgen(js_name = dModel)]
    pub fn d_model(&self) -> usize {
        self.session.config().d_model
    }

    /// Text → token ids; with `chat`, the text is wrapped as the user's turn after the history.
    pub fn tokenize(&self, text: &str, chat: bool) -> Result<Vec<u32>, JsError> {
        self.session
            .tokenizer
            .encode(&self.prompt_text(text, chat)?)
            .map_err(js)
    }

    /// Whether the model has a chat format (else `chat` prompts are an error).
    #[wasm_bindgen(js_name = chatAvailable)]
    pub fn chat_available(&self) -> bool {
        self.session.tokenizer.chat_available()
    }

    /// Shares the large single-token products with a co-worker thread (CPU only; `undefined`
    /// stops sharing). Returns whether the engine is on the CPU and will use it.
    #[wasm_bindgen(js_name = setCoWorker)]
    pub fn set_co_worker(&mut self, handle: Option<CoWorkerHandle>) -> bool {
        let co = handle.map(|h| Box::new(h) as Box<dyn crate::backend::share::CoWorker>);
        self.session.backend().set_co_worker(co)
    }

    /// The earlier turns of the conversation, alternating user and assistant (an even number,
    /// user first), that chat prompts of later `start` and `tokenize` calls continue; empty
    /// starts a new conversation.
    #[wasm_bindgen(js_name = setHistory)]
    pub fn set_history(&mut self, turns: Vec<String>) -> Result<(), JsError> {
        if !turns.len().is_multiple_of(2) {
            return Err(JsError::new(
                "chat history: turns come in pairs (user, assistant)",
            ));
        }
        self.history = turns;
        Ok(())
    }

    /// Each id's own text (a piece of a multi-byte character shows as U+FFFD).
    #[wasm_bindgen(js_name = tokenTexts)]
    pub fn token_texts(&self, ids: Vec<u32>) -> Result<Vec<String>, JsError> {
        let vocab = self.session.config().vocab;
        if let Some(bad) = ids.iter().find(|&&i| i as usize >= vocab) {
            return Err(JsError::new(&format!(
                "token id {bad} is outside the vocabulary ({vocab})"
            )));
        }
        self.session.tokenizer.pieces(&ids).map_err(js)
    }

    /// Starts a reply to `prompt` (records the prompt's passes); returns `{ids, userStart,
    /// userEnd}`: the prompt's ids and where the user's own text sits in them. Then
    /// `await ready()` and `finish()`.
    pub fn start(
        &mut self,
        prompt: &str,
        chat: bool,
        max_tokens: usize,
        temperature: f64,
        top_p: f64,
        seed: u64,
    ) -> Result<JsValue, JsError> {
        let sampler = Sampler {
            temperature,
            top_p,
            seed,
            ..Sampler::default()
        };
        sampler.validate().map_err(js)?;
        let ids = self
            .session
            .encode_prompt(&self.prompt_text(prompt, chat)?)
            .map_err(js)?;
        let (user_start, user_end) = if chat {
            crate::chat::user_span(&self.session.tokenizer, &ids, &self.history, prompt)
                .map_err(js)?
        } else {
            (0, ids.len())
        };
        self.session
            .start(ids.clone(), &sampler, max_tokens)
            .map_err(js)?;
        Ok(serde_wasm_bindgen::to_value(&JsPrompt {
            ids,
            user_start,
            user_end,
        })?)
    }

    /// Samples the next token and records its pass; `false` once the reply is over.
    pub fn step(&mut self) -> Result<bool, JsError> {
        self.session.step().map_err(js)
    }

    /// Resolves when `finish()` can read the recorded work without waiting.
    pub fn ready(&self) -> js_sys::Promise {
        let ready = self.session.when_ready();
        wasm_bindgen_futures::future_to_promise(async move {
            ready.await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Reads what `start` or `step` recorded: `null` after `start`, the token as
    /// `{id, text, scores}` after `step` (`scores`: the readout at this token, if it ran).
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        match self.session.finish().map_err(js)? {
            None => Ok(JsValue::NULL),
            Some(s) => Ok(serde_wasm_bindgen::to_value(&JsStep {
                scores: self.session.scores(&s.captures),
                trace: self
                    .trace
                    .as_ref()
                    .and_then(|r| r.scores(&s.captures)?.last().copied()),
                id: s.id,
                text: s.text,
            })?),
        }
    }

    /// Loads emotion vectors (the safetensors file `limbic extract` writes) and reads out at
    /// their default layer from the next `start` on. Only the shape is checked here (hashing
    /// the 98 MB model in the tab would cost a second); the page serves the file made for its
    /// model. Returns `{names, defaultLayer, nLayer, defaultStrength, tokenOffset, ...}`.
    #[wasm_bindgen(js_name = loadEmotions)]
    pub fn load_emotions(&mut self, bytes: js_sys::Uint8Array) -> Result<JsValue, JsError> {
        // Read a tensor at a time from JavaScript's copy: never whole in the wasm memory.
        let read = |a: usize, b: usize| bytes.subarray(a as u32, b as u32).to_vec();
        let tensors = crate::emotions::Tensors::from_ranges(bytes.length() as usize, read);
        let set = EmotionSet::from_tensors(&tensors.map_err(js)?).map_err(js)?;
        let config = self.session.config();
        if set.d_model != config.d_model || set.n_layer() != config.n_layer {
            return Err(JsError::new(
                "these emotion vectors were made for another model",
            ));
        }
        let info = JsEmotions {
            names: set.names.clone(),
            default_layer: set.default_layer,
            n_layer: set.n_layer(),
            default_strength: set.default_strength,
            token_offset: set.token_offset,
            steer_strength: (0..set.names.len()).map(|e| set.strength_of(e)).collect(),
            steer_layers: set.default_steer_layers(),
            steer_layers_of: (0..set.names.len())
                .map(|e| set.steer_layers_for(e))
                .collect(),
            windows: set.windows.clone(),
            intensity_floor: set.intensity_floor.clone(),
            default_window: set.default_window,
            calibration: set
                .calibration
                .iter()
                .flatten()
                .flat_map(|c| c.mean.iter().chain(&c.sd).copied())
                .collect(),
            intensity: set
                .calibration
                .get(set.default_layer)
                .into_iter()
                .flatten()
                .flat_map(|c| &c.emotional)
                .flat_map(|e| e.to_row())
                .collect(),
        };
        self.session
            .set_readout(Some(set.readout(set.default_layer).map_err(js)?))
            .map_err(js)?;
        self.session.set_hooks(crate::HookSet::new()).map_err(js)?;
        self.emotions = Some(set);
        Ok(serde_wasm_bindgen::to_value(&info)?)
    }

    /// Reads the emotions out at `layer` from the next `start` on.
    #[wasm_bindgen(js_name = setReadout)]
    pub fn set_readout(&mut self, layer: usize) -> Result<(), JsError> {
        let readout = self.emotion_set()?.readout(layer).map_err(js)?;
        self.session.set_readout(Some(readout)).map_err(js)
    }

    /// Steers toward each `names[i]` with `strengths[i]` (a fraction of the mean residual norm)
    /// at `layer`, or, when undefined, at each emotion's steering layers with its strength split
    /// over them, from the next `start` on; replaces the steering before (none clears it). One
    /// check and one upload of a vector per layer; on error the steering stays as it was.
    /// `trace`: a made vector's name, read out per token beside the emotions (`finish`'s
    /// `trace`, `promptTrace`); undefined reads none.
    #[wasm_bindgen(js_name = setSteers)]
    pub fn set_steers(
        &mut self,
        names: Vec<String>,
        strengths: Vec<f32>,
        layer: Option<usize>,
        trace: Option<String>,
    ) -> Result<(), JsError> {
        if names.len() != strengths.len() {
            return Err(JsError::new("steering: one strength per emotion name"));
        }
        let set = self
            .emotions
            .as_ref()
            .ok_or_else(|| JsError::new("no emotion vectors loaded"))?;
        // A name is a made vector's when one has it (made names never equal an emotion's).
        let (mut rows, mut extra) = (Vec::new(), Vec::new());
        for (name, &s) in names.iter().zip(&strengths) {
            match self.made.iter().find(|m| m.name == *name) {
                Some(m) => extra.extend(m.steering(set, s).map_err(js)?),
                None => rows.push((set.index(name).map_err(js)?, s)),
            }
        }
        let mut hooks = set.steer_hooks_with(&rows, layer, &extra).map_err(js)?;
        let trace = match trace {
            None => None,
            Some(t) => {
                let m = self.made.iter().find(|m| m.name == t).ok_or_else(|| {
                    JsError::new(&format!("no made vector named {t:?} to read out"))
                })?;
                let r = m.trace(set).map_err(js)?;
                // After the steering at its point: it reads the stream as the emotions' readout does.
                hooks.push(
                    r.point(),
                    crate::hooks::Intervention::Project {
                        basis: r.basis.clone(),
                        n: 1,
                    },
                );
                Some(r)
            }
        };
        self.session.set_hooks(hooks).map_err(js)?;
        self.trace = trace;
        Ok(())
    }

    /// The traced made vector's score at each prompt token of the current reply (empty when
    /// none is traced).
    #[wasm_bindgen(js_name = promptTrace)]
    pub fn prompt_trace(&self) -> Vec<f32> {
        let g = self.session.generation.as_ref();
        self.trace
            .as_ref()
            .zip(g)
            .and_then(|(r, g)| r.scores(&g.prompt_captures))
            .unwrap_or_default()
    }

    /// After `start` (and `finish`), before the first `step`: the probability of each of
    /// `words` being the reply's next token (a word's first token when it spans several),
    /// under the current steering; softmax at temperature 1.
    #[wasm_bindgen(js_name = nextProbs)]
    pub fn next_probs(&self, words: Vec<String>) -> Result<Vec<f32>, JsError> {
        let g = self
            .session
            .generation
            .as_ref()
            .ok_or_else(|| JsError::new("no reply started"))?;
        let mut ids = Vec::with_capacity(words.len());
        for w in &words {
            let t = self.session.tokenizer.encode(w).map_err(js)?;
            ids.push(
                *t.first()
                    .ok_or_else(|| JsError::new(&format!("{w:?} has no tokens")))?,
            );
        }
        g.next_probs(&ids).map_err(js)
    }

    /// The emotion vectors at `layer`, `(n_emotions, d)` row-major, unit length.
    #[wasm_bindgen(js_name = emotionVectors)]
    pub fn emotion_vectors(&self, layer: usize) -> Result<Vec<f32>, JsError> {
        let set = self.emotion_set()?;
        set.check_layer(layer).map_err(js)?;
        Ok((0..set.names.len())
            .flat_map(|e| set.vector(layer, e).iter().copied())
            .collect())
    }

    /// The readout over the prompt of the current reply, `(prompt_len, n_emotions)` row-major.
    #[wasm_bindgen(js_name = promptScores)]
    pub fn prompt_scores(&self) -> Vec<f32> {
        self.session
            .generation
            .as_ref()
            .and_then(|g| self.session.scores(&g.prompt_captures))
            .unwrap_or_default()
    }

    fn emotion_set(&self) -> Result<&EmotionSet, JsError> {
        self.emotions
            .as_ref()
            .ok_or_else(|| JsError::new("no emotion vectors loaded"))
    }

    /// `text` as the model reads it: with `chat`, the user's turn after the history's turns.
    fn prompt_text(&self, text: &str, chat: bool) -> Result<String, JsError> {
        if chat {
            self.session
                .tokenizer
                .chat_turns(&self.history, text, None)
                .map_err(js)
        } else {
            Ok(text.to_string())
        }
    }
}
