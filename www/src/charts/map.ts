//! The emotion map's charts, drawn with Observable Plot: the PCA scatter (one point per
//! emotion, colour and shape by cluster, every name in the SVG for hover and focus) and the
//! cosine similarity heatmap ordered by cluster. Both report what the pointer is on through
//! Plot's pointer interaction; highlighting a chosen emotion touches classes and one overlay
//! rectangle, not a new drawing.

import * as Plot from "@observablehq/plot";
import { finish } from "./plot";
import { CATEGORICAL, DIVERGING_ENDS } from "./colour";
import { centrality, clusterCentres, clusterOrder, cosineMatrix, kmeans, nearest, pca, type Matrix } from "./geometry";

/** One Okabe–Ito colour and one Plot symbol per cluster, so no cluster is told by colour alone. */
export const N_CLUSTERS = CATEGORICAL.length;
export const SYMBOLS = ["circle", "triangle", "square", "diamond", "star", "cross", "wye"] as const;
/** The same shapes as text, for the legend and lists. */
export const GLYPHS = ["●", "▲", "■", "◆", "★", "✚", "Y"] as const;
const KMEANS_SEED = 20260402;

export interface Cluster {
  /** Named by its most central member. */
  name: string;
  colour: string;
  symbol: string;
  glyph: string;
  members: string[];
}

/** Everything the map shows about the vectors at one layer. */
export interface EmotionGeometry {
  layer: number;
  names: string[];
  /** (n, 3) row-major: PC1..PC3 coordinates. */
  scores: Float64Array;
  /** Share of variance of PC1..PC3. */
  shares: number[];
  /** (n, n) cosine similarities. */
  cos: Float64Array;
  /** Cluster of each emotion. */
  assign: Int32Array;
  clusters: Cluster[];
  /** Emotions cluster by cluster, most central first: the heatmap's order. */
  order: number[];
  /** Each cluster's most central member: labelled on the scatter at all times. */
  centres: number[];
}

/** PCA, cosines and clusters of `data` ((names.length, d) row-major). */
export function analyse(names: string[], data: Float32Array, layer: number): EmotionGeometry {
  const n = names.length;
  const d = data.length / n;
  if (!Number.isInteger(d) || d < 1) throw new Error(`the vectors (${data.length} numbers) do not split into ${n} rows`);
  const m: Matrix = { data, rows: n, cols: d };
  const p = pca(m, 3);
  const c = kmeans(m, N_CLUSTERS, KMEANS_SEED);
  const central = centrality(m, c);
  const order = clusterOrder(c, central);
  const centres = clusterCentres(c, central);
  const clusters = centres.map((centre, k) => ({
    name: centre >= 0 ? names[centre]! : `cluster ${k + 1}`,
    colour: CATEGORICAL[k % CATEGORICAL.length]!,
    symbol: SYMBOLS[k % SYMBOLS.length]!,
    glyph: GLYPHS[k % GLYPHS.length]!,
    members: order.filter((i) => c.assign[i] === k).map((i) => names[i]!),
  }));
  return {
    layer, names, scores: p.scores, shares: p.shares, cos: cosineMatrix(m), assign: c.assign, clusters, order,
    centres: centres.filter((i) => i >= 0),
  };
}

/** The `count` nearest emotions to `name` by cosine: [name, cosine], highest first. */
export function neighbours(g: EmotionGeometry, name: string, count: number): [string, number][] {
  const i = g.names.indexOf(name);
  if (i < 0) return [];
  return nearest(g.cos, g.names.length, i, count).map(([j, c]) => [g.names[j]!, c]);
}

interface Point {
  i: number;
  name: string;
  pc1: number;
  pc2: number;
  cluster: string;
}

/** A drawn scatter: its element, and a way to mark one emotion and its neighbours. */
export interface Scatter {
  el: Element;
  highlight(selected: number, near: readonly number[]): void;
}

const pc = (share: number | undefined) => (share === undefined ? "" : ` (${(100 * share).toFixed(1)} % of variance)`);

