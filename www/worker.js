// The worker owns the wasm engine; the page only talks to it through protocol.js messages.
import init, { Engine } from "../pkg/limbic.js";
import { MODEL_CACHE } from "./protocol.js";

let engine = null;
let emotions = null;
let cancelled = false;
const post = (msg) => self.postMessage(msg);

// The 5 highest readout scores as [name, score] pairs.
function top5(scores) {
  if (!scores || !emotions) return [];
  return Array.from(scores, (s, i) => [emotions.names[i], s]).sort((a, b) => b[1] - a[1]).slice(0, 5);
}

// Streams the model with progress; keeps a copy in the Cache API when the browser allows it.
async function fetchModel(url) {
  let cache = null;
  try {
    cache = await caches.open(MODEL_CACHE);
    const hit = await cache.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      post({ type: "progress", loaded: bytes.length, total: bytes.length, cached: true });
      return bytes;
    }
  } catch (_) {
    cache = null; // no Cache API (e.g. an opaque origin): download every time
  }
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
  if (cache) {
    try { await cache.put(url, new Response(bytes)); } catch (_) { /* full quota: run uncached */ }
  }
  return bytes;
}

// One reply; tokens are labelled with `run`. Returns its stats, or null when cancelled.
async function runOnce(m, steer, run) {
  engine.clearHooks();
  for (const s of steer) engine.steer(s.name, s.strength, undefined);
  const t0 = performance.now();
  const promptTokens = engine.start(m.prompt, m.chat, m.maxTokens, m.temperature, m.topP, BigInt(m.seed));
  const t1 = performance.now();
  let tokens = 0;
  let decodeMs = 0;
  for (;;) {
    // Let a waiting "cancel" message in between steps.
    await new Promise((r) => setTimeout(r, 0));
    if (cancelled) return null;
    const ts = performance.now();
    const step = engine.step();
    // The first token comes from the prompt pass; decode time is that of the steps after it.
    if (step === null) return { promptTokens, promptMs: t1 - t0, tokens, decodeMs };
    tokens += 1;
    if (tokens > 1) decodeMs += performance.now() - ts;
    post({ type: "token", run, id: step.id, text: step.text, top: top5(step.scores) });
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
      engine = new Engine(bytes);
      const resp = await fetch(m.emotionsUrl);
      if (!resp.ok) throw new Error(`emotion vectors: HTTP ${resp.status} for ${m.emotionsUrl}`);
      emotions = engine.loadEmotions(new Uint8Array(await resp.arrayBuffer()));
      post({ type: "ready", backend: engine.backend(), nLayer: engine.nLayer(), dModel: engine.dModel(), emotions });
    } else if (m.type === "generate") {
      if (!engine) throw new Error("the model is not loaded yet");
      await generate(m);
    } else if (m.type === "cancel") {
      cancelled = true;
    }
  } catch (err) {
    post({ type: "error", message: String(err && err.message ? err.message : err) });
  }
};
