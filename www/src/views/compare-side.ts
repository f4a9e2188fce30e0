//! One side of the Compare view: a model in an engine worker of its own (an `App` of its own,
//! so the same worker, protocol and run bookkeeping as the page's), its size said before it
//! loads (the model menu's checkSize: a file too large for the tab is refused, its engine never
//! started), its loading line, what it lacks (no chat template, no emotion vectors:
//! model-notes.ts), its reply coloured by its own readout (tokens.ts), and the summary of its
//! validation report.

import { App, type Scope } from "../app";
import { DEFAULT_MODEL } from "../config";
import { h } from "../dom";
import { explainLoadError, type Features } from "../engine/features";
import { speedText, type Steer } from "../engine/protocol";
import { checkSize } from "../model-menu";
import { type ModelChoice, sizeNote } from "../models";
import { replyText, type Token } from "../run-data";
import type { AppState } from "../share/url-state";
import { TOP } from "../share/url-state";
import { formatStrength } from "../share/steer-text";
import { modelNotes } from "./model-notes";
import { intervalText, type ReportSummary, summariseReport } from "./report";
import { readings } from "./smoothing";
import { colouring, renderLegend, tokenTitle, TokenStream } from "./tokens";

/** What a reply runs with: both sides are given the same. */
export type RunSettings = Pick<AppState, "prompt" | "maxTokens" | "temperature" | "seed">;

/** The validation reports in the build, by path: `limbic validate` writes the default model's
 * to docs/validation/report.json and another entry's to docs/validation/<id>/report.json. A
 * glob, not an import, so that a model without a report yet leaves the build as it is. */
const REPORTS = import.meta.glob<string>("../../../docs/validation/**/report.json", { query: "?url", import: "default", eager: true });

/** The address of `c`'s validation report in the build, or null when it has none. */
export function reportUrlFor(c: ModelChoice): string | null {
  if (!c.entry) return null;
  const path = c.entry === DEFAULT_MODEL ? "report.json" : `${c.entry.id}/report.json`;
  return REPORTS[`../../../docs/validation/${path}`] ?? null;
}

/** The rows of the validation summary: label, then the value as text ("—" where missing). */
export function summaryRows(s: ReportSummary): [string, string][] {
  const or = <T>(v: T | null, f: (v: T) => string) => (v === null ? "—" : f(v));
  return [
    ["readout layer", or(s.layer, String)],
    ["test top-1 (95 % interval)", or(s.top1, intervalText)],
    ["test top-5 (95 % interval)", or(s.top5, intervalText)],
    ["valence |r| (best PC)", or(s.valence, (v) => v.toFixed(2))],
    ["arousal |r| (best PC)", or(s.arousal, (v) => v.toFixed(2))],
    ["intensity AUC (emotional vs neutral tokens)", or(s.auc, (v) => v.toFixed(3))],
  ];
}

export class Side {
  readonly app: App;
  readonly el: HTMLElement;
  private readonly scope: Scope;
  private readonly status = h("p", { class: "meta", "data-testid": "side-status", role: "status" });
  private readonly size = h("p", { class: "meta", "data-testid": "side-size" });
  private readonly progress = h("progress", { max: 1, value: 0 });
  private readonly loading = h("label", { class: "meta" }, "loading ", this.progress);
  private readonly steerNote = h("p", { class: "meta", "data-testid": "side-steer" });
  private readonly replyBox: HTMLElement;
  private readonly stream: TokenStream;
  private readonly legend = h("ul", { class: "legend", "aria-label": "colour legend" });
  private readonly picked = h("p", { class: "meta", "data-testid": "side-token" });
  private readonly speed = h("p", { class: "meta", "data-testid": "side-speed" });
  private readonly validation = h("section", { class: "validation", "data-testid": "side-validation" });
  /** What the tokens are coloured by: an emotion's name, or TOP. */
  emotion = TOP;
  private started = 0;
  private tokens = 0;
  /** Why the last reply could not start here ("" when it ran). */
  failed = "";
  private disposed = false;

  /** `label`: "A" or "B"; `state`: the page's (copied: a side never writes the address bar). */
  constructor(readonly label: string, link: string, state: AppState, private readonly onChange: () => void) {
    this.app = new App({ ...state, model: link, vectors: null, steer: [], layer: null, window: null });
    this.scope = this.app.scope();
    const m = this.app.model;
    const headingId = `compare-${label.toLowerCase()}-heading`;
    this.replyBox = h("div", { class: "tokens", "data-testid": "side-reply", role: "group", "aria-label": `${m.name}'s reply tokens; arrow keys move between tokens` });
    this.stream = new TokenStream(this.replyBox, ["reply"], (t) => this.pick(t));
    this.el = h("section", { class: "compare-side", "data-testid": `compare-side-${label.toLowerCase()}`, "aria-labelledby": headingId },
      h("h3", { id: headingId }, `${label}: ${m.name}`),
      h("p", { class: "meta" }, m.entry?.kind ?? "another GGUF"),
      this.size,
      this.loading,
      this.status,
      modelNotes(this.app, this.scope, "readout and steering are off on this side"),
      this.steerNote,
      this.replyBox,
      this.picked,
      this.legend,
      this.speed,
      this.validation,
    );
    this.status.textContent = `starting ${m.name}…`;
    this.scope.on((e) => {
      if (e.type === "progress") {
        this.progress.value = e.total ? e.loaded / e.total : 0;
        this.status.textContent = e.cached ? `loading ${m.name} from this browser's cache…` : `downloading ${m.name}: ${(e.loaded / 1e6).toFixed(1)} MB`;
      } else if (e.type === "ready") {
        this.progress.value = 1;
        const v = e.emotions ? `${e.emotions.names.length} emotions, readout layer ${this.app.layer()}` : "no emotion vectors";
        this.status.textContent = `${m.name} ready (${e.backend === "cpu" ? "CPU" : "WebGPU"}, ${e.nLayer} layers, ${v}${e.chat ? "" : ", plain text"})`;
      } else if (e.type === "error" && !this.app.ready) {
        this.status.textContent = `Could not load ${m.name}: ${explainLoadError(e.message)}`;
      } else if (e.type === "error") {
        this.speed.textContent = `Error: ${e.message}`;
      } else if (e.type === "run-start") {
        this.started = performance.now();
        this.tokens = 0;
      } else if (e.type === "token") {
        this.tokens += 1;
        this.speed.textContent = speedText(this.tokens, performance.now() - this.started, null);
      } else if (e.type === "done") {
        this.speed.textContent = speedText(this.tokens, performance.now() - this.started, e.stats) + (e.reason === "cancelled" ? " (stopped)" : "");
      }
      if (["ready", "error", "busy", "done"].includes(e.type)) onChange();
      if (["prompt", "token", "done", "ready"].includes(e.type)) this.draw();
    });
    void this.showReport(m);
  }

