// The worker owns the wasm engine; the page only talks to it through protocol.js messages.
import init, { Engine } from "../pkg/limbic.js";
import { MODEL_CACHE } from "./protocol.js";

let engine = null;
let cancelled = false;
const post = (msg) => self.postMessage(msg);

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

async function generate(m) {
  cancelled = false;
  engine.start(m.prompt, m.chat, m.maxTokens, m.temperature, m.topP, BigInt(m.seed));
  for (;;) {
    // Let a waiting "cancel" message in between steps.
    await new Promise((r) => setTimeout(r, 0));
    if (cancelled) return post({ type: "done", reason: "cancelled" });
    const step = engine.step();
    if (step === null) return post({ type: "done", reason: "end" });
    post({ type: "token", id: step.id, text: step.text });
  }
}

self.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.type === "load") {
      await init();
      const bytes = await fetchModel(m.modelUrl);
      engine = new Engine(bytes);
      post({ type: "ready", backend: engine.backend(), nLayer: engine.nLayer(), dModel: engine.dModel() });
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