/** PC1 × PC2, one point per emotion; `onPoint` hears the emotion under the pointer. */
export function scatterChart(g: EmotionGeometry, width: number, onPoint: (name: string) => void): Scatter {
  const points: Point[] = g.names.map((name, i) => ({
    i, name, pc1: g.scores[i * 3]!, pc2: g.scores[i * 3 + 1]!, cluster: g.clusters[g.assign[i]!]!.name,
  }));
  const domain = g.clusters.map((c) => c.name);
  const svg = Plot.plot({
    className: "chart",
    width,
    height: Math.round(width * 0.75),
    inset: 12,
    x: { label: `PC1${pc(g.shares[0])} →`, labelAnchor: "right", grid: true },
    y: { label: `↑ PC2${pc(g.shares[1])}`, labelAnchor: "top", grid: true },
    color: { domain, range: g.clusters.map((c) => c.colour) },
    symbol: { domain, range: g.clusters.map((c) => c.symbol) },
    marks: [
      Plot.ruleX([0], { strokeOpacity: 0.3 }),
      Plot.ruleY([0], { strokeOpacity: 0.3 }),
      Plot.dot(points, {
        x: "pc1", y: "pc2", fill: "cluster", symbol: "cluster", r: 4.5, stroke: "currentColor", strokeWidth: 0.5,
        className: "map-dots",
        title: (p: Point) => `${p.name}\ncluster ${p.cluster}\nPC1 ${p.pc1.toFixed(2)}, PC2 ${p.pc2.toFixed(2)}`,
      }),
      Plot.text(points, {
        x: "pc1", y: "pc2", text: "name", dy: -9, fill: "currentColor", stroke: "var(--halo)", strokeWidth: 3,
        paintOrder: "stroke", className: "map-labels",
      }),
      Plot.dot(points, Plot.pointer({ x: "pc1", y: "pc2", r: 9, stroke: "currentColor", strokeWidth: 1.5, fill: "none" })),
    ],
  }) as SVGSVGElement & { value?: Point | null };
  svg.addEventListener("input", () => { if (svg.value) onPoint(svg.value.name); });
  // In data order (Plot draws each mark's elements in its data's order); the arrays keep that
  // order when highlight() moves elements to the top.
  const dots = Array.from(svg.querySelector("g.map-dots")?.children ?? []);
  const labels = Array.from(svg.querySelector("g.map-labels")?.children ?? []);
  for (const i of g.centres) labels[i]?.classList.add("always");
  finish(svg, `scatter of ${g.names.length} emotion vectors at layer ${g.layer} on PC1 and PC2, coloured by ${g.clusters.length} clusters`);
  svg.setAttribute("data-testid", "map-scatter");
  let marked: number[] = [];
  return {
    el: svg,
    highlight(selected, near) {
      for (const i of marked) {
        dots[i]?.classList.remove("selected", "near");
        labels[i]?.classList.remove("on", "chosen");
      }
      marked = [selected, ...near];
      for (const i of near) { dots[i]?.classList.add("near"); labels[i]?.classList.add("on"); }
      dots[selected]?.classList.add("selected");
      labels[selected]?.classList.add("on", "chosen");
      // Drawn last, so the chosen point and its label sit above the others.
      for (const i of marked.slice().reverse()) {
        const dot = dots[i];
        if (dot) dot.parentNode?.append(dot);
        const label = labels[i];
        if (label) label.parentNode?.append(label);
      }
    },
  };
}

/** A drawn heatmap: its element, its legend, and a way to outline one emotion's row and column. */
export interface Heatmap {
  el: Element;
  legend: Element;
  highlight(selected: number): void;
}

interface Cell {
  a: string;
  b: string;
  v: number;
}

/** The cosine similarity of every pair, rows and columns in cluster order; `onCell` hears the
 * pair under the pointer. */
