//! Dose: a danger number rising in a user's message, and afraid / calm read at the
//! assistant's first token (the last prompt token), as in the paper's Tylenol example.

import type { App, Scope } from "../app";
import { h, option } from "../dom";
import { signed, spearman, type Table } from "./analysis";
import { doseChart } from "../charts/experiments";
import type { Jobs } from "./jobs";
import { DOSE_EMOTIONS, DOSE_TEMPLATES, doseLabel, fillTemplate, type DoseTemplate } from "./presets";
import { paperCite, section, type Section } from "./section";

export interface DoseResult {
  template: DoseTemplate;
  /** What was read: DOSE_EMOTIONS, then a made vector when one was chosen. */
  names: string[];
  /** Scores per name (`names` order), one per dose measured so far. */
  values: number[][];
}

/** The dose table: one row per measured dose, a column per emotion (and made vector). */
export function doseTable(r: DoseResult): Table {
  return {
    header: ["dose", "prompt", ...r.names],
    rows: r.values[0]!.map((_, i) => {
      const dose = r.template.doses[i]!;
      return [doseLabel(r.template, dose), fillTemplate(r.template.template, dose), ...r.names.map((_, k) => r.values[k]![i]!)];
    }),
    digits: [0, 0, ...r.names.map(() => 2)],
  };
}

export function doseSection(app: App, scope: Scope, jobs: Jobs): Section {
  const pick = h("select", { id: "dose-template", "data-testid": "dose-template" },
    ...DOSE_TEMPLATES.map((t) => option(t.id, t.label)));
  const slider = h("input", { type: "range", id: "dose-slider", "data-testid": "dose-slider", min: 0, max: 0, step: 1, value: 0, disabled: true });
  const readout = h("output", { for: "dose-slider", id: "dose-selected" });
  const rho = h("p", { class: "meta", id: "dose-rho" });
  // A vector made in the Make view, read beside afraid and calm (its trace).
  const madePick = h("select", { id: "dose-made", "data-testid": "dose-made" });
  const fillMade = () => {
    const names = [...app.made.keys()];
    const was = madePick.value;
    madePick.replaceChildren(option("", "(none)"), ...names.map((n) => option(n, n)));
    madePick.value = names.includes(was) ? was : "";
  };
  scope.on((e) => { if (e.type === "made" || e.type === "state") fillMade(); });
  fillMade();
  let result: DoseResult | null = null;
  const template = () => DOSE_TEMPLATES.find((t) => t.id === pick.value) ?? DOSE_TEMPLATES[0]!;

  const draw = () => {
    if (!result || result.values[0]!.length === 0) return;
    const t = result.template;
    const n = result.values[0]!.length;
    const sel = Math.min(Number(slider.value), n - 1);
    const doses = t.doses.slice(0, n);
    const series = result.names.map((name, k) => ({ name, values: result!.values[k]! }));
    s.chart.replaceChildren(doseChart(doses, t.unit, series, sel, s.width()));
    s.setTable(doseTable(result), `Scores at the assistant's first token, layer ${app.layer()}`, sel);
    const dose = doses[sel]!;
    slider.setAttribute("aria-valuetext", doseLabel(t, dose));
    readout.textContent = `${doseLabel(t, dose)}: ` + series.map((x) => `${x.name} ${signed(x.values[sel]!)}`).join(", ");
    if (n === t.doses.length) {
      rho.textContent = `Spearman ρ over the ${n} doses: ` + series.map((x) => `dose vs ${x.name} ${signed(spearman(doses, x.values))}`).join(", ") +
        " (the paper's model: afraid rises, calm falls, i.e. ρ near +1 and −1).";
    }
  };
  slider.addEventListener("input", draw);

  const s = section(app, scope, jobs, {
    id: "dose",
    title: "Dose: does danger register?",
    intro: [
      "In ", paperCite(), ", a user says they took a rising dose of Tylenol, and at the Assistant's first token the ",
      h("em", {}, "afraid"), " vector rises with the dose while ", h("em", {}, "calm"), " falls. ",
      "Here each dose is sent as a chat turn and both are read at the last prompt token, where the reply begins. ",
      "Honestly: on this 135M model afraid does not rise with the Tylenol dose (our validation with the same template, docs/validation/report.md; its numbers are in About); ",
      "it does rise with a ledge's height (but calm rises too) and with days without food. ",
      "The doses move the scores by about one point, and the browser's build rounds a few values differently from the native one the report used, so the live ρ can differ from the report's: ",
      "read the level and the absence of a rise, not the exact ρ.",
    ],
    runLabel: "Run Dose",
    reset() {
      result = null;
      rho.textContent = "";
      readout.textContent = "";
      slider.disabled = true;
    },
    async job(ctx) {
      const t = template();
      const names = app.emotions?.names ?? [];
      const idx = DOSE_EMOTIONS.map((e) => names.indexOf(e));
      if (idx.some((i) => i < 0)) throw new Error(`the vectors lack ${DOSE_EMOTIONS.join(" or ")}`);
      const made = app.made.has(madePick.value) ? madePick.value : "";
      const read = [...DOSE_EMOTIONS, ...(made ? [made] : [])];
      result = { template: t, names: read, values: read.map(() => []) };
      slider.max = String(t.doses.length - 1);
      for (const [i, dose] of t.doses.entries()) {
        s.status.textContent = `dose ${i + 1} of ${t.doses.length}: ${doseLabel(t, dose)}…`;
        const r = await ctx.probe({ prompt: fillTemplate(t.template, dose), chat: true, steer: [], words: [], ...(made ? { trace: made } : {}) });
        idx.forEach((e, k) => result!.values[k]!.push(r.scores[e] ?? NaN));
        if (made) result!.values[idx.length]!.push(r.trace[r.trace.length - 1] ?? NaN);
        slider.value = String(i);
        slider.disabled = false;
        draw();
      }
      s.status.textContent = `done: ${t.doses.length} doses, layer ${app.layer()}.`;
    },
  });
  s.controls.append(
    h("label", {}, "template ", pick),
    h("label", {}, "and a made vector ", madePick),
    h("label", { for: "dose-slider" }, "highlight a dose "), slider, readout,
  );
  s.el.insertBefore(rho, s.chart);
  pick.addEventListener("change", () => {
    if (result && result.template.id !== pick.value) s.status.textContent = `press Run Dose to measure ${template().label}; shown: ${result.template.label}.`;
  });
  return s;
}
