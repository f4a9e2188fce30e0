// The worker owns the wasm engine; the page only talks to it through protocol.js messages.
import init, { Engine } from "../pkg/limbic.js";
import { MODEL_CACHE, MODEL_SHA256 } from "./protocol.js";

let engine = null;
let emotions = null;
let cancelled = false;
let shownFallback;

// Tells the page when the engine left WebGPU for the CPU (at load or mid-reply).
function reportBackend() {
  const fallback = engine.fallback();
  if (fallback !== shownFallback) {
    shownFallback = fallback;
    post({ type: "backend", backend: engine.backend(), fallback });
  }
}

// "webgpu" when asked for, or when asked for nothing and the browser offers an adapter.
async function pickBackend(wanted) {
  if (wanted === "cpu" || wanted === "webgpu") return wanted;
  try {
    return navigator.gpu && (await navigator.gpu.requestAdapter()) ? "webgpu" : "cpu";
  } catch (_) {
    return "cpu";
  }
}
const post = (msg) => self.postMessage(msg);

// The 5 highest readout scores as [name, score] pairs.
function top5(scores) {
  if (!scores || !emotions) return [];
  return Array.from(scores, (s, i) => [emotions.names[i], s]).sort((a, b) => b[1] - a[1]).slice(0, 5);
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The model's bytes, checked against MODEL_SHA256: from the Cache API when a good copy is
// there (a damaged one is dropped and downloaded again), else streamed with progress and
// cached when the browser has room.
async function fetchModel(url) {
  let cache = null;
  try {
    cache = await caches.open(MODEL_CACHE);
    const hit = await cache.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      post({ type: "progress", loaded: bytes.length, total: bytes.length, cached: true });
      if ((await sha256(bytes)) === MODEL_SHA256) return bytes;
      await cache.delete(url);
      post({ type: "notice", message: "the cached model was damaged (SHA-256 mismatch): downloading it again" });
    }
  } catch (_) {
    cache = null; // no Cache API (e.g. an opaque origin): download every time
  }
  const bytes = await download(url);
  if ((await sha256(bytes)) !== MODEL_SHA256) {
    throw new Error("the downloaded model does not match its SHA-256: the server sent another or a damaged file");
  }
  if (cache) {
    try {
      await cache.put(url, new Response(bytes));
    } catch (_) {
      post({ type: "notice", message: "no room to keep the model in this browser: it will be downloaded again next time" });
    }
  }
  return bytes;
}

// Streams `url` with progress; an interrupted download is an error the page can retry.
async function download(url) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`model download failed: HTTP ${resp.status} for ${url}`);
  const total = Number(resp.headers.get("content-length")) || 0;
  const reader = resp.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    post({ type: "progress", loaded, total, cached: false });
  }
  if (total && loaded !== total) throw new Error(`model download stopped at ${loaded} of ${total} bytes`);
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return bytes;
}

// One reply; tokens are labelled with `run`. Returns its stats, or null when cancelled.
async function runOnce(m, steer, run) {
  engine.clearHooks();
  for (const s of steer) engine.steer(s.name, s.strength, undefined);
  const t0 = performance.now();
  // Each call records work; on WebGPU the worker awaits the device before reading it back.
  const promptTokens = engine.start(m.prompt, m.chat, m.maxTokens, m.temperature, m.topP, BigInt(m.seed));
  await engine.ready();
  engine.finish();
  const t1 = performance.now();
  let tokens = 0;
  let decodeMs = 0;
  for (;;) {
    // Let a waiting "cancel" message in between steps.
    await new Promise((r) => setTimeout(r, 0));
    if (cancelled) return null;
    const ts = performance.now();
    // The first token comes from the prompt pass; decode time is that of the steps after it.
    if (!engine.step()) return { promptTokens, promptMs: t1 - t0, tokens, decodeMs };
    await engine.ready();
    const step = engine.finish();
    tokens += 1;
    if (tokens > 1) decodeMs += performance.now() - ts;
    post({ type: "token", run, id: step.id, text: step.text, top: top5(step.scores) });
    reportBackend();
  }
}

// With `compare` and a steer, the unsteered reply (same seed) streams first, then the steered one.
async function generate(m) {
  cancelled = false;
  const steer = m.steer || [];
  if (m.compare && steer.length && (await runOnce(m, [], "baseline")) === null) {
    return post({ type: "done", reason: "cancelled", stats: null });
  }
  const stats = await runOnce(m, steer, "main");
  post({ type: "done", reason: stats ? "end" : "cancelled", stats });
}

self.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.type === "load") {
      await init();
      const bytes = await fetchModel(m.modelUrl);
      engine = await Engine.create(bytes, await pickBackend(m.backend));
      shownFallback = engine.fallback();
      const resp = await fetch(m.emotionsUrl);
      if (!resp.ok) throw new Error(`emotion vectors: HTTP ${resp.status} for ${m.emotionsUrl}`);
      emotions = engine.loadEmotions(new Uint8Array(await resp.arrayBuffer()));
      post({ type: "ready", backend: engine.backend(), fallback: engine.fallback(), nLayer: engine.nLayer(), dModel: engine.dModel(), emotions });
    } else if (m.type === "generate") {
      if (!engine) throw new Error("the model is not loaded yet");
      await generate(m);
    } else if (m.type === "cancel") {
      cancelled = true;
    } else if (m.type === "lose-device") {
      engine?.loseDevice();
    }
  } catch (err) {
    post({ type: "error", message: String(err && err.message ? err.message : err) });
  }
};
