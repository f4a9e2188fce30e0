//! Steer: up to three emotions with strength sliders (fraction of the residual norm), the
//! unsteered and steered replies side by side (same seed, streaming), both with their readout.
//! Vectors made in the Make view (or carried by the link) are rows too, listed after the
//! emotions; a control vector read from a file steers at llama.cpp's scale.

import type { App, ViewDef } from "../app";
import { DRAW_MS, frameThrottle, h, madeGroup, option } from "../dom";
import type { Steer } from "../engine/protocol";
import type { Token } from "../run-data";
import { DEFAULT_STRENGTH, formatStrength, MAX_STEERS, STRENGTH_LIMIT } from "../share/steer-text";
import { MAX_STRENGTH } from "../engine/protocol-check";
import { IMPORTED_STRENGTH, MADE_STRENGTH } from "../share/made-link";
import { readings } from "./smoothing";
import { colouring, renderLegend, TokenStream } from "./tokens";
import { colourBySelect, TokenReadout } from "./widgets";
import { runPanel } from "./run-panel";
import { modelNotes } from "./model-notes";
import { loadReport, steerVerdict } from "./report";
import type { Report } from "./report";

/** Test ids: the first row keeps the plain names the outside tests know. */
const testId = (base: string, i: number) => (i === 0 ? base : `${base}-${i + 1}`);

interface Row {
  name: HTMLSelectElement;
  strength: HTMLInputElement;
  value: HTMLOutputElement;
}

