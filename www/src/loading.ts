//! The model's loading as the page and the embed show it: status line, progress bar, notices,
//! the backend badge; once ready, the link's names are checked against the vectors and a
//! link's autorun starts.

import type { App, Mounted } from "./app";
import { explainLoadError } from "./engine/features";
import { checkNames, type ParsedUrl } from "./share/url-state";
import { carriesMade, decodeMade } from "./share/made-link";

export interface LoadingElements {
  status: HTMLElement;
  progress: HTMLProgressElement;
  backend: HTMLElement;
  notice?: HTMLElement | null;
  fallback?: HTMLElement | null;
}

/** Shows `app`'s loading in `els`; `warn` hears the link's problems found once the vectors are
 * known; `mounted` is the view an autorun link starts. */
export function watchLoading(app: App, els: LoadingElements, parsed: ParsedUrl, warn: (w: string[]) => void, mounted: () => Mounted | null) {
  // Why this backend runs: from `ready`, until a move elsewhere (the soak's, a lost device).
  let why = "";
  const showBackend = (backend: string, fallback: string | undefined) => {
    const name = backend === "cpu" ? "CPU (WebAssembly)" : "WebGPU";
    els.backend.textContent = name;
    els.backend.title = fallback ? `WebGPU unavailable: ${fallback}` : why;
    if (els.fallback) els.fallback.textContent = fallback ? `Running on the CPU: ${fallback}` : why && `${name}: ${why}`;
  };
  let readyText = "";
  app.on((m) => {
    if (m.type === "progress") {
      els.progress.value = m.total ? m.loaded / m.total : 0;
      const mb = (n: number) => (n / 1e6).toFixed(1);
      els.status.textContent = m.cached
        ? `loading ${app.model.name} from this browser's cache…`
        : `${app.model.file ? "reading" : "downloading"} ${app.model.name}: ${mb(m.loaded)} of ${m.total ? mb(m.total) : "?"} MB (${m.total ? Math.round((100 * m.loaded) / m.total) : "?"} %)`;
    } else if (m.type === "notice") {
      if (els.notice) els.notice.textContent = m.message;
    } else if (m.type === "backend") {
      why = "";
      showBackend(m.backend, m.fallback);
      // A move to another backend reloads the model from the cache (progress above): ready again.
      if (readyText) els.status.textContent = readyText;
    } else if (m.type === "model") {
      // Another model: what the link said about steering and autorun was for the first one.
      parsed.steerText = "";
      parsed.state.autorun = false;
      readyText = "";
      els.progress.value = 0;
      els.status.textContent = `starting ${app.model.name}…`;
      els.backend.textContent = "loading…";
      els.backend.title = "";
      if (els.fallback) els.fallback.textContent = "";
      if (els.notice) els.notice.textContent = "";
    } else if (m.type === "ready") {
      els.progress.value = 1;
      const names = m.emotions?.names ?? [];
      readyText = `${app.model.name} ready (${m.nLayer} layers, d = ${m.dModel}, ${m.emotions ? `${names.length} emotions` : "no emotion vectors"}${m.chat ? "" : ", no chat template"})`;
      els.status.textContent = readyText;
      why = m.reason;
      showBackend(m.backend, m.fallback);
      // A link's made vector may be one of its steer rows.
      const steerable = app.madeLink ? [...names, app.madeLink.name] : names;
      const checked = checkNames(app.state, parsed.steerText, steerable, m.nLayer, m.emotions?.defaultStrength);
      warn(checked.warnings);
      if (checked.state.layer !== null) app.post({ type: "set-layer", layer: checked.state.layer });
      app.update(checked.state);
      const link = app.madeLink;
      if (link) {
        // The fragment's vector must fit this model; the engine checks it again.
        const why = link.vector.length !== m.dModel ? `the link's made vector has ${link.vector.length} values; this model's residual stream has ${m.dModel}`
          : link.layer >= m.nLayer ? `the link's made vector steers at layer ${link.layer}; the model has ${m.nLayer}` : "";
        if (why) {
          warn([why]);
          app.madeLink = null;
          return;
        }
        app.hashes.set(link.name, link.hash);
        app.post({ type: "add-made", name: link.name, layer: link.layer, vector: link.vector });
      }
      if (parsed.state.autorun) mounted()?.generate?.();
    } else if (m.type === "error") {
      els.status.textContent = `error: ${app.ready ? m.message : explainLoadError(m.message)}`;
      if (!app.ready && els.notice) els.notice.textContent = "Reload to try again, or clear the cache if this persists.";
    }
  });
}

/** A made vector in the page's fragment: kept to hand to the engine once it is ready. A
 * malformed one is refused (the returned note says why) and nothing runs. */
export function readMadeLink(app: App, parsed: ParsedUrl): string[] {
  if (!carriesMade(location.hash)) return [];
  const made = decodeMade(location.hash);
  if (made.ok) {
    app.madeLink = made.made;
    return [];
  }
  parsed.state.autorun = false;
  return [made.error];
}