export function heatmapChart(g: EmotionGeometry, width: number, onCell: (a: string, b: string, cos: number) => void): Heatmap {
  const n = g.names.length;
  const ordered = g.order.map((i) => g.names[i]!);
  const cells: Cell[] = [];
  let maxOff = 0;
  for (const i of g.order) {
    for (const j of g.order) {
      const v = g.cos[i * n + j]!;
      cells.push({ a: g.names[i]!, b: g.names[j]!, v });
      if (i !== j) maxOff = Math.max(maxOff, Math.abs(v));
    }
  }
  // The scale spans the pairs (the diagonal's 1 would wash them out); the diagonal clamps.
  const m = Math.max(0.05, Math.ceil(maxOff * 20) / 20);
  const color = {
    type: "linear" as const, domain: [-m, 0, m], range: [DIVERGING_ENDS[0], "#f4f4f4", DIVERGING_ENDS[1]],
    clamp: true, label: "cosine similarity",
  };
  // One y tick per cluster, at the middle of its block, labelled with the cluster.
  const ticks: string[] = [];
  const tickLabel = new Map<string, string>();
  for (const c of g.clusters) {
    const start = ordered.indexOf(c.members[0]!);
    const mid = ordered[start + Math.floor(c.members.length / 2)];
    if (mid === undefined) continue;
    ticks.push(mid);
    tickLabel.set(mid, `${c.glyph} ${c.name}`);
  }
  const marginLeft = 110;
  const size = width - marginLeft - 10;
  const svg = Plot.plot({
    className: "chart",
    width,
    height: size + 20,
    marginLeft,
    marginTop: 10,
    marginBottom: 10,
    marginRight: 10,
    x: { domain: ordered, axis: null },
    y: { domain: ordered, ticks, tickFormat: (t: string) => tickLabel.get(t) ?? "", tickSize: 0, label: null },
    color,
    marks: [
      Plot.cell(cells, { x: "b", y: "a", fill: "v", inset: 0 }),
      Plot.cell(cells, Plot.pointer({ x: "b", y: "a", fill: null, stroke: "currentColor", strokeWidth: 1.5, maxRadius: 8 })),
    ],
  }) as SVGSVGElement & { value?: Cell | null; scale(name: "x" | "y"): { apply(v: string): number; bandwidth?: number } };
  svg.addEventListener("input", () => { if (svg.value) onCell(svg.value.a, svg.value.b, svg.value.v); });
  const x = svg.scale("x");
  const y = svg.scale("y");
  const band = y.bandwidth ?? 1;
  const ns = "http://www.w3.org/2000/svg";
  const row = document.createElementNS(ns, "rect");
  const col = document.createElementNS(ns, "rect");
  for (const r of [row, col]) {
    r.setAttribute("class", "heat-mark");
    r.setAttribute("fill", "none");
    r.setAttribute("stroke", "currentColor");
    r.setAttribute("visibility", "hidden");
    svg.append(r);
  }
  finish(svg, `heatmap of the cosine similarity between ${n} emotion vectors at layer ${g.layer}, ordered by cluster; scale −${m.toFixed(2)} (blue) to +${m.toFixed(2)} (orange)`);
  svg.setAttribute("data-testid", "map-heatmap");
  const legend = finish(Plot.legend({ color: { ...color, type: "linear" }, className: "chart", width: 320, label: `cosine similarity (the diagonal, 1, is clamped to ${m.toFixed(2)})` }) as SVGSVGElement,
    "colour legend: blue for negative cosine similarity, light grey for 0, orange for positive");
  return {
    el: svg,
    legend,
    highlight(selected) {
      const name = g.names[selected];
      if (name === undefined) return;
      const [x0, x1] = [x.apply(ordered[0]!), x.apply(ordered[n - 1]!) + band];
      const [y0, y1] = [y.apply(ordered[0]!), y.apply(ordered[n - 1]!) + band];
      const at = (s: ReturnType<typeof svg.scale>) => s.apply(name);
      const set = (r: SVGRectElement, rx: number, ry: number, w: number, hgt: number) => {
        r.setAttribute("x", String(rx));
        r.setAttribute("y", String(ry));
        r.setAttribute("width", String(w));
        r.setAttribute("height", String(hgt));
        r.setAttribute("visibility", "visible");
      };
      set(row, x0, at(y), x1 - x0, band);
      set(col, at(x), y0, band, y1 - y0);
    },
  };
}