function mount(root: HTMLElement, app: App) {
  const scope = app.scope();
  const readout = new TokenReadout(app);
  let picked = false;
  const pick = (t: Token) => { picked = true; readout.show(t); };
  const defaultStrength = () => app.emotions?.defaultStrength ?? DEFAULT_STRENGTH;

  const rows: Row[] = Array.from({ length: MAX_STEERS }, (_, i) => ({
    name: h("select", { id: `steer-emotion-${i + 1}`, "data-testid": testId("steer-emotion", i) }),
    strength: h("input", {
      id: `steer-strength-${i + 1}`, "data-testid": testId("steer-strength", i), type: "range",
      min: -STRENGTH_LIMIT, max: STRENGTH_LIMIT, step: 0.01, value: DEFAULT_STRENGTH,
    }),
    value: h("output", { for: `steer-strength-${i + 1}` }, String(DEFAULT_STRENGTH)),
  }));

  /** The rows as steers (rows without an emotion are left out). */
  const steers = (): Steer[] => rows.filter((r) => r.name.value).map((r) => ({ name: r.name.value, strength: Number(r.strength.value) }));
  const commit = () => app.update({ steer: steers() });
  /** A row's slider range: a control vector from a file steers at llama.cpp's scale. */
  const range = (r: Row) => {
    const limit = app.made.get(r.name.value)?.imported ? MAX_STRENGTH : STRENGTH_LIMIT;
    r.strength.min = String(-limit);
    r.strength.max = String(limit);
  };
  let listed = "";
  /** Rows from the state: names and strengths of its steers, the rest empty. */
  const fromState = () => {
    const names = app.emotions?.names ?? [];
    const made = [...app.made.keys()];
    const key = `${names.length}|${made.join("\n")}`;
    rows.forEach((r, i) => {
      if (key !== listed) r.name.replaceChildren(option("", "(none)"), ...names.map((n) => option(n, n)), ...madeGroup(made));
      const s = app.state.steer[i];
      r.name.value = s?.name ?? "";
      range(r);
      if (s) r.strength.value = String(s.strength);
      r.value.textContent = formatStrength(Number(r.strength.value));
    });
    listed = key;
  };
  for (const r of rows) {
    r.name.addEventListener("change", () => {
      range(r);
      // A newly chosen emotion starts at its own default strength (chosen by the steering sweep);
      // a made vector at the Make view's, a control vector from a file at 1 (the file as it is).
      const i = app.emotions?.names.indexOf(r.name.value) ?? -1;
      const made = app.made.get(r.name.value);
      const s = made ? (made.imported ? IMPORTED_STRENGTH : MADE_STRENGTH) : app.emotions?.steerStrength[i];
      if (s !== undefined) {
        r.strength.value = String(s);
        r.value.textContent = formatStrength(s);
      }
      commit();
    });
    r.strength.addEventListener("input", () => { r.value.textContent = formatStrength(Number(r.strength.value)); commit(); });
  }

  const reset = h("button", { type: "button", id: "steer-reset", "data-testid": "steer-reset" }, "Reset");
  reset.addEventListener("click", () => {
    for (const r of rows) {
      r.name.value = "";
      r.strength.value = String(defaultStrength());
      r.value.textContent = formatStrength(defaultStrength());
    }
    commit();
  });

  // What the validation measured for the emotions steered toward (the default model's report).
  const measured = h("p", { class: "meta", "data-testid": "steer-measured", role: "status" });
  let report: Report | null = null;
  loadReport().then((r) => { report = r; note(); }).catch(() => undefined);
  const note = () => {
    const r = report?.model_sha256 === app.model.sha256 ? report : null;
    const says = (r?.steering.measured ?? []).filter((m) => steers().some((s) => s.name === m.emotion))
      .map((m) => steerVerdict(m, r!.steering.unsteered_vader));
    measured.textContent = says.length ? `Measured in the validation report: ${says.join(" ")}` : "";
  };

  const baseBox = h("div", { class: "tokens", id: "baseline", "data-testid": "baseline-text", role: "group", "aria-label": "unsteered reply tokens; arrow keys move between tokens" });
  const mainBox = h("div", { class: "tokens", id: "output", "data-testid": "output-text", role: "group", "aria-label": "steered reply tokens; arrow keys move between tokens" });
  const baseStream = new TokenStream(baseBox, ["reply"], pick);
  const mainStream = new TokenStream(mainBox, ["reply"], pick);
  const mainTitle = h("h3", { class: "steered-title" }, "steered");
  const legend = h("ul", { class: "legend", "aria-label": "colour legend" });

  const draw = frameThrottle(() => {
    const names = app.emotions?.names ?? [];
    const base = app.runs.baseline?.tokens ?? [];
    const main = app.runs.main?.tokens ?? [];
    // One scale for both replies, so equal colours mean equal scores; each reply smoothed on its own.
    const layer = app.runs.main?.layer ?? app.layer();
    const r = readings(base, app.emotions, layer, app.window());
    readings(main, app.emotions, layer, app.window()).rows.forEach((v, t) => r.rows.set(t, v));
    const colours = colouring([...base, ...main].filter((t) => t.kind === "reply"), app.state.emotion, names, r);
    baseStream.sync(base, colours, names, r);
    mainStream.sync(main, colours, names, r);
    renderLegend(legend, colours);
    const run = app.runs.main;
    mainTitle.textContent = run?.steer.length
      ? `steered: ${run.steer.map((s) => `${s.name} ${formatStrength(s.strength)}`).join(", ")}`
      : run ? "no steering (choose an emotion above)" : "steered";
    const last = [...main].reverse().find((t) => t.kind === "reply" && t.scores);
    if (!picked && last) readout.show(last);
  }, DRAW_MS);

  const steersBox = h("fieldset", { class: "steers" },
    h("legend", {}, `Steer toward up to ${MAX_STEERS} emotions (strength: a fraction of the residual norm, split over the vectors' steering layers; a newly chosen emotion starts at its own default strength)`),
    ...rows.map((r, i) => h("div", { class: "steer-row" },
      h("label", { for: r.name.id }, `emotion ${i + 1} `), r.name,
      h("label", { for: r.strength.id }, " strength "), r.strength, r.value)),
    h("p", { class: "meta" }, `The default strengths come from the validation's steering sweep, which kept replies' perplexity within about 2× the unsteered replies'; much stronger, replies break down. ±${STRENGTH_LIMIT} is the range. Same seed for both replies. `,
      "Vectors made in the Make view are listed after the emotions (a control vector read from a file: strength is llama.cpp's scale, up to ±5)."),
    reset,
    measured,
  );
  /** Nothing to steer with when the model has no emotion vectors. */
  const fits = () => { steersBox.disabled = app.ready && !app.emotions; };

  scope.on((e) => {
    if (e.type === "ready") fits();
    if (e.type === "ready" || e.type === "state" || e.type === "made") { fromState(); note(); }
    if (e.type === "generate-start") { picked = false; baseStream.clear(); mainStream.clear(); }
    if (["token", "prompt", "state", "ready", "generate-start"].includes(e.type)) draw();
    if (e.type === "done") draw(true); // the last tokens now, not a redraw later
  });

  // From the state the rows mirror: a link's made vector is in it before its row can list it.
  const generate = () => app.generate(app.state.steer, true);
  root.append(
    h("h2", { class: "visually-hidden" }, "Steer"),
    runPanel(app, scope, generate),
    modelNotes(app, scope, "there is nothing to steer with, and Generate writes one unsteered reply"),
    steersBox,
    h("div", { class: "controls" }, h("label", {}, "colour tokens by ", colourBySelect(app, scope))),
    legend,
    h("div", { id: "replies", class: "compare" },
      h("section", { class: "pane baseline-pane", "aria-label": "unsteered reply" }, h("h3", {}, "without steering"), baseBox),
      h("section", { class: "pane", "aria-label": "steered reply" }, mainTitle, mainBox),
    ),
    readout.el,
  );
  fits();
  fromState();
  draw();
  return { dispose: () => scope.dispose(), generate };
}

export const view: ViewDef = { id: "steer", title: "Steer", order: 1, mount };
