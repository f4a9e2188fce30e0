//! What every Observable Plot chart of the page goes through: `finish` makes it CSP-safe and
//! names it for screen readers, `dataTable` gives its numbers as a table. Plot puts a `<style>`
//! element in each chart; the page's CSP (style-src 'self') would refuse it, so it is taken out
//! before the chart joins the page and style.css styles `.chart` instead.

import { h, scrollBox } from "../dom";

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

type Rows = readonly (readonly (string | number)[])[];

/** A chart's numbers as a table, folded under "Table of this chart" (the chart's text
 * alternative beside its label's summary). Numbers get `digits` decimals. `rows` may be a
 * function: a large table (the heatmap's 171 × 171) is then made when first unfolded, so the
 * page does not carry its cells until someone reads them. */
export function dataTable(caption: string, header: readonly string[], rows: Rows | (() => Rows), digits = 2): HTMLDetailsElement {
  const cell = (v: string | number, j: number) => (typeof v === "number"
    ? h("td", {}, v.toFixed(digits).replace("-", "−"))
    : j === 0 ? h("th", { scope: "row" }, v) : h("td", { class: "text" }, v));
  const fill = (r: Rows) => r.map((row) => h("tr", {}, ...row.map(cell)));
  const body = h("tbody", {}, ...(typeof rows === "function" ? [] : fill(rows)));
  const details = h("details", { class: "chart-data" },
    h("summary", {}, "Table of this chart"),
    scrollBox(caption, h("table", { class: "numbers" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...header.map((c) => h("th", { scope: "col" }, c)))),
      body)));
  if (typeof rows === "function") {
    details.addEventListener("toggle", () => {
      if (details.open && !body.firstChild) body.replaceChildren(...fill(rows()));
    });
  }
  return details;
}
