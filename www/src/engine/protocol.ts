//! The one message protocol between the page and the engine's worker, typed both ways, and
//! the small pure helpers both sides use on its payloads.
//!
//! A reply runs as: `run-start`, `prompt` (the prompt's tokens and their readout), `token`
//! per generated token, then `done` after the last run. With `compare`, the unsteered
//! "baseline" run streams first, then the steered "main" run, same seed. Making a vector runs
//! as `make`, then `make-progress` per text and `made` (or `error`); a made vector's name then
//! steers like an emotion's in `steer`.

export type Backend = "webgpu" | "cpu";
export type RunId = "baseline" | "main";

/** One steering term: add `strength × resid_norm × û(name)`, split over the vectors' steering
 * layers (EmotionInfo.steerLayers); a made vector's name adds all of it at its one layer
 * (MadeInfo.steerLayer). */
export interface Steer {
  name: string;
  strength: number;
}

/** What the engine says about the loaded emotion vectors. */
export interface EmotionInfo {
  names: string[];
  defaultLayer: number;
  nLayer: number;
  defaultStrength: number;
  tokenOffset: number;
  /** Per emotion: its default steering strength. */
  steerStrength: number[];
  /** The layers steering adds to (a strength is split evenly over them), by default and per
   * emotion (its own where the steering sweep measured it). */
  steerLayers: number[];
  steerLayersOf: number[][];
  /** Readout smoothing windows (tokens) with a neutral calibration each, and the default. */
  windows: number[];
  defaultWindow: number;
  /** (nLayer, windows, 2, n) row-major: per emotion the mean, then the spread, of its smoothed
   * score on neutral text; empty when the vectors file has none. */
  calibration: number[];
  /** Per window, at the default layer: the intensity 95 % of neutral tokens stay below (empty
   * in older vectors files). */
  intensityFloor?: number[];
  /** (windows, n + 2), at the default layer: the direction in the smoothed scores that tells
   * emotional stories from neutral text, then the mean and spread along it on neutral text
   * (empty in older vectors files). */
  intensity?: number[];
}

export interface GenerateRequest {
  prompt: string;
  chat: boolean;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  steer: Steer[];
  /** With steers: first the unsteered reply, same seed. */
  compare: boolean;
  /** Readout layer for this reply. */
  layer: number;
  /** Earlier turns of the conversation (user, assistant, …) a chat prompt continues. */
  history?: string[];
  /** A made vector's name: its score is read out per token beside the emotions (`trace` in
   * the `prompt` and `token` messages). */
  trace?: string;
}

/** One measurement without a reply: run `prompt` once under `steer` (hooks cleared before and
 * after), read the readout at its last token and the next-token probability of each of
 * `words` (a word's first token when it spans several). Deterministic: nothing is sampled. */
export interface ProbeRequest {
  id: number;
  prompt: string;
  chat: boolean;
  steer: Steer[];
  words: string[];
  /** Readout layer for this probe. */
  layer: number;
  /** A made vector's name: its score at each prompt token comes back as `trace`. */
  trace?: string;
}

/** A probe's answer. scores: the readout at the last prompt token (n_emotions), empty when
 * none ran; probs[i]: p(next token = first token of words[i]); wordTokens[i]: that token's text. */
export interface ProbeResult {
  id: number;
  promptTokens: number;
  scores: Float32Array;
  probs: Float32Array;
  wordTokens: string[];
  /** The traced made vector's score at each prompt token (empty when none was traced). */
  trace: Float32Array;
}

/** A vector made from texts (or read from a link), as the engine describes it: it steers at
 * `steerLayer` (`vector` is its unit vector there); `neighbours` are the 10 emotions nearest
 * by cosine and `lens` the tokens it promotes (logit lens), both at `shownLayer`. */
export interface MadeInfo {
  name: string;
  steerLayer: number;
  vector: Float32Array;
  shownLayer: number;
  neighbours: [string, number][];
  lens: string[];
  /** How many layers it has (all from texts; one from a link; a control vector's). */
  layers: number;
  /** Read from a llama.cpp control-vector file: its strength is llama.cpp's scale (1: the file
   * as it is), not a fraction of the residual norm, and no link carries it. */
  imported: boolean;
}

export interface RunStats {
  promptTokens: number;
  promptMs: number;
  tokens: number;
  decodeMs: number;
  /** Threads the engine computed on (2 with a co-worker). */
  threads: number;
  /** The engine build (build.ts): with relaxed SIMD or without. */
  simd: "relaxed" | "plain";
}

/** Where the model runs when the link does not say, and why (shown by the badge). */
export interface Choice {
  backend: Backend;
  reason: string;
}

