//! Pieces Readout and Steer share: the colour-by and layer pickers, the token readout (the
//! top-10 list with numbers and its bar chart), and the colour legend.

import type { App, Scope } from "../app";
import { barChart } from "../charts/readout";
import { frameThrottle, h, option } from "../dom";
import { topK } from "../engine/protocol";
import type { Token } from "../run-data";
import { TOP } from "../share/url-state";

export const READOUT_TOP = 10;

/** "colour tokens by": each token's top emotion, or one emotion's score. */
export function colourBySelect(app: App, scope: Scope): HTMLSelectElement {
  const sel = h("select", { id: "colour-by", "data-testid": "colour-emotion" });
  const fill = () => {
    const names = app.emotions?.names ?? [];
    sel.replaceChildren(option(TOP, "top emotion per token"), ...names.map((n) => option(n, n)));
    sel.value = names.includes(app.state.emotion) ? app.state.emotion : TOP;
  };
  fill();
  sel.addEventListener("change", () => app.update({ emotion: sel.value }));
  scope.on((e) => {
    if (e.type === "ready") fill();
    else if (e.type === "state" && sel.value !== app.state.emotion) fill();
  });
  return sel;
}

/** The readout layer (default from the vectors file); a change calls the engine's setReadout. */
export function layerSelect(app: App, scope: Scope, onChange: () => void): HTMLSelectElement {
  const sel = h("select", { id: "layer", "data-testid": "layer-select" });
  const fill = () => {
    const info = app.emotions;
    if (!info) return;
    sel.replaceChildren(...Array.from({ length: info.nLayer }, (_, l) =>
      option(String(l), l === info.defaultLayer ? `${l} (default)` : String(l))));
    sel.value = String(app.layer());
  };
  fill();
  sel.addEventListener("change", () => {
    const l = Number(sel.value);
    app.setLayer(l === app.emotions?.defaultLayer ? null : l);
    onChange();
  });
  scope.on((e) => {
    if (e.type === "ready" || (e.type === "state" && sel.value !== String(app.layer()))) fill();
  });
  return sel;
}

/** "smooth over": the readout's running-mean window (1 token is the raw readout). */
export function windowSelect(app: App, scope: Scope): HTMLSelectElement {
  const sel = h("select", { id: "window", "data-testid": "window-select" });
  const fill = () => {
    const info = app.emotions;
    const windows = info?.windows.length ? info.windows : [1];
    sel.replaceChildren(...windows.map((w) => option(String(w),
      `${w === 1 ? "1 token (raw)" : `${w} tokens`}${w === info?.defaultWindow ? " (default)" : ""}`)));
    sel.value = String(app.window());
  };
  fill();
  sel.addEventListener("change", () => {
    const w = Number(sel.value);
    app.update({ window: w === app.emotions?.defaultWindow ? null : w });
  });
  scope.on((e) => {
    if (e.type === "ready" || (e.type === "state" && sel.value !== String(app.window()))) fill();
  });
  return sel;
}

/** The readout of one token: a heading, the top-10 bar chart and the same as a numbered list. */
export class TokenReadout {
  readonly el: HTMLElement;
  private readonly heading = h("h3", { id: "readout-token" }, "No token yet");
  private readonly chart = h("div", { class: "bars" });
  private readonly list = h("ol", { id: "readout", "data-testid": "emotion-readout" });
  private token: Token | null = null;
  private readonly draw = frameThrottle(() => this.render());

  constructor(private readonly app: App) {
    this.el = h("section", { class: "readout", "aria-label": "emotion readout of a token" },
      h("h2", {}, "What the model represents at this token"),
      h("p", { class: "meta" }, "Projection of the residual stream on each of the emotion vectors, top 10. Hover or focus a token to see its own; these are functional representations, not feelings."),
      this.heading, this.chart, this.list);
  }

  show(t: Token) {
    this.token = t;
    this.draw();
  }

  private render() {
    const t = this.token;
    const names = this.app.emotions?.names ?? [];
    if (!t?.scores) return;
    const top = topK(t.scores, names, READOUT_TOP);
    this.heading.textContent = `Token ${JSON.stringify(t.text)} (${t.kind === "reply" ? "reply" : "prompt"}, layer ${this.app.layer()})`;
    this.list.replaceChildren(...top.map(([n, s]) => h("li", {}, `${n} ${s.toFixed(2)}`)));
    this.chart.replaceChildren(barChart(top, Math.max(280, Math.min(520, this.chart.clientWidth || 420)), "top emotions at this token"));
  }
}
