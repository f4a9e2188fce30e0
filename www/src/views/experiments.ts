//! Experiments: the paper's experiments as presets, each with its explanation, one Run button,
//! a Stop, a chart and the numbers in a table (modules in ../experiments/). One experiment
//! runs at a time; each is deterministic (no sampling, or greedy with a fixed seed).

import type { App, ViewDef } from "../app";
import { h } from "../dom";
import { doseSection } from "../experiments/dose";
import { feelSection } from "../experiments/feel";
import { Jobs } from "../experiments/jobs";
import { monitorSection } from "../experiments/monitor";
import { preferenceSection } from "../experiments/preferences";

function mount(root: HTMLElement, app: App) {
  const scope = app.scope();
  const jobs = new Jobs(app);
  const sections = [
    { s: doseSection(app, scope, jobs), title: "Dose" },
    { s: feelSection(app, scope, jobs), title: "How does he feel?" },
    { s: preferenceSection(app, scope, jobs), title: "Preferences" },
    { s: monitorSection(app, scope, jobs), title: "Monitor" },
  ];
  root.append(
    h("h2", { class: "visually-hidden" }, "Experiments"),
    h("p", {}, "Four experiments from the paper, run live in this tab on SmolLM2-135M. Each runs with one button and gives the same numbers every time; Stop ends it between measurements. The readout layer is the one chosen in the Readout view (default 21)."),
    h("nav", { "aria-label": "experiments" }, h("ul", { class: "exp-toc" },
      ...sections.map(({ s, title }) => h("li", {}, h("a", { href: `#${s.el.id}` }, title))))),
    ...sections.map(({ s }) => s.el),
  );
  return {
    dispose: () => {
      jobs.stop();
      scope.dispose();
    },
    // A link's autorun=1 runs the first experiment.
    generate: () => { void sections[0]!.s.run(); },
  };
}

export const view: ViewDef = { id: "experiments", title: "Experiments", order: 3, needsVectors: true, mount };
