//! Make a vector (`?view=make`): the visitor writes texts that show a concept (one per line,
//! at least four; examples preset) and optionally texts that show its opposite; the worker
//! reads each through the model (a progress bar) and builds the vector at every layer by the
//! emotions' own method (src/make.rs). Then its 10 nearest emotions, the tokens it promotes,
//! and a steer row with it (and one emotion beside it, as in Steer's rows): the unsteered and
//! steered replies side by side, same seed, and its readout trajectory: its score at every
//! token of the prompt (at once, one prompt pass) and of both replies (after Generate). Copy
//! link carries it (one layer in f16, in the fragment); it exports as JSON or a llama.cpp
//! control vector; a llama.cpp control vector (cvector-generator's or repeng's GGUF) can be
//! imported by file picker or drag and drop and steers as llama.cpp applies it; "Clear made
//! vectors" forgets them. The built-in emotions never change.

import type { App, ViewDef } from "../app";
import { h, option } from "../dom";
import type { MadeInfo, Steer } from "../engine/protocol";
import { MAX_IMPORT_BYTES, MAX_STRENGTH } from "../engine/protocol-check";
import { traceChart } from "../charts/experiments";
import { finiteMean, formatCell } from "../experiments/analysis";
import { replyText, type Run } from "../run-data";
import { downloadBlob } from "../share/download";
import { encodeMade, IMPORTED_STRENGTH, MADE_STRENGTH, MADE_STRENGTH_LIMIT, textsHash } from "../share/made-link";
import { formatStrength } from "../share/steer-text";
import { PRESETS } from "./make-presets";
import { runPanel } from "./run-panel";

/** Probe ids of the prompt's trace, apart from the Experiments' (which count from 1). */
let traceId = 2 ** 40;

/** Fewest concept texts (the engine checks it too). */
const MIN_TEXTS = 4;

/** Token 0 is the attention sink: its activation is not content (a vector is made from token 1
 * on, src/make.rs) and its score dwarfs the rest, so the trajectory leaves it out. */
const pastSink = (scores: number[]) => scores.map((v, i) => (i === 0 ? NaN : v));
const SINK_NOTE = "(Token 0, the attention sink, is left out.)";

const lines = (t: string) => t.split("\n").map((l) => l.trim()).filter(Boolean);

