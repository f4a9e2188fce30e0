//! The frame every experiment shares: heading, explanation, controls, Run and Stop, a status
//! line read out politely, the chart, the numbers as a table, and a CSV download.

import type { App, Scope } from "../app";
import { h, madeGroup, option } from "../dom";
import { formatCell, type Table, toCsv } from "./analysis";
import type { JobContext, Jobs } from "./jobs";

export interface SectionOptions {
  id: string;
  title: string;
  /** The explanation: text and elements (e.g. a citation). */
  intro: (string | Node)[];
  runLabel: string;
  /** The experiment itself; results are drawn as they come in. */
  job(ctx: JobContext): Promise<void>;
  /** Called before the job, to clear the last results (the section clears its chart and table). */
  reset(): void;
}

export interface Section {
  el: HTMLElement;
  controls: HTMLElement;
  status: HTMLElement;
  chart: HTMLElement;
  /** Runs the experiment (what the Run button does). */
  run(): Promise<void>;
  /** Shows `t` as the numbers table (and what the CSV button saves); `highlight` marks a row. */
  setTable(t: Table, caption: string, highlight?: number): void;
  /** The chart's width for the current layout. */
  width(): number;
}

/** The paper, cited in every explanation. */
/** A list of the 171 emotions (its id is also its test id), filled once the model is ready,
 * with `initial` chosen; with `made`, the vectors made in this page follow in a group of their
 * own (kept current as they are made and cleared). */
export function emotionSelect(app: App, scope: Scope, id: string, initial: string, made = false): HTMLSelectElement {
  const select = h("select", { id, "data-testid": id });
  let shown = "";
  const fill = () => {
    const names = app.emotions?.names ?? [];
    const extra = made ? [...app.made.keys()] : [];
    const key = `${names.length}|${extra.join("\n")}`;
    if (key === shown) return;
    shown = key;
    const was = select.value || initial;
    select.replaceChildren(...names.map((n) => option(n, n)), ...madeGroup(extra));
    select.value = [...names, ...extra].includes(was) ? was : initial;
  };
  scope.on((e) => { if (e.type === "ready" || e.type === "made" || e.type === "state") fill(); });
  fill();
  return select;
}

export function paperCite(): HTMLElement {
  return h("cite", {}, "Emotion Concepts and their Function in a Large Language Model (Anthropic, 2026)");
}

export function section(app: App, scope: Scope, jobs: Jobs, o: SectionOptions): Section {
  const run = h("button", { type: "button", class: "primary", id: `${o.id}-run`, "data-testid": `${o.id}-run` }, o.runLabel);
  const stop = h("button", { type: "button", id: `${o.id}-stop`, "data-testid": `${o.id}-stop` }, "Stop");
  const status = h("p", { class: "meta exp-status", id: `${o.id}-status`, role: "status", "aria-live": "polite" });
  const chart = h("div", { class: "exp-chart", id: `${o.id}-chart` });
  // Hidden while it has no table: an empty box in the tab order would be a stop that shows nothing.
  const tableBox = h("div", { class: "exp-table table-scroll", id: `${o.id}-table`, role: "region", "aria-label": `${o.id} table`, tabindex: 0, hidden: true });
  const csv = h("button", { type: "button", id: `${o.id}-csv`, disabled: true }, "Download CSV");
  const controls = h("div", { class: "controls" });
  let table: Table | null = null;
  let mine = false;

  const buttons = () => {
    run.disabled = !app.ready || app.busy;
    stop.disabled = !mine;
  };
  scope.on((e) => { if (e.type === "busy" || e.type === "ready") buttons(); });

  const start = async () => {
    if (!app.ready || app.busy || jobs.running) return;
    o.reset();
    table = null;
    csv.disabled = true;
    chart.replaceChildren();
    tableBox.replaceChildren();
    tableBox.hidden = true;
    status.textContent = "running…";
    mine = true;
    buttons();
    const outcome = await jobs.run(o.job, (message) => { status.textContent = `error: ${message}`; });
    mine = false;
    buttons();
    if (outcome === "stopped") status.textContent = "stopped: the results so far are shown.";
    else if (outcome === null) status.textContent = "something else is running: try again when it ends.";
  };
  run.addEventListener("click", () => { void start(); });
  stop.addEventListener("click", () => jobs.stop());
  csv.addEventListener("click", () => {
    if (!table) return;
    const url = URL.createObjectURL(new Blob([toCsv(table)], { type: "text/csv" }));
    const a = h("a", { href: url, download: `limbic-${o.id}.csv` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  buttons();

  const el = h("section", { class: "experiment", id: o.id, "aria-labelledby": `${o.id}-title` },
    h("h2", { id: `${o.id}-title` }, o.title),
    h("p", { class: "explain" }, ...o.intro),
    controls,
    h("div", { class: "controls" }, run, stop, csv),
    status,
    chart,
    tableBox,
  );
  return {
    el, controls, status, chart,
    run: start,
    width: () => Math.max(320, Math.min(900, chart.clientWidth || 720)),
    setTable(t, caption, highlight) {
      table = t;
      csv.disabled = t.rows.length === 0;
      tableBox.replaceChildren(renderTable(t, caption, highlight));
      tableBox.hidden = false;
    },
  };
}

/** `t` as an HTML table (text only); the `highlight` row is marked in words and weight. */
export function renderTable(t: Table, caption: string, highlight = -1): HTMLTableElement {
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...t.header.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...t.rows.map((r, i) => h("tr", { class: i === highlight ? "selected" : undefined, "aria-current": i === highlight ? "true" : undefined },
      ...r.map((c, j) => (j === 0
        ? h("th", { scope: "row" }, formatCell(c, t.digits[j] ?? 2) + (i === highlight ? " ◀" : ""))
        : h("td", { class: typeof c === "number" ? "num" : undefined }, formatCell(c, t.digits[j] ?? 2))))))),
  );
}