  /** Says the model's size, asking the server when it is not known, then starts loading with
   * the page's `features`, unless the file is too large for the tab (then says so, and stops). */
  async load(features: Features) {
    const m = this.app.model;
    if (m.bytes === null && m.url) this.status.textContent = `asking the server how large ${m.name} is…`;
    const { bytes, refused } = await checkSize(m);
    if (this.disposed) return;
    this.size.textContent = sizeNote(m, bytes);
    if (refused) {
      this.loading.hidden = true;
      this.status.textContent = refused;
      return;
    }
    this.status.textContent = `starting ${m.name}…`;
    this.app.load(features);
  }

  /** The name of the emotion this side colours by: `emotion` if its vectors have it, else each
   * token's top emotion. */
  private colourBy(emotion: string): string {
    return this.app.emotions?.names.includes(emotion) ? emotion : TOP;
  }

  /** Runs `settings` here with `steer` where this side's vectors have its emotion (said either
   * way). The side's state is a copy of the page's, so the settings are given each time. */
  generate(settings: RunSettings, steer: Steer | null) {
    const a = this.app;
    this.failed = !a.ready ? `${a.model.name} is not loaded` : a.busy ? `${a.model.name} is still busy` : "";
    if (this.failed) return;
    const has = steer !== null && !!a.emotions?.names.includes(steer.name);
    this.steerNote.textContent = steer === null ? "" : has
      ? `Steered: ${steer.name} ${formatStrength(steer.strength)}.`
      : `Not steered: ${a.emotions ? `its vectors have no ${steer.name}` : "no emotion vectors"}.`;
    this.speed.textContent = "";
    this.picked.textContent = "";
    this.stream.clear();
    const { prompt, maxTokens, temperature, seed } = settings;
    Object.assign(a.state, { prompt, maxTokens, temperature, seed });
    a.generate(has ? [steer] : [], false);
  }

  stop() {
    this.app.stop();
  }

  /** The last reply's text. */
  replyText(): string {
    return replyText(this.app.runs.main).trim();
  }

  /** Redraws the reply, coloured by `this.emotion` where the vectors have it. */
  draw() {
    const a = this.app;
    const run = a.runs.main;
    const names = a.emotions?.names ?? [];
    const tokens = run?.tokens ?? [];
    const r = readings(tokens, a.emotions, run?.layer ?? a.layer(), a.window());
    const colours = colouring(tokens.filter((t) => t.kind === "reply"), this.colourBy(this.emotion), names, r);
    this.stream.sync(tokens, colours, names, r);
    this.legend.hidden = !a.emotions;
    if (a.emotions) renderLegend(this.legend, colours);
  }

  private pick(t: Token) {
    const a = this.app;
    const run = a.runs.main;
    const r = readings(run?.tokens ?? [], a.emotions, run?.layer ?? a.layer(), a.window());
    this.picked.textContent = `${JSON.stringify(t.text)}: ${a.emotions ? tokenTitle(t, a.emotions.names, r) : "no readout"}`;
  }

  private async showReport(m: ModelChoice) {
    const heading = h("h4", {}, `Validation of ${m.short}'s vectors`);
    const url = reportUrlFor(m);
    if (!url) {
      this.validation.replaceChildren(heading, h("p", { "data-testid": "no-report" }, "No validation report for this model yet."));
      return;
    }
    this.validation.replaceChildren(heading, h("p", { class: "meta" }, "Loading the validation report…"));
    try {
      const resp = await fetch(url);
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const rows = summaryRows(summariseReport(await resp.json()));
      this.validation.replaceChildren(heading,
        h("table", { class: "numbers" },
          h("caption", { class: "visually-hidden" }, `validation of ${m.name}'s emotion vectors`),
          h("tbody", {}, ...rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))))),
        h("p", { class: "meta" }, "Top-1 and top-5 on the report's test split, which chose nothing; the numbers: ", h("a", { href: url }, "report.json"), "."));
    } catch (err) {
      this.validation.replaceChildren(heading, h("p", {}, `The validation report could not be loaded: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  dispose() {
    this.disposed = true;
    this.scope.dispose();
    this.app.dispose();
  }
}
