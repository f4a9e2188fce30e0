//! The Readout and Steer views' charts (Observable Plot): the top emotions of one token as
//! bars, and chosen emotions' scores across the tokens as lines.

import * as Plot from "@observablehq/plot";
import { CATEGORICAL } from "./colour";
import { finish } from "./plot";

const NEG = "rgb(33, 102, 172)";
const POS = "rgb(230, 97, 1)";

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
