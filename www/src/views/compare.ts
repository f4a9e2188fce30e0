//! Compare models (`?view=compare&a=…&b=…`): one prompt, one steer (an emotion and a strength),
//! one temperature and seed, and one readout setting on two models side by side, each in an
//! engine worker of its own (compare-side.ts) with its own emotion vectors, and the two
//! validation summaries beside each other. The two replies generate in parallel (each worker
//! computes on its own); Stop stops both. While this view is shown first, the page's own model
//! does not load (ownEngines).

import type { App, ViewDef } from "../app";
import { MODELS } from "../config";
import { h, option } from "../dom";
import { detectFeatures, type Features } from "../engine/features";
import { choose } from "../models";
import { DEFAULT_STRENGTH, formatStrength, parseSteers, STRENGTH_LIMIT } from "../share/steer-text";
import { MAX_PROMPT_CHARS, TOP, wellFormed } from "../share/url-state";
import { Side } from "./compare-side";
import { numeric } from "./run-panel";

/** docs/validation/comparison.md (scripts/compare_models.py) in the build, if it is written. */
const COMPARISON = Object.values(import.meta.glob<string>("../../../docs/validation/comparison.md", { query: "?url", import: "default", eager: true }))[0];

function mount(root: HTMLElement, app: App) {
  const s = app.state;
  let features: Features | null = null;
  let disposed = false;

  const prompt = h("textarea", { id: "compare-prompt", "data-testid": "prompt-input", rows: 3, maxlength: MAX_PROMPT_CHARS });
  prompt.value = s.prompt;
  prompt.addEventListener("input", () => app.update({ prompt: wellFormed(prompt.value) }));
  const max = h("input", { id: "compare-max", "data-testid": "max-tokens", type: "number", min: 1, max: 1024, value: s.maxTokens });
  const temperature = h("input", { id: "compare-temperature", "data-testid": "temperature", type: "number", min: 0, max: 2, step: 0.1, value: s.temperature });
  const seed = h("input", { id: "compare-seed", "data-testid": "seed", type: "number", min: 0, max: 4294967295, value: s.seed });
  numeric(app, max, "maxTokens", true);
  numeric(app, temperature, "temperature", false);
  numeric(app, seed, "seed", true);
  const steerName = h("select", { id: "compare-steer", "data-testid": "steer-emotion" });
  const strength = h("input", { id: "compare-strength", "data-testid": "steer-strength", type: "range", min: -STRENGTH_LIMIT, max: STRENGTH_LIMIT, step: 0.01, value: DEFAULT_STRENGTH });
  const strengthOut = h("output", { for: "compare-strength" }, formatStrength(DEFAULT_STRENGTH));
  // The steer comes from the page's state (another view's, or a link's `steer=`: its first
  // term), and goes back there, so that Copy link carries it.
  const given = app.state.steer[0] ?? parseSteers(new URLSearchParams(location.search).get("steer") ?? "").steers[0] ?? null;
  let wanted = given?.name ?? "";
  if (given) strength.value = String(given.strength);
  strengthOut.textContent = formatStrength(Number(strength.value));
  const commitSteer = () => {
    wanted = steerName.value;
    app.update({ steer: steerName.value ? [{ name: steerName.value, strength: Number(strength.value) }] : [] });
  };
  strength.addEventListener("input", () => { strengthOut.textContent = formatStrength(Number(strength.value)); commitSteer(); });
  steerName.addEventListener("change", commitSteer);
  const colourBy = h("select", { id: "compare-colour", "data-testid": "colour-emotion" });
  const generate = h("button", { type: "button", id: "compare-generate", "data-testid": "generate-button", class: "primary" }, "Generate both");
  const stop = h("button", { type: "button", id: "compare-stop", "data-testid": "stop-button" }, "Stop both");
  const announce = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite", "data-testid": "compare-announce" });
  const columns = h("div", { class: "compare-columns" });

  const sides: Side[] = [];
  const links = [s.compareA, s.compareB];
  const pickers = ["A", "B"].map((label, i) => {
    const sel = h("select", { id: `compare-model-${label.toLowerCase()}`, "data-testid": `compare-model-${label.toLowerCase()}` });
    const c = choose(links[i]!, null);
    sel.replaceChildren(...MODELS.map((e) => option(e.id, e.name)), ...(c.entry ? [] : [option(c.link, `${c.name} (another GGUF)`)]));
    sel.value = c.link;
    sel.addEventListener("change", () => {
      app.update(i === 0 ? { compareA: sel.value } : { compareB: sel.value });
      place(i, sel.value);
    });
    return h("label", {}, `Model ${label} `, sel);
  });

  /** The emotions either side can steer or colour by, in the order they come. */
  const names = () => [...new Set(sides.flatMap((x) => x.app.emotions?.names ?? []))];
  let listed = "";
  const refresh = () => {
    const all = names();
    if (all.join("\n") !== listed) {
      listed = all.join("\n");
      steerName.replaceChildren(option("", "(none)"), ...all.map((n) => option(n, n)));
      steerName.value = all.includes(wanted) ? wanted : "";
      colourBy.replaceChildren(option(TOP, "top emotion per token"), ...all.map((n) => option(n, n)));
      colourBy.value = all.includes(s.emotion) ? s.emotion : TOP;
    }
    const busy = sides.some((x) => x.app.busy);
    generate.disabled = busy || !sides.some((x) => x.app.ready);
    stop.disabled = !busy;
    if (!busy && announce.dataset.running === "1") {
      announce.dataset.running = "";
      announce.textContent = `Both replies ended. ${sides.map((x) => `${x.app.model.short}: ${x.replyText()}`).join(" ")}`;
    }
  };
  colourBy.addEventListener("change", () => {
    app.update({ emotion: colourBy.value });
    for (const x of sides) { x.emotion = colourBy.value; x.draw(); }
  });

  /** Side `i` runs `link` (a new engine in place of the old one). */
  function place(i: number, link: string) {
    sides[i]?.dispose();
    const side = new Side(i === 0 ? "A" : "B", link, s, refresh);
    side.emotion = s.emotion;
    sides[i] = side;
    columns.replaceChildren(...sides.map((x) => x.el));
    if (features) void side.load(features);
    listed = "\u0000";
    refresh();
  }
  place(0, s.compareA);
  place(1, s.compareB);

  const run = () => {
    if (generate.disabled) return;
    // A typed number not yet committed with Enter/blur counts too.
    for (const el of [max, temperature, seed]) el.dispatchEvent(new Event("change"));
    const steer = steerName.value ? { name: steerName.value, strength: Number(strength.value) } : null;
    for (const x of sides) x.generate(app.state, steer);
    announce.dataset.running = "1";
    announce.textContent = `Generating on both models… ${sides.map((x) => x.failed).filter(Boolean).join("; ")}`;
    refresh();
  };
  generate.addEventListener("click", run);
  stop.addEventListener("click", () => { for (const x of sides) x.stop(); });
  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });

  void detectFeatures().then((f) => {
    if (disposed) return;
    features = f;
    for (const x of sides) void x.load(f);
  });

  root.append(
    h("h2", {}, "Compare models"),
    h("p", { class: "meta" },
      "The same prompt, steer and readout on two models, each in an engine of its own with its own emotion vectors. " +
      "Both replies generate at the same time (each model on its own worker), sampled with the same temperature and seed; Stop stops both. " +
      "Each side says its model's size before it downloads and refuses a file too large for this tab. A model without a chat template continues the prompt as plain text; " +
      "one without emotion vectors writes without a readout or steering. Strength is a fraction of each model's own residual norm."),
    h("section", { class: "run", "aria-label": "prompt and settings" },
      h("div", { class: "controls" }, ...pickers),
      h("label", { for: "compare-prompt" }, "Prompt"),
      prompt,
      h("div", { class: "controls" },
        h("label", {}, "max tokens ", max),
        h("label", {}, "temperature ", temperature),
        h("label", {}, "seed ", seed),
        h("label", {}, "steer with ", steerName),
        h("label", { for: "compare-strength" }, "strength "), strength, strengthOut,
        h("label", {}, "colour tokens by ", colourBy)),
      h("div", { class: "controls" }, generate, stop, h("span", { class: "meta" }, "Ctrl+Enter generates")),
      announce),
    columns,
    h("p", { class: "meta" }, COMPARISON
      ? h("a", { href: COMPARISON }, "The two models' validation compared (comparison.md)")
      : "The validation comparison (docs/validation/comparison.md, written by scripts/compare_models.py) is not in this build yet."),
  );
  return {
    dispose() {
      disposed = true;
      for (const x of sides) x.dispose();
    },
  };
}

export const view: ViewDef = { id: "compare", title: "Compare models", order: 3.5, ownEngines: true, mount };
