//! Emotion map: the emotion vectors at the readout layer in PCA space (PC1 × PC2), coloured
//! and shaped by k-means cluster; hover a point, or choose an emotion from the list, for its
//! nearest neighbours by cosine with the numbers; the cosine similarity heatmap ordered by
//! cluster; and how the axes compare with human valence and arousal, as measured in the
//! validation report (the human norms themselves are not ours to ship).
//!
//! The vectors come from the worker (`vectors` message); PCA and clustering run here, once
//! per layer, and are kept for the page's lifetime.

import type { App, ViewDef } from "../app";
import { dataTable } from "../charts/plot";
import { frameThrottle, h, scrollBox, option } from "../dom";
import { analyse, heatmapChart, neighbours, type EmotionGeometry, type Heatmap, type Scatter, scatterChart } from "../charts/map";
import { correlationTable, loadReport, reportUrl, signed, strongest } from "./report";
import { layerSelect } from "./widgets";
import reportMdUrl from "../../../docs/validation/report.md?url";
import "./map.css";

const NEAREST = 8;
/** Shown first when the link names no emotion: the paper's running example. */
const FIRST = "afraid";

const computed = new Map<number, EmotionGeometry>();

/** A link to About that switches views in place (through the navigation's own link, which
 * carries the state) rather than reloading the page and the model. */