function mount(root: HTMLElement, app: App) {
  const scope = app.scope();
  /** The vector shown and steered with, and the hash of its texts. */
  let current: MadeInfo | null = null;
  let hash = "";
  /** The made vector read out in the last reply. */
  let traced = "";

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
    min: -MADE_STRENGTH_LIMIT, max: MADE_STRENGTH_LIMIT, step: 0.01, value: MADE_STRENGTH,
  });
  const strengthOut = h("output", { for: "make-strength" }, formatStrength(MADE_STRENGTH));
  const steerLabel = h("span", {}, "(make a vector first)");
  const strengthHelp = h("p", { class: "meta", id: "make-strength-help" });
  const importInput = h("input", { type: "file", id: "make-import", "data-testid": "make-import", accept: ".gguf" });
  const drop = h("div", { class: "drop-zone", id: "make-drop", "data-testid": "make-drop" },
    h("label", { for: "make-import" }, "Or import a llama.cpp control vector (.gguf, from cvector-generator or repeng): drop it here or choose it "), importInput);
  const trajectory = h("div", { id: "make-trajectory", "data-testid": "make-trajectory", class: "chart" });
  const trajectoryNote = h("p", { class: "meta", id: "make-trajectory-note" });
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
    app.fragment = current && !current.imported
      ? encodeMade({ name: current.name, hash, layer: current.steerLayer, strength: Number(strength.value), vector: current.vector })
      : "";
  };
  const buttons = () => {
    make.disabled = importInput.disabled = !app.ready || app.busy;
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

  /** Reads a control-vector file and hands it to the engine (which checks it against the model). */
  const importFile = async (f: File) => {
    if (!app.ready) {
      status.textContent = "Wait for the model to load, then import the file.";
      return;
    }
    if (f.size === 0 || f.size > MAX_IMPORT_BYTES) {
      status.textContent = `Error: ${f.name} has ${f.size} bytes; a control vector file has 1 to ${MAX_IMPORT_BYTES}.`;
      return;
    }
    status.textContent = `Reading ${f.name}…`;
    // After the reply (or prompt pass) under way, if any.
    await new Promise<void>((ok) => {
      if (!app.busy) return ok();
      const off = app.on((e) => { if (e.type === "busy" && !e.busy) { off(); ok(); } });
    });
    const base = f.name.replace(/\.gguf$/i, "").replace(/[\p{Cc}]/gu, "").trim().slice(0, 60);
    app.post({ type: "import-made", name: base || "imported vector", bytes: new Uint8Array(await f.arrayBuffer()) });
  };
  importInput.addEventListener("change", () => {
    const f = importInput.files?.[0];
    if (f) void importFile(f);
    importInput.value = "";
  });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (f) void importFile(f);
  });

  const show = (m: MadeInfo) => {
    const changed = current?.imported !== m.imported || current === null;
    current = m;
    if (changed) {
      // A control vector's strength is llama.cpp's scale; a made one's a fraction of the residual norm.
      const limit = m.imported ? MAX_STRENGTH : MADE_STRENGTH_LIMIT;
      strength.min = String(-limit);
      strength.max = String(limit);
      strength.step = m.imported ? "0.05" : "0.01";
      if (m.imported) strength.value = String(IMPORTED_STRENGTH);
      strengthOut.textContent = formatStrength(Number(strength.value));
    }
    strengthHelp.textContent = m.imported
      ? `${m.name} is a control vector read from a file: strength is llama.cpp's scale (1 adds the file as it is, at its ${m.layers} layers). A link cannot carry it: share the file.`
      : `Strength is a fraction of the residual norm at layer ${m.steerLayer}.`;
    neighbours.replaceChildren(...m.neighbours.map(([e, c]) => h("li", {}, `${e} `, h("span", { class: "meta" }, c.toFixed(3)))));
    lens.textContent = `Tokens it promotes (logit lens at layer ${m.shownLayer}): ${m.lens.map((t) => JSON.stringify(t)).join(", ")}`;
    steerLabel.textContent = m.imported ? `${m.name} (added at ${m.layers} layers) ` : `${m.name} (added at layer ${m.steerLayer}) `;
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
    strengthHelp.textContent = "";
    trajectory.replaceChildren();
    trajectoryNote.textContent = "";
    steerLabel.textContent = "(make a vector first)";
    status.textContent = "Made vectors cleared; the built-in emotions are unchanged.";
    buttons();
  });

  const draw = () => {
    baseBox.textContent = replyText(app.runs.baseline);
    mainBox.textContent = replyText(app.runs.main);
  };
  /** The made vector's score at each prompt token, read at once (a prompt pass, no reply). */
  let waiting = 0;
  const tracePrompt = (m: MadeInfo) => {
    if (!app.ready || app.busy || !app.state.prompt.trim()) return;
    const id = waiting = ++traceId;
    traced = m.name;
    app.setBusy(true);
    // Busy ends with the answer even when this view is gone by then (its scope with it).
    const off = app.on((e) => {
      if ((e.type === "probe-result" && e.id === id) || e.type === "error") { off(); app.setBusy(false); }
    });
    app.post({ type: "probe", id, prompt: app.state.prompt, chat: true, steer: [], words: [], layer: app.layer(), trace: m.name });
  };
  const drawPromptTrace = (scores: number[]) => {
    const values = pastSink(scores);
    trajectory.replaceChildren(traceChart([{ name: "prompt", values }], values.length, traced, Math.max(320, trajectory.clientWidth || 640)));
    trajectoryNote.textContent = `${traced} read out at layer ${current?.shownLayer ?? "?"} over the prompt's ${values.length} tokens: ` +
      `mean ${formatCell(finiteMean(values), 2)}. ${SINK_NOTE} Generate to see it over the replies.`;
  };
  /** The made vector's score at each token of the prompt and of each reply. */
  const drawTrajectory = () => {
    const name = traced;
    const runs = ([["unsteered", app.runs.baseline], ["steered", app.runs.main]] as [string, Run | undefined][])
      .filter(([, r]) => r?.tokens.some((t) => typeof t.trace === "number"));
    if (!name || !runs.length) return;
    const promptLen = runs[0]![1]!.tokens.filter((t) => t.kind !== "reply").length;
    const series = runs.map(([label, r]) => ({ name: label, values: pastSink(r!.tokens.map((t) => t.trace ?? NaN)) }));
    trajectory.replaceChildren(traceChart(series, promptLen, name, Math.max(320, trajectory.clientWidth || 640)));
    trajectoryNote.textContent = `${name} read out at layer ${current?.shownLayer ?? "?"}, (x − centre) · v̂ as an emotion's score: ` +
      `prompt mean ${formatCell(finiteMean(series[0]!.values.slice(0, promptLen)), 2)}; ` +
      series.map((s) => `${s.name} reply mean ${formatCell(finiteMean(s.values.slice(promptLen)), 2)}`).join(", ") +
      `. ${series.length > 1 ? "Dashed: without steering; solid: steered. " : ""}${SINK_NOTE}`;
  };
  scope.on((e) => {
    if (e.type === "busy" || e.type === "ready" || e.type === "state") buttons();
    if (e.type === "ready" || e.type === "state") fromState();
    if (e.type === "make-progress") {
      progress.value = e.done / e.total;
      status.textContent = `Read ${e.done} of ${e.total} texts…`;
    } else if (e.type === "made") {
      if (e.source === "file") {
        status.textContent = `Imported "${e.made.name}": a control vector of ${e.made.layers} layers, ready to steer.`;
      } else if (e.source === "texts") {
        app.setBusy(false);
        status.textContent = `Made "${e.made.name}" from ${lines(texts.value).length + lines(opposite.value).length} texts in ${(e.ms / 1000).toFixed(1)} s.`;
      } else {
        status.textContent = `"${e.made.name}" from the link is ready to steer (its texts' hash: ${hash || "none"}; the texts themselves stay with whoever made it).`;
      }
      if (e.source !== "file") app.hashes.set(e.made.name, hash);
      show(e.made);
      tracePrompt(e.made);
    } else if (e.type === "probe-result" && e.id === waiting) {
      waiting = 0;
      drawPromptTrace(Array.from(e.trace));
    } else if (e.type === "exported") {
      const type = e.format === "json" ? "application/json" : "application/octet-stream";
      downloadBlob(new Blob([e.bytes as Uint8Array<ArrayBuffer>], { type }), `${e.name.replace(/[^\w-]+/g, "_")}.${e.format}`);
    } else if (e.type === "error") {
      waiting = 0;
      status.textContent = `Error: ${e.message}`;
    } else if (e.type === "generate-start" || e.type === "token" || e.type === "done") {
      draw();
      if (e.type === "done") drawTrajectory();
      if (e.type === "generate-start") { trajectory.replaceChildren(); trajectoryNote.textContent = ""; }
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
    traced = made[0]!.name;
    app.generate([...made, ...app.state.steer.slice(0, 1)], true, { trace: traced });
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
    drop,
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
      strengthHelp,
      h("div", { class: "steer-row" }, h("label", { for: "make-emotion" }, "beside an emotion "), emotion,
        h("label", { for: "make-emotion-strength" }, " strength "), emotionStrength, emotionOut)),
    h("div", { class: "compare" },
      h("section", { class: "pane baseline-pane", "aria-label": "unsteered reply" }, h("h3", {}, "without steering"), baseBox),
      h("section", { class: "pane", "aria-label": "steered reply" }, h("h3", {}, "steered"), mainBox)),
    h("section", { "aria-label": "readout trajectory of the made vector" },
      h("h3", {}, "Its readout on the prompt and the replies"),
      trajectoryNote,
      trajectory),
  );
  for (const m of app.made.values()) show(m);
  fromState();
  buttons();
  draw();
  return { dispose: () => { scope.dispose(); app.fragment = ""; }, generate };
}

export const view: ViewDef = { id: "make", title: "Make", order: 1.5, needsVectors: true, mount };