/** page → worker */
export type ToWorker =
  /** The model from `modelUrl` or `modelFile` (one of them), checked against `sha256` when
   * known, refused past `maxBytes`; its emotion vectors from `emotionsUrl` or `emotionsFile`,
   * if any (a model without them still runs: `ready` says why there are none).
   * cache false: do not use the Cache API (the page has none). backend: the link's (it wins); chosen: what
   * an earlier visit measured (else the worker measures, and `ready` says so). */
  | {
    type: "load"; modelUrl?: string; modelFile?: Blob; sha256?: string; maxBytes?: number;
    emotionsUrl?: string; emotionsFile?: Blob; backend?: Backend; chosen?: Choice; threads?: number; simd?: "plain"; cache?: boolean;
  }
  | ({ type: "generate" } & GenerateRequest)
  | { type: "set-layer"; layer: number }
  | ({ type: "probe" } & ProbeRequest)
  | { type: "cancel" }
  | { type: "lose-device" }
  /** Moves the model to `backend` in place (answered with `backend`), on the CPU with `threads`
   * (2: with the co-worker; absent: as at load): the old engine is freed, its WebGPU device
   * destroyed; asked for WebGPU without an adapter, the CPU says why. */
  | { type: "set-backend"; backend: Backend; threads?: number }
  /** The emotion vectors at `layer` (answered with `vectors`). */
  | { type: "vectors"; layer: number }
  /** The worker's memory now (answered with `memory`). */
  | { type: "memory" }
  /** Make a vector named `name` from `texts` (against `opposite`, or the emotions' centre):
   * `make-progress` per text, then `made`. */
  | { type: "make"; name: string; texts: string[]; opposite: string[] }
  /** Keep a vector (a link's) of one layer: answered with `made`. */
  | { type: "add-made"; name: string; layer: number; vector: Float32Array }
  /** Keep a llama.cpp control vector read from a file (`bytes`, GGUF): answered with `made`,
   * or `error` saying why it does not fit this model. */
  | { type: "import-made"; name: string; bytes: Uint8Array }
  /** Forget every made vector. */
  | { type: "clear-made" }
  /** A made vector as a file: answered with `exported`. */
  | { type: "export-made"; name: string; format: "json" | "gguf"; strength: number };

/** worker → page */
export type FromWorker =
  | { type: "progress"; loaded: number; total: number; cached: boolean }
  | { type: "notice"; message: string }
  /** reason: why this backend runs; measured: the worker timed both backends at this load
   * (the page remembers the choice). emotions: null when the model has none (vectorsNote says
   * why: no file, a failed download, vectors of another model). chat: the model has a chat
   * template (else every prompt is plain text). */
  | {
    type: "ready"; backend: Backend; fallback?: string; reason: string; measured: boolean; nLayer: number; dModel: number;
    emotions: EmotionInfo | null; vectorsNote?: string; chat: boolean;
  }
  | { type: "backend"; backend: Backend; fallback?: string }
  | { type: "layer"; layer: number }
  | { type: "run-start"; run: RunId; steer: Steer[]; layer: number }
  /** texts: one per prompt token; scores: (texts.length, n_emotions) row-major, or empty;
   * [userStart, userEnd): the tokens of the user's own text inside the chat template;
   * trace: the traced made vector's score per token (GenerateRequest.trace), or empty. */
  | { type: "prompt"; run: RunId; texts: string[]; scores: Float32Array; userStart: number; userEnd: number; trace: Float32Array }
  /** scores: the readout at this token (n_emotions), or null when none ran; trace: the traced
   * made vector's score, or null. */
  | { type: "token"; run: RunId; id: number; text: string; scores: Float32Array | null; trace: number | null }
  | ({ type: "probe-result" } & ProbeResult)
  | { type: "done"; reason: "end" | "cancelled"; stats: RunStats | null }
  /** data: the emotion vectors at `layer`, (n_emotions, d) row-major, unit rows. */
  | { type: "vectors"; layer: number; data: Float32Array }
  /** wasmBytes: the engine's wasm memory; a reply's buffers grow it, nothing shrinks it.
   * backend: the one running; gpuLive: the engine holds an open WebGPU device; gpuDevices: the
   * WebGPU devices open in the worker's wasm instance (0 once every engine left WebGPU);
   * threads: 2 once a co-worker has loaded and takes a share of the products, else 1;
   * gpuCounts: the GPU's work so far, [dispatches, copies, submits, bytes read back] (empty on
   * the CPU). */
  | { type: "memory"; wasmBytes: number; backend: Backend | null; gpuLive: boolean; gpuDevices: number; threads: number; gpuCounts: number[] }
  | { type: "make-progress"; done: number; total: number }
  /** source: made from texts now (in `ms`), read from a link, or from a control-vector file. */
  | { type: "made"; made: MadeInfo; source: "texts" | "link" | "file"; ms: number }
  | { type: "exported"; name: string; format: "json" | "gguf"; bytes: Uint8Array }
  | { type: "error"; message: string };

/** The `k` highest scores as [name, score] pairs, highest first. */
export function topK(scores: ArrayLike<number>, names: readonly string[], k: number): [string, number][] {
  const idx = Array.from({ length: Math.min(scores.length, names.length) }, (_, i) => i);
  idx.sort((a, b) => scores[b]! - scores[a]!);
  return idx.slice(0, k).map((i) => [names[i]!, scores[i]!]);
}

/** Row `row` of a row-major (rows, cols) matrix. */
export function row(matrix: Float32Array, cols: number, row: number): Float32Array {
  return matrix.subarray(row * cols, (row + 1) * cols);
}

/** Lower-case hex of a digest. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** "12 tokens, 30.1 tokens/s (prompt 60.2, reply 38.0 tokens/s)": the form bench_web and tests read. */
export function speedText(tokens: number, elapsedMs: number, stats: RunStats | null): string {
  let s = `${tokens} tokens, ${(tokens / Math.max(elapsedMs / 1000, 1e-3)).toFixed(1)} tokens/s`;
  if (stats && stats.tokens > 1) {
    const rate = (n: number, ms: number) => (n / (ms / 1000)).toFixed(1);
    const on = stats.threads > 1 ? `, ${stats.threads} threads` : "";
    s += ` (prompt ${rate(stats.promptTokens, stats.promptMs)}, reply ${rate(stats.tokens - 1, stats.decodeMs)} tokens/s${on})`;
  }
  return s;
}
