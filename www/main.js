// The page: UI only. The engine lives in worker.js; messages follow protocol.js.
import { EMOTIONS_URL, MODEL_CACHE, MODEL_URL } from "./protocol.js";

const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let started = 0;
let tokens = 0;
let names = [];
// Steers from a shared link beyond the one the form shows: [{name, strength}].
let extraSteers = [];

// "sad:0.5,calm:0.2" → [{name, strength}]; unknown names or strengths outside ±5 are dropped
// with a message, never run.
function parseSteer(text) {
  const out = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [name, value] = part.split(":");
    const strength = value === undefined ? null : Number(value);
    if (!names.includes(name) || (strength !== null && !(Math.abs(strength) <= 5))) {
      $("link-note").textContent = `ignored steer "${part}" from the link: unknown emotion or strength outside ±5`;
      continue;
    }
    out.push({ name, strength });
  }
  return out;
}

function formSteers() {
  const first = $("steer-emotion").value
    ? [{ name: $("steer-emotion").value, strength: Number($("steer-strength").value) }]
    : [];
  return first.concat(extraSteers);
}

// Fills the form from the page's URL (prompt, steer, seed, temperature, max); runs if autorun=1.
function applyUrl() {
  const q = new URLSearchParams(location.search);
  if (q.has("prompt")) $("prompt").value = q.get("prompt");
  for (const [key, id] of [["seed", "seed"], ["temperature", "temperature"], ["max", "max-tokens"]]) {
    if (q.has(key) && Number.isFinite(Number(q.get(key)))) $(id).value = q.get(key);
  }
  const steers = parseSteer(q.get("steer") || "");
  if (steers.length) {
    $("steer-emotion").value = steers[0].name;
    if (steers[0].strength !== null) $("steer-strength").value = String(steers[0].strength);
    $("steer-strength-value").textContent = $("steer-strength").value;
    extraSteers = steers.slice(1).map((s) => ({ name: s.name, strength: s.strength ?? Number($("steer-strength").value) }));
    $("more-steers").textContent = extraSteers.length
      ? `also steering: ${extraSteers.map((s) => `${s.name} ${s.strength}`).join(", ")}`
      : "";
  }
  if (q.get("autorun") === "1") $("generate").click();
}

// A link that reproduces the current form.
function shareUrl() {
  const q = new URLSearchParams({
    prompt: $("prompt").value,
    seed: $("seed").value,
    temperature: $("temperature").value,
    max: $("max-tokens").value,
  });
  const steers = formSteers();
  if (steers.length) q.set("steer", steers.map((s) => `${s.name}:${s.strength}`).join(","));
  q.set("autorun", "1");
  return `${location.origin}${location.pathname}?${q}`;
}

// Shows the top emotions of one token, as text (numbers, never colour alone).
function showReadout(top) {
  const list = $("readout");
  list.replaceChildren(...top.map(([name, score]) => {
    const li = document.createElement("li");
    li.textContent = `${name} ${score.toFixed(2)}`;
    return li;
  }));
}

function busy(on) {
  $("generate").disabled = on;
  $("stop").disabled = !on;
}

