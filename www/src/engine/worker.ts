//! The engine's worker: owns the wasm engine (one of the two builds, build.ts), the
//! model's bytes (model-bytes.ts: download, cache, file) and runs replies step by step so a `cancel` gets in between
//! steps; moves the model between WebGPU and the CPU in place (`set-backend`: a new engine
//! from the cached bytes, the old one freed with its WebGPU device). Talks to the page only
//! through protocol.ts messages.

import type { Engine } from "../../../pkg/limbic.js";
import { type EngineBuild, loadEngineBuild, pickSimd, type Simd, wasmMemoryBytes } from "./build";
import { modelBytes } from "./model-bytes";
import type { Backend, EmotionInfo, FromWorker, GenerateRequest, MadeInfo, ProbeRequest, RunId, RunStats, Steer, ToWorker } from "./protocol";
import { checkToWorker } from "./protocol-check";
import { CoWorkerLink, newShared } from "./co-worker-channel";

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<unknown>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (msg: FromWorker) => scope.postMessage(msg);

type Load = Extract<ToWorker, { type: "load" }>;

let engine: Engine | null = null;
/** The engine build loaded, and the `load` request (its URLs serve `set-backend` again). */
let build: EngineBuild | null = null;
let loaded: Load | null = null;
let emotions: EmotionInfo | null = null;
/** Why the model has no emotion vectors, when it has none. */
let vectorsNote: string | undefined;
let layer = 0;
let running = false;
let cancelled = false;
let shownFallback: string | undefined;
let link: CoWorkerLink | null = null;
/** The engine build running (the co-worker loads the same). */
let simd: Simd = "plain";
let coWorker: Worker | null = null;
/** A `vectors` request that came mid-reply, answered when the reply ends. */
let vectorsWanted: number | null = null;

/** Tells the page when the engine left WebGPU for the CPU (at load or mid-reply). */
function reportBackend(e: Engine) {
  const fallback = e.fallback();
  if (fallback !== shownFallback) {
    shownFallback = fallback;
    post({ type: "backend", backend: e.backend() as Backend, fallback });
  }
}

/** The browser's WebGPU adapter: none, a CPU emulating a GPU (SwiftShader: wgpu cannot tell in
 * the browser, and the engine's fastest kernels differ there), or a GPU. Asked once. */
let adapter: Promise<"none" | "software" | "gpu"> | null = null;
function adapterKind(): Promise<"none" | "software" | "gpu"> {
  type Info = { isFallbackAdapter?: boolean; architecture?: string };
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: Info } | null> } }).gpu;
  adapter ??= (async () => {
    try {
      const found = await gpu?.requestAdapter();
      if (!found) return "none";
      const info = found.info;
      return info?.isFallbackAdapter === true || info?.architecture === "swiftshader" ? "software" : "gpu";
    } catch {
      return "none";
    }
  })();
  return adapter;
}

/** Decode speed of `e` in tokens/s, readout on: a few greedy tokens of a fixed prompt, the
 * first (which waits for the prompt) left out. */
async function decodeSpeed(e: Engine, tokens = 8): Promise<number> {
  e.start("The weather today is", false, tokens + 1, 0, 1, 0n);
  await e.ready();
  e.finish();
  let n = 0;
  let t0 = 0;
  while (e.step()) {
    await e.ready();
    e.finish();
    if (n++ === 0) t0 = performance.now();
  }
  return n > 1 ? (n - 1) / ((performance.now() - t0) / 1000) : 0;
}

/** Opens the engine where it decodes faster on this machine and says why: the CPU where the
 * browser has no WebGPU or only a CPU emulating one; else a few tokens timed on each (then the
 * second value is true: the page remembers the answer, so this runs on a first visit only). */
