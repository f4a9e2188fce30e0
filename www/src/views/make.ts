//! Make a vector (`?view=make`): the visitor writes texts that show a concept (one per line,
//! at least four; examples preset) and optionally texts that show its opposite; the worker
//! reads each through the model (a progress bar) and builds the vector at every layer by the
//! emotions' own method (src/make.rs). Then its 10 nearest emotions, the tokens it promotes,
//! and a steer row with it (and one emotion beside it, as in Steer's rows): the unsteered and
//! steered replies side by side, same seed. Copy link
//! carries it (one layer in f16, in the fragment); it exports as JSON or a llama.cpp control
//! vector; "Clear made vectors" forgets them. The built-in emotions never change.

import type { App, ViewDef } from "../app";
import { h, option } from "../dom";
import type { MadeInfo, Steer } from "../engine/protocol";
import { replyText } from "../run-data";
import { downloadBlob } from "../share/download";
import { encodeMade, MADE_STRENGTH_LIMIT, textsHash } from "../share/made-link";
import { formatStrength } from "../share/steer-text";
import { PRESETS } from "./make-presets";
import { runPanel } from "./run-panel";

/** Fewest concept texts (the engine checks it too). */
const MIN_TEXTS = 4;
const DEFAULT_STRENGTH = 0.3;

const lines = (t: string) => t.split("\n").map((l) => l.trim()).filter(Boolean);

