//! The readout's charts, drawn with Observable Plot. Plot puts a `<style>` element in each
//! chart; the page's CSP (style-src 'self') would refuse it, so it is taken out before the
//! chart joins the page and style.css styles `.chart` instead.

import * as Plot from "@observablehq/plot";
import { CATEGORICAL } from "./colour";
import { h, scrollBox } from "./dom";

const NEG = "rgb(33, 102, 172)";
const POS = "rgb(230, 97, 1)";

/** Makes a Plot chart fit the CSP (its `<style>` elements removed) and names it for screen
 * readers. Plot labels its marks' groups (`aria-label="dot"`) without a role, which ARIA
 * forbids on a plain element: they become groups (graphics inside an image, so screen readers
 * read the chart's own label, which carries its numbers). */
export function finish(chart: SVGSVGElement | HTMLElement, label: string): Element {
  for (const s of chart.querySelectorAll("style")) s.remove();
  const roles = () => {
    for (const el of chart.querySelectorAll("[aria-label]:not([role])")) el.setAttribute("role", el.tagName === "g" ? "group" : "img");
  };
  roles();
  // A pointer mark draws its groups again on each move.
  new MutationObserver(roles).observe(chart, { childList: true, subtree: true });
  chart.setAttribute("role", "img");
  chart.setAttribute("aria-label", label);
  return chart;
}

/** A chart's numbers as a table, folded under "Table of this chart" (the chart's text
 * alternative beside its label's summary). Numbers get `digits` decimals. */
export function dataTable(caption: string, header: readonly string[], rows: readonly (readonly (string | number)[])[], digits = 2): HTMLDetailsElement {
  const cell = (v: string | number, j: number) => (typeof v === "number"
    ? h("td", {}, v.toFixed(digits).replace("-", "−"))
    : j === 0 ? h("th", { scope: "row" }, v) : h("td", { class: "text" }, v));
  return h("details", { class: "chart-data" },
    h("summary", {}, "Table of this chart"),
    scrollBox(caption, h("table", { class: "numbers" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...header.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map(cell)))))));
}

/** Horizontal bars of `top` ([name, score], highest first), each with its number. */
export function barChart(top: readonly [string, number][], width: number, title: string): Element {
  const data = top.map(([name, score]) => ({ name, score }));
  return finish(Plot.plot({
    className: "chart",
    width,
    height: 24 + 20 * Math.max(1, data.length),
    marginLeft: 110,
    marginRight: 44,
    x: { label: "score", grid: true },
    y: { label: null, domain: data.map((d) => d.name) },
    marks: [
      Plot.barX(data, { x: "score", y: "name", fill: (d: { score: number }) => (d.score < 0 ? NEG : POS) }),
      Plot.text(data, { x: "score", y: "name", text: (d: { score: number }) => d.score.toFixed(2), dx: 4, textAnchor: "start", fill: "currentColor" }),
      Plot.ruleX([0]),
    ],
  }), `${title}: ${top.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(", ")}`);
}

export interface Series {
  name: string;
  values: number[];
}

/** Lines of each emotion's score across tokens; a rule where the reply starts. */
export function trajectoryChart(series: readonly Series[], replyStart: number, width: number): Element {
  const data = series.flatMap((s) => s.values.map((v, i) => ({ name: s.name, i, v })));
  const names = series.map((s) => s.name);
  return finish(Plot.plot({
    className: "chart",
    width,
    height: 220,
    marginRight: 90,
    x: { label: "token", grid: true },
    y: { label: "score", grid: true },
    color: { domain: names, range: CATEGORICAL.slice(0, Math.max(1, names.length)) },
    marks: [
      Plot.ruleY([0]),
      replyStart > 0 ? Plot.ruleX([replyStart], { strokeDasharray: "4,3" }) : null,
      replyStart > 0 ? Plot.text([replyStart], { x: (d: number) => d, frameAnchor: "top", text: () => "reply", dx: 4, textAnchor: "start", fill: "currentColor" }) : null,
      Plot.lineY(data, { x: "i", y: "v", stroke: "name", strokeWidth: 1.8 }),
      Plot.text(data, Plot.selectLast({ x: "i", y: "v", z: "name", text: "name", dx: 4, textAnchor: "start", fill: "name" })),
    ],
  }), `trajectory across ${series[0]?.values.length ?? 0} tokens of ${names.join(", ")}`);
}