async function openFastest(m: Load): Promise<[string, boolean]> {
  const kind = await adapterKind();
  if (kind !== "gpu") {
    await open(await bytesOf(m), "cpu");
    return [kind === "none" ? "this browser offers no WebGPU"
      : "this browser's WebGPU is a CPU emulation (SwiftShader), slower than the CPU engine", false];
  }
  // Fetched and checked once. A CPU engine's co-worker takes the bytes it is given (moved),
  // and WebGPU can fall back to the CPU, so every engine but the last gets a copy.
  const bytes = await bytesOf(m);
  const cpu = await decodeSpeed(await open(bytes.slice(), "cpu"));
  closeEngine();
  const e = await open(bytes.slice(), "webgpu");
  // WebGPU declined this model (an op it lacks, a buffer too large): the engine runs on the
  // CPU already, and the badge says why. Nothing measured, nothing to remember.
  if (e.backend() !== "webgpu") return [`WebGPU declined this model: ${e.fallback() ?? "no reason given"}`, false];
  const gpu = await decodeSpeed(e);
  const figures = `WebGPU ${gpu.toFixed(1)}, CPU ${cpu.toFixed(1)} tokens/s on this machine`;
  if (gpu > cpu) return [`measured faster: ${figures}`, true];
  closeEngine();
  await open(bytes, "cpu");
  return [`the CPU measured faster: ${figures}`, true];
}

/** The model's bytes for the `load` request `m` (from the cache, the network or a file). */
function bytesOf(m: Load): Promise<Uint8Array> {
  return modelBytes({ url: m.modelUrl, file: m.modelFile, sha256: m.sha256, maxBytes: m.maxBytes, cache: m.cache !== false }, post);
}

async function load(m: Load) {
  simd = await pickSimd(m.simd);
  build = await loadEngineBuild(simd);
  loaded = m;
  let reason = m.backend ? `the link asks for ${m.backend === "cpu" ? "the CPU" : "WebGPU"} (backend=${m.backend})` : "";
  if (m.backend || m.chosen) {
    const wanted = m.backend ?? m.chosen!.backend;
    await open(await bytesOf(m), wanted);
    reason ||= `${m.chosen!.reason} (on an earlier visit)`;
  }
  let measured = false;
  if (!reason) [reason, measured] = await openFastest(m);
  const e = engine!;
  post({
    type: "ready", backend: e.backend() as Backend, fallback: e.fallback(), reason, measured, nLayer: e.nLayer(), dModel: e.dModel(),
    emotions, vectorsNote, chat: e.chatAvailable(),
  });
}

/** An engine on `backend` for the model `bytes` (moved to the co-worker, if one starts), with
 * the emotion vectors loaded, readout at their default layer; it becomes `engine`. */
async function open(bytes: Uint8Array, backend: Backend, threads = loaded!.threads): Promise<Engine> {
  const e = await build!.Engine.create(bytes, backend);
  if (e.backend() === "webgpu") e.setEmulatedGpu((await adapterKind()) === "software");
  shownFallback = e.fallback();
  link = startCoWorker(e, bytes, threads);
  await loadVectors(e, loaded!);
  engine = e;
  return e;
}

/** The emotion vectors of the `load` request `m` into `e`, when it names some and they fit the
 * model; else none, and `vectorsNote` says why (the model runs without them). */