function mount(root: HTMLElement, app: App) {
  const scope = app.scope();
  /** The vector shown and steered with, and the hash of its texts. */
  let current: MadeInfo | null = null;
  let hash = "";

  const preset = h("select", { id: "make-preset" }, option("", "(write your own)"), ...PRESETS.map((p) => option(p.name, p.name)));
  const name = h("input", { id: "make-name", type: "text", maxlength: 60, value: "my concept" });
  const texts = h("textarea", { id: "make-texts", "data-testid": "make-texts", rows: 6 });
  const opposite = h("textarea", { id: "make-opposite", "data-testid": "make-opposite", rows: 3 });
  const make = h("button", { type: "button", id: "make-button", "data-testid": "make-button", class: "primary" }, "Make vector");
  const progress = h("progress", { id: "make-progress", "data-testid": "make-progress", max: 1, value: 0, "aria-label": "texts read" });
  const status = h("p", { id: "make-status", class: "meta", role: "status", "aria-live": "polite" });
  const neighbours = h("ol", { id: "make-neighbours", "data-testid": "make-neighbours", class: "made-list" });
  const lens = h("p", { id: "make-lens", class: "meta" });
  const strength = h("input", {
    id: "make-strength", "data-testid": "make-steer", type: "range",
    min: -MADE_STRENGTH_LIMIT, max: MADE_STRENGTH_LIMIT, step: 0.01, value: DEFAULT_STRENGTH,
  });
  const strengthOut = h("output", { for: "make-strength" }, formatStrength(DEFAULT_STRENGTH));
  const steerLabel = h("span", {}, "(make a vector first)");
  // One emotion beside it, kept in the state's steer (and so in links) like the Steer view's rows.
  const emotion = h("select", { id: "make-emotion", "data-testid": "make-emotion" });
  const emotionStrength = h("input", {
    id: "make-emotion-strength", type: "range", min: -MADE_STRENGTH_LIMIT, max: MADE_STRENGTH_LIMIT, step: 0.01, value: 0.2,
  });
  const emotionOut = h("output", { for: "make-emotion-strength" }, formatStrength(0.2));
  const fromState = () => {
    const names = app.emotions?.names ?? [];
    if (emotion.options.length !== names.length + 1) emotion.replaceChildren(option("", "(none)"), ...names.map((n) => option(n, n)));
    const s = app.state.steer[0];
    emotion.value = s?.name ?? "";
    if (s) emotionStrength.value = String(s.strength);
    emotionOut.textContent = formatStrength(Number(emotionStrength.value));
  };
  const commitEmotion = () => {
    emotionOut.textContent = formatStrength(Number(emotionStrength.value));
    app.update({ steer: emotion.value ? [{ name: emotion.value, strength: Number(emotionStrength.value) }] : [] });
  };
  emotion.addEventListener("change", commitEmotion);
  emotionStrength.addEventListener("input", commitEmotion);
  const exportJson = h("button", { type: "button", id: "make-export-json", "data-testid": "make-export-json" }, "Export JSON");
  const exportGguf = h("button", { type: "button", id: "make-export-gguf", "data-testid": "make-export-gguf" }, "Export llama.cpp GGUF");
  const clear = h("button", { type: "button", id: "make-clear", "data-testid": "make-clear" }, "Clear made vectors");
  const baseBox = h("div", { class: "tokens", id: "make-baseline", "data-testid": "make-baseline" });
  const mainBox = h("div", { class: "tokens", id: "make-output", "data-testid": "make-output" });

  preset.addEventListener("change", () => {
    const p = PRESETS.find((x) => x.name === preset.value);
    if (!p) return;
    name.value = p.name;
    texts.value = p.texts.join("\n");
    opposite.value = "";
  });

  /** The steering now: the made vector at the slider's strength (none before one is made). */
  const steers = (): Steer[] => (current ? [{ name: current.name, strength: Number(strength.value) }] : []);
  /** Links made now carry the vector (one layer, f16) and its strength in the fragment. */
  const syncFragment = () => {
    app.fragment = current
      ? encodeMade({ name: current.name, hash, layer: current.steerLayer, strength: Number(strength.value), vector: current.vector })
      : "";
  };
  const buttons = () => {
    make.disabled = !app.ready || app.busy;
    exportJson.disabled = exportGguf.disabled = !current || !app.ready;
    clear.disabled = app.made.size === 0 && !current;
  };
  strength.addEventListener("input", () => { strengthOut.textContent = formatStrength(Number(strength.value)); syncFragment(); });

  make.addEventListener("click", async () => {
    const concept = lines(texts.value);
    const against = lines(opposite.value);
    if (concept.length < MIN_TEXTS) {
      status.textContent = `Write at least ${MIN_TEXTS} texts, one per line (${concept.length} so far).`;
      return;
    }
    hash = await textsHash(concept, against);
    progress.value = 0;
    status.textContent = `Reading ${concept.length + against.length} texts…`;
    app.setBusy(true);
    app.post({ type: "make", name: name.value.trim() || "my concept", texts: concept, opposite: against });
  });

  const show = (m: MadeInfo) => {
    current = m;
    neighbours.replaceChildren(...m.neighbours.map(([e, c]) => h("li", {}, `${e} `, h("span", { class: "meta" }, c.toFixed(3)))));
    lens.textContent = `Tokens it promotes (logit lens at layer ${m.shownLayer}): ${m.lens.map((t) => JSON.stringify(t)).join(", ")}`;
    steerLabel.textContent = `${m.name} (added at layer ${m.steerLayer}) `;
    syncFragment();
    buttons();
  };
  const exporter = (format: "json" | "gguf") => () => {
    if (current) app.post({ type: "export-made", name: current.name, format, strength: Number(strength.value) });
  };
  exportJson.addEventListener("click", exporter("json"));
  exportGguf.addEventListener("click", exporter("gguf"));
  clear.addEventListener("click", () => {
    app.clearMade();
    current = null;
    neighbours.replaceChildren();
    lens.textContent = "";
    steerLabel.textContent = "(make a vector first)";
    status.textContent = "Made vectors cleared; the built-in emotions are unchanged.";
    buttons();
  });

  const draw = () => {
    baseBox.textContent = replyText(app.runs.baseline);
    mainBox.textContent = replyText(app.runs.main);
  };
  scope.on((e) => {
    if (e.type === "busy" || e.type === "ready" || e.type === "state") buttons();
    if (e.type === "ready" || e.type === "state") fromState();
    if (e.type === "make-progress") {
      progress.value = e.done / e.total;
      status.textContent = `Read ${e.done} of ${e.total} texts…`;
    } else if (e.type === "made") {
      if (e.source === "texts") {
        app.setBusy(false);
        status.textContent = `Made "${e.made.name}" from ${lines(texts.value).length + lines(opposite.value).length} texts in ${(e.ms / 1000).toFixed(1)} s.`;
      } else {
        status.textContent = `"${e.made.name}" from the link is ready to steer (its texts' hash: ${hash || "none"}; the texts themselves stay with whoever made it).`;
      }
      show(e.made);
    } else if (e.type === "exported") {
      const type = e.format === "json" ? "application/json" : "application/octet-stream";
      downloadBlob(new Blob([e.bytes as Uint8Array<ArrayBuffer>], { type }), `${e.name.replace(/[^\w-]+/g, "_")}.${e.format}`);
    } else if (e.type === "error") {
      status.textContent = `Error: ${e.message}`;
    } else if (e.type === "generate-start" || e.type === "token" || e.type === "done") {
      draw();
    }
  });

  // A link's vector: its name and strength, until the engine describes it.
  if (app.madeLink) {
    strength.value = String(app.madeLink.strength);
    strengthOut.textContent = formatStrength(app.madeLink.strength);
    hash = app.madeLink.hash;
  }
  const generate = () => {
    const link = app.madeLink;
    const made = current ? steers() : link ? [{ name: link.name, strength: link.strength }] : [];
    if (!made.length) {
      status.textContent = "Make a vector first, then steer with it.";
      return;
    }
    app.generate([...made, ...app.state.steer.slice(0, 1)], true);
  };

  root.append(
    h("h2", {}, "Make a vector"),
    h("p", {}, "Write at least four short texts that show a concept, one per line. Each is read through the model; the vector at every layer is the mean of the texts' activations minus a baseline (your opposite texts, or else the mean over all 171 emotions), with the neutral directions projected out — the method the emotion vectors were made with. Your texts stay in this browser."),
    h("div", { class: "controls" }, h("label", { for: "make-preset" }, "example "), preset, h("label", { for: "make-name" }, " name "), name),
    h("label", { for: "make-texts" }, "Texts that show the concept (one per line, at least 4)"),
    texts,
    h("label", { for: "make-opposite" }, "Texts that show its opposite (optional, one per line)"),
    opposite,
    h("div", { class: "controls" }, make, progress, clear),
    status,
    h("section", { "aria-label": "the made vector" },
      h("h3", {}, "Nearest emotions (cosine)"),
      neighbours,
      lens,
      h("div", { class: "controls" }, exportJson, exportGguf)),
    runPanel(app, scope, generate),
    h("fieldset", { class: "steers" },
      h("legend", {}, "Steer with the made vector (strength: a fraction of the residual norm, added at one layer)"),
      h("div", { class: "steer-row" }, steerLabel, h("label", { for: "make-strength" }, " strength "), strength, strengthOut),
      h("div", { class: "steer-row" }, h("label", { for: "make-emotion" }, "beside an emotion "), emotion,
        h("label", { for: "make-emotion-strength" }, " strength "), emotionStrength, emotionOut)),
    h("div", { class: "compare" },
      h("section", { class: "pane baseline-pane", "aria-label": "unsteered reply" }, h("h3", {}, "without steering"), baseBox),
      h("section", { class: "pane", "aria-label": "steered reply" }, h("h3", {}, "steered"), mainBox)),
  );
  for (const m of app.made.values()) show(m);
  fromState();
  buttons();
  draw();
  return { dispose: () => { scope.dispose(); app.fragment = ""; }, generate };
}

export const view: ViewDef = { id: "make", title: "Make", order: 1.5, mount };
