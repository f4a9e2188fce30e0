//! The experiments' charts (Observable Plot), made CSP-safe by plot.ts's `finish`. Every
//! chart's label carries its numbers, and shapes or text back up colour (never colour alone);
//! each series' dots sit in a group whose aria-description names the series.

import * as Plot from "@observablehq/plot";
import { finish } from "./plot";
import { CATEGORICAL } from "./colour";
import { finiteMean, formatCell } from "../experiments/analysis";

export interface NamedSeries {
  name: string;
  values: number[];
}

const SYMBOLS = ["circle", "triangle", "square", "diamond", "star"] as const;
/** Okabe–Ito without its yellow, which is too faint for lines and labels on white. */
const PALETTE = CATEGORICAL.filter((c) => c !== "#F0E442");
const fmt = (v: number, d: number) => formatCell(v, d);

/** Scores of each series against rising doses (log x), one panel per series with its own y
 * scale (the series sit far apart, their changes are small), the selected dose ringed. */
export function doseChart(doses: readonly number[], unit: string, series: readonly NamedSeries[], selected: number, width: number): Element {
  const panelWidth = Math.max(280, Math.floor(width / Math.max(1, series.length)) - 8);
  const panels = series.map((s, k) => {
    const data = s.values.map((v, i) => ({ dose: doses[i]!, v }));
    const colour = PALETTE[k % PALETTE.length]!;
    const symbol = SYMBOLS[k % SYMBOLS.length]!;
    const sel = data.filter((d) => d.dose === doses[selected]);
    return Plot.plot({
      className: "chart",
      width: panelWidth,
      height: 240,
      marginLeft: 48,
      marginRight: 16,
      x: { type: "log", label: `dose (${unit}, log scale)`, ticks: [...doses], tickFormat: (d: number) => d.toLocaleString("en-US"), grid: true },
      y: { label: `${s.name} at the assistant's first token`, grid: true, nice: true },
      marks: [
        Plot.frame({ strokeOpacity: 0.1 }),
        doses[selected] !== undefined ? Plot.ruleX([doses[selected]], { strokeDasharray: "4,3", ariaDescription: "selected dose" }) : null,
        Plot.lineY(data, { x: "dose", y: "v", stroke: colour, strokeWidth: 1.8 }),
        Plot.dot(data, {
          x: "dose", y: "v", stroke: colour, fill: colour, symbol, r: 4,
          ariaDescription: s.name, ariaLabel: (d: { dose: number; v: number }) => `${s.name} at ${d.dose} ${unit}: ${fmt(d.v, 2)}`,
        }),
        Plot.dot(sel, { x: "dose", y: "v", r: 9, stroke: "currentColor", strokeWidth: 1.5, ariaDescription: "selected dose" }),
        Plot.text(sel, { x: "dose", y: "v", text: (d: { v: number }) => fmt(d.v, 2), dy: -16, fill: "currentColor", fontWeight: "bold" }),
      ],
    });
  });
  const box = document.createElement("div");
  box.className = "chart-row";
  box.append(...panels);
  return finish(box, `${series.map((s) => s.name).join(" and ")} against dose: ` + series.map((s) =>
    `${s.name} ${s.values.map((v, i) => `${doses[i]} ${unit} ${fmt(v, 2)}`).join(", ")}`).join("; "));
}

/** p(next token = word) against steering strength, one line per word. */
export function feelChart(strengths: readonly number[], series: readonly NamedSeries[], steered: string, width: number): Element {
  const names = series.map((s) => s.name);
  const data = series.flatMap((s) => s.values.map((p, i) => ({ name: s.name, s: strengths[i]!, p })));
  return finish(Plot.plot({
    className: "chart",
    width,
    height: 240,
    marginRight: 80,
    x: { label: `steering strength toward ${steered}`, ticks: [...strengths], grid: true },
    y: { type: "log", label: "p(next token), log scale", grid: true },
    color: { domain: names, range: PALETTE.slice(0, Math.max(1, names.length)) },
    symbol: { domain: names, range: SYMBOLS.slice(0, Math.max(1, names.length)) },
    marks: [
      Plot.lineY(data.filter((d) => d.name.trim() !== steered), { x: "s", y: "p", z: "name", stroke: "name", strokeWidth: 1.5 }),
      Plot.lineY(data.filter((d) => d.name.trim() === steered), { x: "s", y: "p", z: "name", stroke: "name", strokeWidth: 3 }),
      ...series.map((s) => Plot.dot(data.filter((d) => d.name === s.name), {
        x: "s", y: "p", stroke: "name", fill: "name", symbol: "name", r: 3.5,
        ariaDescription: s.name, ariaLabel: (d: { s: number; p: number }) => `p(${JSON.stringify(s.name)}) at ${d.s}: ${fmt(d.p, 4)}`,
      })),
      Plot.text(data, Plot.selectLast({ x: "s", y: "p", z: "name", text: (d: { name: string }) => JSON.stringify(d.name), dx: 8, textAnchor: "start", fill: "name" })),
    ],
  }), `p(next token) against strength toward ${steered}: ` + series.map((s) =>
    `${JSON.stringify(s.name)} ${s.values.map((p, i) => `${strengths[i]} ${fmt(p, 4)}`).join(", ")}`).join("; "));
}

export interface PreferenceBar {
  pair: string;
  condition: string;
  pA: number;
}