async function loadVectors(e: Engine, m: Load) {
  emotions = null;
  vectorsNote = undefined;
  let bytes: Uint8Array;
  try {
    if (m.emotionsFile) {
      bytes = new Uint8Array(await m.emotionsFile.arrayBuffer());
    } else if (m.emotionsUrl) {
      const resp = await fetch(m.emotionsUrl);
      if (!resp.ok) {
        vectorsNote = resp.status === 404 ? `no file at ${m.emotionsUrl}` : `HTTP ${resp.status} for ${m.emotionsUrl}`;
        return;
      }
      bytes = new Uint8Array(await resp.arrayBuffer());
    } else {
      vectorsNote = "none were given";
      return;
    }
  } catch (err) {
    vectorsNote = `the vectors file could not be read: ${err instanceof Error ? err.message : String(err)}`;
    return;
  }
  try {
    emotions = e.loadEmotions(bytes) as EmotionInfo;
    layer = emotions.defaultLayer;
  } catch (err) {
    vectorsNote = `the vectors file does not fit this model: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Moves the model to `wanted` (on the CPU with `threads`, else as at load) in place: the old
 * engine (and co-worker) goes first, so the wasm memory it held serves the new one and its
 * WebGPU device is destroyed (src/backend/gpu/device.rs); the model's bytes come from the
 * cache again. Answered with `backend`. */
async function setBackend(wanted: Backend, threads: number | undefined) {
  const old = engine!;
  // Already there (and not after a fallback, whose engine a fresh one replaces): nothing to do.
  if (old.backend() === wanted && !old.fallback() && (threads === undefined || threads === (link ? 2 : 1))) {
    post({ type: "backend", backend: wanted, fallback: old.fallback() });
    return;
  }
  running = true;
  try {
    const bytes = await bytesOf(loaded!);
    closeEngine();
    const e = await open(bytes, wanted, threads ?? loaded!.threads);
    post({ type: "backend", backend: e.backend() as Backend, fallback: e.fallback() });
  } finally {
    running = false;
  }
}

/** Frees the engine (and its co-worker and WebGPU device), so its wasm memory serves the next. */
function closeEngine() {
  const old = engine;
  engine = null;
  link = null;
  coWorker?.terminate();
  coWorker = null;
  old?.free();
}

/** On the CPU in a cross-origin isolated page, a second wasm instance in its own worker takes
 * half of each large product (src/backend/share.rs); it joins once it has loaded the model
 * (the bytes move to it). Both threads spin while a reply runs, so it starts only with a core
 * to spare for the page (4 or more), or when asked for (`wanted` 2): on the 2-core build
 * machine it made replies slower (BENCHMARKS.md). */
function startCoWorker(e: Engine, bytes: Uint8Array, wanted: number | undefined): CoWorkerLink | null {
  const cores = navigator.hardwareConcurrency ?? 1;
  const want = wanted ?? (cores >= 4 ? 2 : 1);
  if (want !== 2 || e.backend() !== "cpu" || !self.crossOriginIsolated) return null;
  const sab = newShared();
  coWorker?.terminate();
  coWorker = new Worker(new URL("./co-worker.ts", import.meta.url), { type: "module" });
  coWorker.postMessage({ bytes, sab, simd }, [bytes.buffer]);
  const l = new CoWorkerLink(sab);
  return e.setCoWorker(l) ? l : null;
}

function setLayer(e: Engine, wanted: number) {
  if (wanted === layer) return;
  e.setReadout(wanted);
  layer = wanted;
  post({ type: "layer", layer });
}

/** What `start` returns: the prompt's ids and where the user's own text sits in them. */
interface Prompt { ids: ArrayLike<number>; userStart: number; userEnd: number }

/** The prompt's tokens as text, their readout rows, and where the user's own text sits. */
function sendPrompt(e: Engine, p: Prompt, run: RunId) {
  post({
    type: "prompt",
    run,
    texts: e.tokenTexts(Uint32Array.from(p.ids)),
    scores: e.promptScores(),
    userStart: p.userStart,
    userEnd: p.userEnd,
    trace: e.promptTrace(),
  });
}

/** Sets the steering to exactly `steer`, in one call (none clears it), and reads the made
 * vector `trace` out per token (none when undefined). */
function applySteer(e: Engine, steer: readonly Steer[], trace?: string) {
  if (!emotions) return; // nothing to steer with: the engine refuses any steering
  e.setSteers(steer.map((s) => s.name), Float32Array.from(steer.map((s) => s.strength)), undefined, trace);
}

/** One prompt pass, no reply: the readout at the last prompt token and the next-token
 * probabilities of `m.words`. The hooks are cleared again afterwards. */
async function probe(e: Engine, m: ProbeRequest) {
  running = true;
  try {
    e.setHistory([]);
    setLayer(e, m.layer);
    applySteer(e, m.steer, m.trace);
    const n = (e.start(m.prompt, m.chat && e.chatAvailable(), 1, 0, 1, 0n) as Prompt).ids.length;
    await e.ready();
    e.finish();
    const k = emotions?.names.length ?? 0;
    const all = e.promptScores();
    const scores = k > 0 && n > 0 && all.length === n * k ? all.slice((n - 1) * k) : new Float32Array(0);
    const probs = m.words.length ? e.nextProbs(m.words) : new Float32Array(0);
    const firsts = m.words.map((w) => e.tokenize(w, false)[0] ?? 0);
    const wordTokens = firsts.length ? e.tokenTexts(Uint32Array.from(firsts)) : [];
    post({ type: "probe-result", id: m.id, promptTokens: n, scores, probs, wordTokens, trace: e.promptTrace() });
    reportBackend(e);
  } finally {
    applySteer(e, []);
    running = false;
  }
}

/** One reply, its tokens labelled with `run`. Returns its stats, or null when cancelled. */
async function runOnce(e: Engine, m: GenerateRequest, steer: Steer[], run: RunId): Promise<RunStats | null> {
  applySteer(e, steer, m.trace);
  post({ type: "run-start", run, steer, layer });
  const shared0 = link?.shared ?? 0;
  const t0 = performance.now();
  // Each call records work; on WebGPU the worker awaits the device before reading it back.
  // A model without a chat template continues every prompt as plain text.
  const chat = m.chat && e.chatAvailable();
  const prompt = e.start(m.prompt, chat, m.maxTokens, m.temperature, m.topP, BigInt(m.seed)) as Prompt;
  // A plain prompt's BOS (Gemma's tokenizer adds one) is the model's, shown with the template.
  if (!chat) prompt.userStart = Math.max(0, prompt.ids.length - e.tokenize(m.prompt, false).length);
  const promptTokens = prompt.ids.length;
  await e.ready();
  e.finish();
  const t1 = performance.now();
  sendPrompt(e, prompt, run);
  let tokens = 0;
  let decodeMs = 0;
  for (;;) {
    // Let a waiting "cancel" message in between steps.
    await new Promise((r) => setTimeout(r, 0));
    if (cancelled) return null;
    const ts = performance.now();
    // The first token comes from the prompt pass; decode time is that of the steps after it.
    if (!e.step()) {
      // Two threads when the co-worker took a share of this reply's products.
      const threads = (link?.shared ?? 0) > shared0 ? 2 : 1;
      return { promptTokens, promptMs: t1 - t0, tokens, decodeMs, threads, simd };
    }
    await e.ready();
    const step = e.finish() as { id: number; text: string; scores?: number[] | Float32Array | null; trace?: number | null };
    tokens += 1;
    if (tokens > 1) decodeMs += performance.now() - ts;
    post({ type: "token", run, id: step.id, text: step.text, scores: step.scores ? Float32Array.from(step.scores) : null, trace: step.trace ?? null });
    reportBackend(e);
  }
}

/** With `compare` and a steer, the unsteered reply (same seed) streams first, then the steered one. */
async function generate(e: Engine, m: GenerateRequest) {
  cancelled = false;
  running = true;
  try {
    e.setHistory(m.history ?? []);
    setLayer(e, m.layer);
    if (m.compare && m.steer.length && (await runOnce(e, m, [], "baseline")) === null) {
      post({ type: "done", reason: "cancelled", stats: null });
      return;
    }
    const stats = await runOnce(e, m, m.steer, "main");
    post({ type: "done", reason: stats ? "end" : "cancelled", stats });
  } finally {
    endRun(e);
  }
}

/** Makes a vector from texts, one pass per text (awaiting the device between them, and
 * letting a `cancel` in), with a progress message after each. */
async function makeVector(e: Engine, m: Extract<ToWorker, { type: "make" }>) {
  cancelled = false;
  running = true;
  const t0 = performance.now();
  const all: [string, boolean][] = [...m.texts.map((t): [string, boolean] => [t, false]), ...m.opposite.map((t): [string, boolean] => [t, true])];
  try {
    e.makeCancel();
    for (const [i, [text, opposite]] of all.entries()) {
      await new Promise((r) => setTimeout(r, 0));
      if (cancelled) throw new Error("making the vector was stopped");
      e.makeText(text);
      await e.ready();
      e.makeKeep(opposite);
      post({ type: "make-progress", done: i + 1, total: all.length });
    }
    e.makeVector(m.name);
    await sendMade(e, "texts", t0);
    reportBackend(e);
  } catch (err) {
    e.makeCancel();
    throw err;
  } finally {
    endRun(e);
  }
}

/** Tells the page about the vector just kept (made, added or imported): its logit lens is
 * read back from the device first (its values as a Float32Array). `t0`: when making began. */
async function sendMade(e: Engine, source: "texts" | "link" | "file", t0 = performance.now()) {
  await e.ready();
  const made = e.madeInfo() as MadeInfo;
  post({ type: "made", made: { ...made, vector: Float32Array.from(made.vector) }, source, ms: performance.now() - t0 });
}

/** After a reply or a vector made: the engine is free, and a `vectors` request that came
 * meanwhile is answered. */
function endRun(e: Engine) {
  running = false;
  if (vectorsWanted !== null) sendVectors(e, vectorsWanted);
  vectorsWanted = null;
}

/** The emotion vectors at `layer`, (n_emotions, d) row-major, moved (not copied) to the page. */
function sendVectors(e: Engine, layer: number) {
  const data = e.emotionVectors(layer);
  scope.postMessage({ type: "vectors", layer, data }, [data.buffer]);
}

/** A vector being kept and described (a link's or a file's): a reply asked for meanwhile (a
 * link's autorun) waits for it, so the description's read and the reply's never interleave. */
let describing: Promise<void> = Promise.resolve();

scope.onmessage = async (ev) => {
  const checked = checkToWorker(ev.data);
  if (!checked.ok) {
    post({ type: "error", message: checked.error });
    return;
  }
  const m = checked.msg;
  try {
    if (["generate", "probe", "make", "add-made", "import-made"].includes(m.type)) await describing.catch(() => undefined);
    if (m.type === "load") {
      await load(m);
    } else if (m.type === "generate") {
      if (!engine) throw new Error("the model is not loaded yet");
      if (running) throw new Error("a reply is already running");
      await generate(engine, m);
    } else if (m.type === "probe") {
      if (!engine) throw new Error("the model is not loaded yet");
      if (running) throw new Error("a reply is already running");
      await probe(engine, m);
    } else if (m.type === "set-layer") {
      // Mid-reply the hooks must not change; the next reply carries its layer anyway.
      if (engine && !running) setLayer(engine, m.layer);
    } else if (m.type === "cancel") {
      cancelled = true;
    } else if (m.type === "vectors") {
      if (!engine) throw new Error("the model is not loaded yet");
      if (running) vectorsWanted = m.layer;
      else sendVectors(engine, m.layer);
    } else if (m.type === "set-backend") {
      if (!engine) throw new Error("the model is not loaded yet");
      if (running) throw new Error("a reply is running: the backend changes after it");
      await setBackend(m.backend, m.threads);
    } else if (m.type === "make") {
      if (!engine) throw new Error("the model is not loaded yet");
      if (running) throw new Error("a reply is already running");
      await makeVector(engine, m);
    } else if (m.type === "add-made") {
      if (!engine) throw new Error("the model is not loaded yet");
      engine.addVector(m.name, m.layer, m.vector);
      await (describing = sendMade(engine, "link"));
    } else if (m.type === "import-made") {
      if (!engine) throw new Error("the model is not loaded yet");
      if (running) throw new Error("a reply is running: import the file after it");
      engine.importVector(m.name, m.bytes);
      await (describing = sendMade(engine, "file"));
    } else if (m.type === "clear-made") {
      engine?.clearVectors();
    } else if (m.type === "export-made") {
      if (!engine) throw new Error("the model is not loaded yet");
      const bytes = engine.exportVector(m.name, m.format, m.strength);
      scope.postMessage({ type: "exported", name: m.name, format: m.format, bytes }, [bytes.buffer]);
    } else if (m.type === "lose-device") {
      engine?.loseDevice();
    } else if (m.type === "memory") {
      post({
        type: "memory", wasmBytes: wasmMemoryBytes(), backend: (engine?.backend() as Backend | undefined) ?? null,
        gpuLive: engine?.gpuLive() ?? false, gpuDevices: build?.liveGpuDevices() ?? 0, threads: link?.state() === 1 ? 2 : 1,
        gpuCounts: Array.from(engine?.gpuCounts() ?? []),
      });
    }
  } catch (err) {
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