worker.onmessage = (e) => {
  const m = e.data;
  if (m.type === "progress") {
    $("progress").value = m.total ? m.loaded / m.total : 0;
    const mb = (n) => (n / 1e6).toFixed(1);
    $("status").textContent = m.cached
      ? "loading the model from this browser's cache…"
      : `downloading the model: ${mb(m.loaded)} of ${m.total ? mb(m.total) : "?"} MB`;
  } else if (m.type === "notice") {
    $("notice").textContent = m.message;
  } else if (m.type === "backend") {
    showBackend(m);
  } else if (m.type === "ready") {
    $("progress").value = 1;
    $("status").textContent = `model ready (${m.nLayer} layers, d = ${m.dModel})`;
    showBackend(m);
    $("layer").textContent = String(m.emotions.defaultLayer);
    const strength = m.emotions.defaultStrength.toFixed(2);
    $("steer-strength").value = strength;
    $("steer-strength-value").textContent = strength;
    names = m.emotions.names;
    for (const name of names) {
      const opt = document.createElement("option");
      opt.value = name;
      opt.textContent = name;
      $("steer-emotion").append(opt);
    }
    busy(false);
    applyUrl();
  } else if (m.type === "token" && m.run === "baseline") {
    const span = document.createElement("span");
    span.textContent = m.text;
    $("baseline").append(span);
  } else if (m.type === "token") {
    tokens += 1;
    const span = document.createElement("span");
    span.textContent = m.text;
    span.tabIndex = 0;
    span.title = m.top.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(", ");
    span.addEventListener("mouseenter", () => showReadout(m.top));
    span.addEventListener("focus", () => showReadout(m.top));
    $("output").append(span);
    if (m.top.length) showReadout(m.top);
    const s = (performance.now() - started) / 1000;
    $("speed").textContent = `${tokens} tokens, ${(tokens / s).toFixed(1)} tokens/s`;
  } else if (m.type === "done") {
    const st = m.stats;
    $("speed").dataset.stats = JSON.stringify(st);
    if (st && st.tokens > 1) {
      const rate = (n, ms) => (n / (ms / 1000)).toFixed(1);
      $("speed").textContent += ` (prompt ${rate(st.promptTokens, st.promptMs)}, reply ${rate(st.tokens - 1, st.decodeMs)} tokens/s)`;
    }
    busy(false);
    if (m.reason === "cancelled") $("speed").textContent += " (stopped)";
  } else if (m.type === "error") {
    $("status").textContent = `error: ${m.message}`;
    if (!names.length) $("notice").textContent = "Reload to try again, or clear the cache if this persists.";
    busy(false);
  }
};

$("generate").addEventListener("click", () => {
  const compare = $("compare").checked && formSteers().length > 0;
  $("replies").classList.toggle("compare", compare);
  $("baseline").textContent = "";
  $("output").textContent = "";
  $("speed").textContent = "";
  tokens = 0;
  started = performance.now();
  busy(true);
  worker.postMessage({
    type: "generate",
    prompt: $("prompt").value,
    chat: true,
    maxTokens: Number($("max-tokens").value) || 128,
    temperature: Number($("temperature").value) || 0,
    topP: 1,
    seed: Number($("seed").value) || 0,
    steer: formSteers(),
    compare,
  });
});
$("copy-link").addEventListener("click", async () => {
  const url = shareUrl();
  $("share-url").value = url;
  try {
    await navigator.clipboard.writeText(url);
  } catch (_) {
    $("share-url").select(); // no clipboard permission: the link is selected to copy by hand
  }
});
$("steer-emotion").addEventListener("change", () => {
  extraSteers = [];
  $("more-steers").textContent = "";
});
$("stop").addEventListener("click", () => worker.postMessage({ type: "cancel" }));
$("steer-strength").addEventListener("input", () => {
  $("steer-strength-value").textContent = $("steer-strength").value;
});

// The badge names the backend running the model, and why WebGPU was left if it was.
function showBackend(m) {
  $("backend").textContent = m.backend === "cpu" ? "CPU (WebAssembly)" : "WebGPU";
  $("backend").title = m.fallback ? `WebGPU unavailable: ${m.fallback}` : "";
  $("fallback").textContent = m.fallback ? `Running on the CPU: ${m.fallback}` : "";
}

// Deletes the model kept in this browser (a damaged copy, or to free the space) and reloads.
$("clear-cache").addEventListener("click", async () => {
  await caches.delete(MODEL_CACHE);
  location.reload();
});

// For tests and demonstrations: destroy the WebGPU device as a lost one would be.
window.limbic = { loseDevice: () => worker.postMessage({ type: "lose-device" }) };

// ?backend=cpu|webgpu forces one; otherwise WebGPU when the browser offers an adapter.
const wantedBackend = new URLSearchParams(location.search).get("backend") || undefined;
worker.postMessage({ type: "load", modelUrl: MODEL_URL, emotionsUrl: EMOTIONS_URL, backend: wantedBackend });