/** P(A) per pair, one bar per condition side by side, a rule at 0.5 (no preference). */
export function preferenceChart(bars: readonly PreferenceBar[], conditions: readonly string[], width: number): Element {
  const data = bars.filter((b) => Number.isFinite(b.pA));
  return finish(Plot.plot({
    className: "chart",
    width,
    height: 260,
    marginBottom: 48,
    fx: { label: "pair", padding: 0.15 },
    x: { domain: [...conditions], padding: 0.1, label: null, tickFormat: (c: string) => (c === conditions[0] ? "none" : c) },
    y: { label: "P(A) = p(A) / (p(A) + p(B))", domain: [0, 1], grid: true },
    color: { domain: [...conditions], range: PALETTE.slice(0, Math.max(1, conditions.length)), legend: false },
    marks: [
      Plot.barY(data, {
        fx: "pair", x: "condition", y: "pA", fill: "condition", ariaDescription: "P(A)",
        ariaLabel: (d: PreferenceBar) => `pair ${d.pair}, ${d.condition}: P(A) ${fmt(d.pA, 2)}`,
      }),
      Plot.text(data, { fx: "pair", x: "condition", y: "pA", text: (d: PreferenceBar) => fmt(d.pA, 2), dy: -6, fill: "currentColor" }),
      Plot.ruleY([0.5], { strokeDasharray: "4,3" }),
      Plot.ruleY([0]),
    ],
  }), "P(A) per pair: " + data.map((d) => `pair ${d.pair} ${d.condition} ${fmt(d.pA, 2)}`).join(", "));
}

/** One emotion's score per reply token, a threshold line, tokens at or over it marked with
 * triangles, a rule where the alarm first fired. */
export function monitorChart(values: readonly number[], tokens: readonly string[], emotion: string, threshold: number, first: number, width: number): Element {
  const data = values.map((v, i) => ({ i, v, t: tokens[i] ?? "", over: v >= threshold }));
  const over = data.filter((d) => d.over);
  return finish(Plot.plot({
    className: "chart",
    width,
    height: 240,
    marginRight: 90,
    x: { label: "reply token", grid: true },
    y: { label: `${emotion} score`, grid: true },
    marks: [
      Plot.ruleY([threshold], { stroke: CATEGORICAL[5], strokeWidth: 1.5, strokeDasharray: "6,3", ariaDescription: "threshold" }),
      Plot.text([threshold], { y: (d: number) => d, frameAnchor: "right", text: () => `threshold ${fmt(threshold, 1)}`, dx: 86, textAnchor: "end", fill: "currentColor" }),
      first >= 0 ? Plot.ruleX([first], { strokeDasharray: "2,2", ariaDescription: "alarm" }) : null,
      first >= 0 ? Plot.text([first], { x: (d: number) => d, frameAnchor: "top", text: () => "alarm", dx: 4, textAnchor: "start", fill: "currentColor" }) : null,
      Plot.lineY(data, { x: "i", y: "v", stroke: CATEGORICAL[4], strokeWidth: 1.8 }),
      Plot.dot(data.filter((d) => !d.over), { x: "i", y: "v", r: 2.5, fill: CATEGORICAL[4], ariaDescription: "under", ariaLabel: (d: { i: number; t: string; v: number }) => `token ${d.i} ${JSON.stringify(d.t)}: ${fmt(d.v, 2)}` }),
      Plot.dot(over, { x: "i", y: "v", r: 6, symbol: "triangle", fill: CATEGORICAL[5], stroke: "currentColor", ariaDescription: "over", ariaLabel: (d: { i: number; t: string; v: number }) => `token ${d.i} ${JSON.stringify(d.t)}: ${fmt(d.v, 2)}, over the threshold` }),
    ],
  }), `${emotion} across ${values.length} reply tokens, threshold ${fmt(threshold, 1)}: ${over.length} over` +
    (first >= 0 ? `, first at token ${first}` : ""));
}

/** A made vector's score at each token of the prompt and reply, one line per run (the first
 * dashed: the unsteered reply), a rule where the reply starts; the label gives each run's mean
 * over its reply. */
export function traceChart(series: readonly NamedSeries[], promptLen: number, name: string, width: number): Element {
  return finish(Plot.plot({
    className: "chart",
    width,
    height: 220,
    marginRight: 16,
    x: { label: "token (prompt, then reply)", grid: true },
    y: { label: `${name} score`, grid: true },
    marks: [
      Plot.ruleX([promptLen - 0.5], { strokeDasharray: "2,2", ariaDescription: "the reply starts" }),
      Plot.text([promptLen - 0.5], { x: (d: number) => d, frameAnchor: "top", text: () => "reply →", dx: 4, textAnchor: "start", fill: "currentColor" }),
      ...series.map((s, k) => Plot.lineY(s.values.map((v, i) => ({ i, v })), {
        x: "i", y: "v", stroke: PALETTE[k % PALETTE.length], strokeWidth: 1.8, ariaDescription: s.name,
        ...(k === 0 && series.length > 1 ? { strokeDasharray: "6,3" } : {}),
      })),
    ],
  }), `${name} per token over ${promptLen} prompt tokens and the reply: ` +
    series.map((s) => `${s.name} reply mean ${fmt(finiteMean(s.values.slice(promptLen)), 2)}`).join(", "));
}
