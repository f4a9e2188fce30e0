//! The page's shell: model status and backend badge, the precomputed example shown while the
//! model loads, the view navigation (`?view=`), Copy link and the Embed panel, the messages
//! from links, and the service worker that keeps the site for offline use; each view under
//! views/ fills <main>.

import "./style.css";
import { App, type Mounted, type ViewDef } from "./app";
import { DEFAULT_MODEL, EMOTIONS_URL, MODEL_CACHE } from "./config";
import { h } from "./dom";
import { embedPanel } from "./share/embed-panel";
import { detectFeatures, type Features, missingNotes } from "./engine/features";
import { showExample } from "./views/example";
import { readMadeLink, watchLoading } from "./loading";
import { registerServiceWorker } from "./sw-register";
import { parseUrl, toQuery } from "./share/url-state";
import { ModelMenu } from "./model-menu";
import { noVectorsView } from "./views/model-notes";
import type { Backend, FromWorker, ToWorker } from "./engine/protocol";

const $ = (id: string) => document.getElementById(id)!;

/** Every module in views/ that exports `view`, in navigation order. */
const VIEWS: ViewDef[] = Object.values(
  import.meta.glob<{ view?: ViewDef }>(["./views/*.ts", "!./views/*.test.ts"], { eager: true }),
).flatMap((m) => (m.view ? [m.view] : [])).sort((a, b) => a.order - b.order);

const parsed = parseUrl(location.search, VIEWS.map((v) => v.id), document.baseURI);
const app = new App(parsed.state);
const notes: string[] = [...parsed.warnings];
notes.push(...readMadeLink(app, parsed));
const showNotes = () => { $("link-note").textContent = notes.join("; "); };
showNotes();

// Navigation: links carry the whole state, so they also work opened in a new tab.
const nav = $("views");
const links = new Map<string, HTMLAnchorElement>();
for (const v of VIEWS) {
  const a = h("a", { href: "?", "data-view": v.id }, v.title);
  a.addEventListener("click", (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    show(v.id, true);
  });
  links.set(v.id, a);
  nav.append(h("li", {}, a));
}
function refreshLinks() {
  for (const [id, a] of links) {
    a.href = `?${toQuery({ ...app.state, view: id, autorun: false })}`;
    if (id === app.state.view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

let mounted: Mounted | null = null;
let mountedKey = "";
function show(id: string, push: boolean) {
  const def = VIEWS.find((v) => v.id === id) ?? VIEWS[0]!;
  if (push && def.id !== app.state.view) history.pushState(null, "", `?${toQuery({ ...app.state, view: def.id, autorun: false })}`);
  app.state.view = def.id;
  // A view is built anew for another model; one that needs emotion vectors says so instead
  // where the model has none.
  const missing = !!def.needsVectors && app.ready && !app.emotions;
  const key = `${def.id}:${app.generation}:${missing}`;
  if (mountedKey !== key) {
    mounted?.dispose();
    const root = $("view");
    root.replaceChildren();
    mounted = missing ? noVectorsView(root, app, def.title) : def.mount(root, app);
    mountedKey = key;
    document.title = `limbic — ${def.title}`;
  }
  app.update({});
  startModel();
}

// A view with engines of its own (Compare) shown first: the page's model waits until another
// view is shown, so that the tab does not hold a third engine it may never use.
let features: Features | null = null;
let started = false;
function startModel() {
  const def = VIEWS.find((v) => v.id === app.state.view);
  if (def?.ownEngines) {
    if (!started) $("status").textContent = "not loaded: this view runs its own models; the page's model loads when another view is shown";
    return;
  }
  if (started || !features) return;
  started = true;
  void menu.start(features);
}
app.on((e) => {
  if (e.type === "state") refreshLinks();
  if (e.type === "model" || e.type === "ready") show(app.state.view, false);
});
window.addEventListener("popstate", () => {
  const view = new URLSearchParams(location.search).get("view");
  show(view ?? "readout", false);
});

const menu = new ModelMenu(app, { root: $("model-menu"), sizeNote: $("size-note"), name: $("model-name"), credit: $("model-credit") });
watchLoading(app, {
  status: $("status"), progress: $("progress") as HTMLProgressElement, backend: $("backend"), notice: $("notice"), fallback: $("fallback"),
}, parsed, (w) => { notes.push(...w); showNotes(); }, () => mounted);

$("copy-link").addEventListener("click", async () => {
  const url = app.shareUrl();
  const field = $("share-url") as HTMLInputElement;
  field.value = url;
  try {
    await navigator.clipboard.writeText(url);
    $("copy-note").textContent = "copied";
  } catch {
    field.select(); // no clipboard permission: the link is selected to copy by hand
    $("copy-note").textContent = "select and copy the link";
  }
});

// Deletes the model kept in this browser (a damaged copy, or to free the space) and reloads.
$("clear-cache").addEventListener("click", async () => {
  await caches.delete(MODEL_CACHE);
  location.reload();
});

// For tests and demonstrations: destroy the WebGPU device as a lost one would be; move the
// model to another backend in place, on the CPU with 1 or 2 threads (resolves with the backend
// running then); read the
// engine's state (wasm memory in bytes, backend, whether a WebGPU device is open).
const ask = <T extends FromWorker["type"]>(type: T, send: ToWorker) => new Promise<Extract<FromWorker, { type: T }>>((ok, fail) => {
  const off = app.on((m) => {
    if (m.type === type || m.type === "error") {
      off();
      if (m.type === "error") fail(new Error(m.message));
      else ok(m as Extract<FromWorker, { type: T }>);
    }
  });
  app.post(send);
});
(window as unknown as { limbic: object }).limbic = {
  loseDevice: () => app.post({ type: "lose-device" }),
  setBackend: async (backend: Backend, threads?: number) => (await ask("backend", { type: "set-backend", backend, threads })).backend,
  engineState: () => ask("memory", { type: "memory" }),
  wasmMemory: async () => (await ask("memory", { type: "memory" })).wasmBytes,
};

show(app.state.view, false);
if (app.model.entry === DEFAULT_MODEL && !VIEWS.find((v) => v.id === app.state.view)?.ownEngines) void showExample($("example"), app);
embedPanel($("embed-panel"), app);
// What this browser lacks, said under the status; the engine is told to do without it.
features = await detectFeatures();
$("features").textContent = missingNotes(features).join(" ");
$("clear-cache").hidden = !features.cache;
startModel();
registerServiceWorker([...new Set([EMOTIONS_URL, app.model.entry?.vectorsUrl ?? EMOTIONS_URL])].map((u) => new URL(u, document.baseURI).href));
