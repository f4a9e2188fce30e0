//! The Readout view's export buttons: the last reply's readout as CSV or JSON, and the
//! trajectory and token charts as SVG or PNG, for a class to keep and compare.

import type { App, Scope } from "../app";
import { h } from "../dom";
import { downloadBlob, downloadChart } from "./download";
import { DEFAULT_MODEL } from "../config";
import { type ExportMeta, exportName, MODEL_NAME, readoutCsv, readoutJson } from "./export";
import type { AppState } from "./url-state";

/** Buttons that export `app.runs.main`; `charts` finds each chart's <svg> when clicked. */
export function exportBar(app: App, scope: Scope, charts: { name: string; label: string; svg: () => SVGSVGElement | null }[]): HTMLElement {
  // The settings the reply was made with (the form may change after it).
  let settings: AppState | null = null;
  const note = h("span", { class: "meta", role: "status" });
  const meta = (): ExportMeta => {
    const s = settings ?? app.state;
    const run = app.runs.main;
    return {
      model: app.model.entry?.id === DEFAULT_MODEL.id ? MODEL_NAME : app.model.name, layer: run?.layer ?? app.layer(), seed: s.seed, temperature: s.temperature, maxTokens: s.maxTokens,
      steer: run?.steer ?? s.steer, prompt: s.prompt, backend: app.backend, date: new Date().toISOString(),
    };
  };
  const button = (id: string, label: string, title: string, act: () => Promise<void> | void) => {
    const b = h("button", { type: "button", id, "data-testid": id, title }, label);
    b.addEventListener("click", async () => {
      try {
        note.textContent = "";
        await act();
      } catch (err) {
        note.textContent = `export failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    });
    return b;
  };
  const data = (format: "csv" | "json") => {
    const run = app.runs.main;
    const names = app.emotions?.names ?? [];
    if (!run) return;
    const m = meta();
    const name = exportName("readout", m.date, format);
    if (format === "csv") downloadBlob(new Blob([readoutCsv(run.tokens, names)], { type: "text/csv" }), name);
    else downloadBlob(new Blob([JSON.stringify(readoutJson(run.tokens, names, m), null, 1)], { type: "application/json" }), name);
  };
  const dataButtons = [
    button("export-csv", "CSV", "The prompt's and reply's tokens with all emotion scores, for a spreadsheet", () => data("csv")),
    button("export-json", "JSON", "The same with the model, layer, seed, temperature, steering, prompt and date", () => data("json")),
  ];
  const chartButtons = charts.flatMap((c) => (["svg", "png"] as const).map((f) =>
    button(`export-${c.name}-${f}`, `${c.label} ${f.toUpperCase()}`, `The ${c.label.toLowerCase()} chart as ${f.toUpperCase()}`, async () => {
      const svg = c.svg();
      if (!svg) throw new Error("no chart yet");
      await downloadChart(svg, exportName(c.name, new Date().toISOString(), f).replace(/\.\w+$/, ""), f);
    })));
  const enable = () => {
    const has = !!app.runs.main?.tokens.length && !app.busy;
    for (const b of [...dataButtons, ...chartButtons]) b.disabled = !has;
  };
  scope.on((e) => {
    if (e.type === "generate-start") settings = { ...app.state, steer: [...app.state.steer] };
    if (e.type === "busy" || e.type === "generate-start" || e.type === "done" || e.type === "ready") enable();
  });
  enable();
  return h("div", { class: "controls export", role: "group", "aria-label": "export the readout" },
    h("span", {}, "Export the readout:"), ...dataButtons, h("span", {}, "charts:"), ...chartButtons, note);
}