function aboutLink(): HTMLAnchorElement {
  const a = h("a", { href: "?view=about" }, "About");
  a.addEventListener("click", (e) => {
    const nav = document.querySelector<HTMLAnchorElement>('nav a[data-view="about"]');
    if (!nav || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    nav.click();
  });
  return a;
}

function mount(root: HTMLElement, app: App) {
  const scope = app.scope();
  let disposed = false;
  let geometry: EmotionGeometry | null = null;
  let scatter: Scatter | null = null;
  let heatmap: Heatmap | null = null;
  let selected = "";
  let requested: number | null = null;

  const status = h("p", { class: "meta", role: "status", "data-testid": "map-status" }, "Waiting for the model to load…");
  const intro = h("p", {});
  const pick = h("select", { id: "map-emotion", "data-testid": "map-emotion" });
  const scatterBox = h("div", { class: "map-scatter" });
  const nearTitle = h("h3", { id: "map-near-title" }, "Nearest emotions");
  const nearNote = h("p", { class: "meta" });
  const nearList = h("ol", { class: "near", "data-testid": "map-neighbours", "aria-labelledby": "map-near-title" });
  const clusterList = h("ul", { class: "clusters", "aria-label": "clusters" });
  const heatBox = h("div", { class: "map-heat" });
  const heatLegend = h("div", {});
  const heatNote = h("p", { class: "meta", role: "status", "data-testid": "map-cell" }, "Point at a cell for its pair and cosine.");
  const corrBox = h("div", { class: "correlations" }, h("p", { class: "meta" }, "Loading the validation report…"));

  const layer = layerSelect(app, scope, () => request());
  pick.addEventListener("change", () => {
    select(pick.value);
    app.update({ emotion: pick.value });
  });

  /** Asks the worker for the vectors at the current layer, unless they are here already. */
  function request() {
    if (!app.ready || disposed) return;
    const l = app.layer();
    const known = computed.get(l);
    if (known) {
      show(known);
      return;
    }
    if (requested === l) return;
    requested = l;
    status.textContent = `Reading the ${app.emotions?.names.length ?? ""} emotion vectors at layer ${l}…`;
    app.post({ type: "vectors", layer: l });
  }

  function receive(l: number, data: Float32Array) {
    if (l !== requested) return;
    requested = null;
    const names = app.emotions?.names ?? [];
    status.textContent = `Computing PCA, clusters and cosine similarities of ${names.length} vectors…`;
    // A frame first, so the line above is painted before the (sub-second) sums.
    requestAnimationFrame(() => setTimeout(() => {
      if (disposed) return;
      try {
        const g = analyse(names, data, l);
        computed.set(l, g);
        if (app.layer() === l) show(g);
      } catch (err) {
        status.textContent = `Could not draw the map: ${err instanceof Error ? err.message : String(err)}`;
      }
    }, 0));
  }

  const draw = frameThrottle(() => {
    const g = geometry;
    if (!g || disposed) return;
    const width = Math.max(320, Math.min(640, scatterBox.clientWidth || 620));
    scatter = scatterChart(g, width, (name) => select(name));
    scatterBox.replaceChildren(scatter.el, dataTable(`PC1 and PC2 of each emotion vector at layer ${g.layer}, and its cluster`, ["emotion", "cluster", "PC1", "PC2"],
      g.names.map((name, i) => [name, g.clusters[g.assign[i]!]!.name, g.scores[i * 3]!, g.scores[i * 3 + 1]!])));
    const heatWidth = Math.max(320, Math.min(720, heatBox.clientWidth || 680));
    heatmap = heatmapChart(g, heatWidth, (a, b, c) => {
      heatNote.textContent = a === b ? `${a} with itself: cosine 1` : `${a} × ${b}: cosine ${signed(c)}`;
    });
    heatBox.replaceChildren(heatmap.el, dataTable(`cosine similarity of every pair of emotion vectors at layer ${g.layer}, rows and columns in the heatmap's order`,
      ["emotion", ...g.order.map((j) => g.names[j]!)],
      () => g.order.map((i) => [g.names[i]!, ...g.order.map((j) => g.cos[i * g.names.length + j]!)])));
    heatLegend.replaceChildren(heatmap.legend);
    select(selected);
  });

  function show(g: EmotionGeometry) {
    if (geometry === g) return;
    geometry = g;
    const [s1, s2] = g.shares.map((s) => `${(100 * s).toFixed(1)} %`);
    intro.textContent = `Each point is one of the ${g.names.length} emotion vectors at layer ${g.layer}, placed by its first two principal components: PC1 explains ${s1} of the variance among the vectors and PC2 ${s2}. Colour and shape give its cluster (k-means over the vectors' directions, ${g.clusters.length} clusters, each named after its most central member). Nearby points are emotions the model represents alike.`;
    status.textContent = "";
    pick.replaceChildren(...g.names.map((n) => option(n, n)));
    const fromLink = g.names.includes(app.state.emotion) ? app.state.emotion : "";
    selected = g.names.includes(selected) ? selected : fromLink || (g.names.includes(FIRST) ? FIRST : g.names[0]!);
    clusterList.replaceChildren(...g.clusters.map((c) => {
      const glyph = h("span", { class: "glyph", "aria-hidden": "true" }, c.glyph);
      glyph.style.color = c.colour;
      return h("li", {}, glyph, h("strong", {}, c.name), ` (${c.members.length}): `, c.members.join(", "));
    }));
    draw();
  }

  /** Highlights `name` on both charts and lists its nearest neighbours with their cosines. */
  function select(name: string) {
    const g = geometry;
    if (!g) return;
    const i = g.names.indexOf(name);
    if (i < 0) return;
    selected = name;
    pick.value = name;
    const near = neighbours(g, name, NEAREST);
    scatter?.highlight(i, near.map(([n]) => g.names.indexOf(n)));
    heatmap?.highlight(i);
    const cluster = g.clusters[g.assign[i]!]!;
    nearTitle.textContent = `Nearest to ${name}`;
    nearNote.textContent = `Cosine similarity at layer ${g.layer} (1: the same direction, 0: unrelated). ${name} is in the ${cluster.glyph} ${cluster.name} cluster; PC1 ${signed(g.scores[i * 3]!)}, PC2 ${signed(g.scores[i * 3 + 1]!)}.`;
    nearList.replaceChildren(...near.map(([n, c]) => {
      const other = g.clusters[g.assign[g.names.indexOf(n)]!]!;
      const glyph = h("span", { class: "glyph", title: `cluster ${other.name}` }, other.glyph);
      glyph.style.color = other.colour;
      return h("li", {}, glyph, ` ${n} `, h("span", { class: "num" }, c.toFixed(2)));
    }));
  }

  scope.on((e) => {
    if (e.type === "ready" || e.type === "state") request();
    else if (e.type === "vectors") receive(e.layer, e.data);
    else if (e.type === "error" && requested !== null) {
      requested = null;
      status.textContent = `Could not read the vectors: ${e.message}`;
    }
  });

  loadReport().then((r) => {
    if (disposed) return;
    const c = r.geometry.correlations;
    const v = strongest(c.pc_valence_r);
    const a = strongest(c.pc_arousal_r);
    corrBox.replaceChildren(
      h("p", {}, `The paper found that the leading axes of its model's emotion space are human valence (|r| = 0.81 with PC1) and arousal (|r| = 0.66). This small model shows far less: against human ratings of ${c.matched} of the emotion words, the strongest valence correlation is |r| = ${Math.abs(v.r).toFixed(2)} on PC${v.pc + 1} and the strongest arousal one |r| = ${Math.abs(a.r).toFixed(2)} on PC${a.pc + 1} (layer ${r.geometry.layer}). A PC's sign is arbitrary, so |r| is what compares.`),
      scrollBox("valence and arousal table", correlationTable(r)),
      h("p", { class: "meta" }, "The human ratings (Warriner, Kuperman & Brysbaert, 2013) are not shipped with this page: their licence does not allow it. Only the correlations measured with them are shown."),
    );
  }).catch((err: unknown) => {
    corrBox.replaceChildren(h("p", { class: "meta" }, `The validation report could not be loaded: ${err instanceof Error ? err.message : String(err)}`));
  });

  root.append(
    h("h2", {}, "Emotion map"),
    intro,
    h("div", { class: "controls" },
      h("label", {}, "emotion ", pick),
      h("label", {}, "layer ", layer),
    ),
    status,
    h("div", { class: "map-grid" },
      h("figure", { class: "map-figure" }, scatterBox,
        h("figcaption", { class: "meta" }, "Hover a point for its name and nearest neighbours, or choose an emotion above (keyboard). Cluster centres are always labelled; the chosen emotion and its neighbours are labelled and outlined.")),
      h("section", { class: "map-near", "aria-label": "nearest emotions", "aria-live": "polite" }, nearTitle, nearNote, nearList),
    ),
    h("h3", {}, "Clusters"),
    clusterList,
    h("section", { "aria-label": "similarity heatmap" },
      h("h2", {}, "Cosine similarity of every pair"),
      h("p", { class: "meta" }, "Rows and columns are the emotions, cluster by cluster (most central member first), so clusters show as blocks along the diagonal; the outlined row and column are the chosen emotion."),
      heatLegend, heatBox, heatNote,
    ),
    h("section", { "aria-label": "valence and arousal" },
      h("h2", {}, "Valence and arousal"),
      corrBox,
      h("p", { class: "meta" }, "More in the ",
        h("a", { href: reportMdUrl }, "validation report"), " (its numbers: ",
        h("a", { href: reportUrl }, "report.json"), ") and in the ",
        aboutLink(), " view."),
    ),
  );
  request();
  return { dispose: () => { disposed = true; scope.dispose(); } };
}

export const view: ViewDef = { id: "map", title: "Emotion map", order: 2, needsVectors: true, mount };
