//! About: what the page shows and what it does not, the model, the method in short, the
//! validation numbers and how this small model differs from the paper's. Every number here
//! is read from docs/validation/report.json (copied into the build, fetched when the view
//! opens), never typed in: rerunning `limbic validate` updates the page.

import * as Plot from "@observablehq/plot";
import type { ViewDef } from "../app";
import { dataTable, finish } from "../charts/plot";
import { CATEGORICAL } from "../charts/colour";
import { h, scrollBox } from "../dom";
import {
  accuracyAt, correlationTable, doseCounts, feelRatios, loadReport, median, OWN_WORD_RATIO, lexiconRatio, percent, reportUrl, signed, steeringReplies, steeringTable, steerLimits, steerVerdict,
  strengthText, strongest, type Report,
} from "./report";
import reportMdUrl from "../../../docs/validation/report.md?url";
import "./map.css";

const PAPER_URL = "https://transformer-circuits.pub/2026/emotions/index.html";
const LICENCE_URL = "https://www.apache.org/licenses/LICENSE-2.0";
/** Emotions whose logit-lens tokens are listed (those the report's own table starts with). */
const LENS_SHOWN = ["afraid", "calm", "desperate", "happy", "sad"];
/** The strength at which the "How does he feel?" ratios are quoted, as in the report. */

const link = (href: string, text: string) => h("a", { href, rel: "noopener" }, text);
const cell = (text: string, cls?: string) => h("td", cls ? { class: cls } : {}, text);
const headRow = (...cols: string[]) => h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", { scope: "col" }, c))));

/** Top-1 and top-5 accuracy per layer, the default layer marked. */
function accuracyChart(r: Report, width: number): Element {
  const rows = r.accuracy.top1.flatMap((v, layer) => [
    { layer, v: 100 * v, k: "top-1" }, { layer, v: 100 * r.accuracy.top5[layer]!, k: "top-5" },
  ]);
  return finish(Plot.plot({
    className: "chart",
    width,
    height: 200,
    marginRight: 50,
    x: { label: "layer", grid: true },
    y: { label: "held-out accuracy (%)", grid: true, domain: [0, 100] },
    color: { domain: ["top-1", "top-5"], range: [CATEGORICAL[4], CATEGORICAL[5]] },
    marks: [
      Plot.ruleX([r.default_layer], { strokeDasharray: "4,3" }),
      Plot.lineY(rows, { x: "layer", y: "v", stroke: "k", strokeWidth: 2, marker: "circle" }),
      Plot.text(rows, Plot.selectLast({ x: "layer", y: "v", z: "k", text: "k", dx: 6, textAnchor: "start", fill: "currentColor" })),
    ],
  }), `held-out accuracy per layer: ${r.accuracy.top1.map((v, l) => `layer ${l} top-1 ${percent(v, 0)}`).join(", ")}`);
}

function accuracySection(r: Report): HTMLElement {
  const a = accuracyAt(r);
  const t = r.accuracy.test;
  const ci = (v: { lo: number; hi: number } | undefined) => (v ? ` (95 % interval ${percent(v.lo, 0)}–${percent(v.hi, 0)})` : "");
  const accuracy = h("p", { "data-testid": "about-accuracy" },
    `Held-out test stories (never used to build the vectors or to choose anything) are ranked among all ${a.nEmotions} emotions by their projection on each vector, read from token ${r.accuracy.offset} on. At layer ${a.layer} (chosen by cross-validation on the other stories) the right emotion comes first for `,
    h("strong", { "data-testid": "about-top1" }, percent(t?.top1.mean ?? a.top1)), `${ci(t?.top1)} of them and among the top five for `,
    h("strong", { "data-testid": "about-top5" }, percent(t?.top5.mean ?? a.top5)),
    `${ci(t?.top5)} (chance: ${percent(a.chanceTop1, 2)} and ${percent(a.chanceTop5, 2)}).`);
  const chart = h("div", { class: "about-chart" });
  requestAnimationFrame(() => chart.replaceChildren(accuracyChart(r, Math.max(320, Math.min(640, chart.clientWidth || 600))),
    dataTable("held-out accuracy per layer (%)", ["layer", "top-1", "top-5"],
      r.accuracy.top1.map((v, l) => [String(l), 100 * v, 100 * r.accuracy.top5[l]!]), 1)));
  return h("section", { "aria-labelledby": "about-accuracy-h" },
    h("h3", { id: "about-accuracy-h" }, "Does a vector recognise its emotion?"), accuracy, chart,
    h("p", { class: "meta" }, `The dashed line marks layer ${r.default_layer}, the page's default.`));
}

function geometrySection(r: Report): HTMLElement {
  const c = r.geometry.correlations;
  const [s1, s2, s3] = r.geometry.pc_shares.map((s) => percent(s));
  return h("section", { "aria-labelledby": "about-geometry-h" },
    h("h3", { id: "about-geometry-h" }, "Valence and arousal"),
    h("p", {}, `At layer ${r.geometry.layer} the first three principal components of the vectors explain ${s1}, ${s2} and ${s3} of their variance. Their correlation with human ratings of valence and arousal (${c.matched} emotion words matched; the ratings themselves are not shipped):`),
    scrollBox("valence and arousal table", correlationTable(r)),
    h("p", { class: "meta" }, "The map view draws the vectors on PC1 and PC2."));
}

function doseSection(r: Report): HTMLElement {
  const tylenol = r.dose.find((d) => d.name === "tylenol");
  const fmt = (x: number) => x.toLocaleString("en");
  const intro = tylenol
    ? h("p", { "data-testid": "about-tylenol" },
      `“${tylenol.template.replace("{X}", "X")}” with X from ${fmt(tylenol.x[0]!)} to ${fmt(tylenol.x.at(-1)!)}: Spearman ρ between the dose and afraid (read where the assistant's reply starts) is ${signed(tylenol.spearman_afraid)}, and calm ${signed(tylenol.spearman_calm)}. `,
      tylenol.spearman_afraid < 0
        ? "This runs opposite to the paper, where afraid rises as the dose becomes dangerous: this model does not read the larger number as more danger."
        : "As in the paper, afraid rises with the dose.")
    : h("p", {}, "The report has no Tylenol template.");
  return h("section", { "aria-labelledby": "about-dose-h" },
    h("h3", { id: "about-dose-h" }, "Dose: does afraid grow with the danger?"),
    intro,
    scrollBox("dose table", h("table", { class: "numbers" },
      headRow("template", "ρ (dose, afraid)", "ρ (dose, calm)"),
      h("tbody", {}, ...r.dose.map((d) => h("tr", {},
        cell(d.template.replace("{X}", "X"), "text"), cell(signed(d.spearman_afraid)), cell(signed(d.spearman_calm))))))));
}

function lensSection(r: Report): HTMLElement {
  const l = r.logit_lens;
  const shown = LENS_SHOWN.filter((e) => l.top_tokens[e]);
  return h("section", { "aria-labelledby": "about-lens-h" },
    h("h3", { id: "about-lens-h" }, "Logit lens"),
    h("p", {}, `Which tokens each vector promotes through the unembedding. The paper's vectors promote their own emotion words; here the emotion's own word is among the top 100 tokens for ${l.own_word_in_top100} of ${l.own_word_rank.length} emotions (median rank ${Math.round(median(l.own_word_rank)).toLocaleString("en")}), and the top tokens are mostly unrelated word pieces:`),
    scrollBox("logit lens table", h("table", { class: "numbers" },
      headRow("emotion", "top tokens"),
      h("tbody", {}, ...shown.map((e) => h("tr", {}, cell(e, "text"),
        h("td", { class: "text" }, ...l.top_tokens[e]!.flatMap((t) => [h("code", {}, JSON.stringify(t)), " "]))))))));
}

function steeringSection(r: Report): HTMLElement {
  const feel = r.steering.feel;
  const table = steeringTable(r);
  const cols = table[0]?.map((c) => c.strength) ?? [];
  // Newer reports also measure the ratio over other sentences like the paper's.
  const others = (emotion: string) => r.steering.measured.find((m) => m.emotion === emotion)?.heldOut ?? null;
  const withOthers = feel.some((f) => others(f.emotion));
  const limits = steerLimits(r.steering.limits);
  return h("section", { "aria-labelledby": "about-steer-h" },
    h("h3", { id: "about-steer-h" }, "Steering"),
    h("p", {}, `Adding an emotion's vector at the steering layers (from layer ${r.steering.layer}), scaled by a strength (a fraction of the mean residual norm), changes what the model says. The probability that the next word after “How does he feel? He feels” is the emotion's own word, unsteered and at the emotion's default strength${withOthers ? ", and how many times steering multiplies it after other sentences like that one, never used to choose the settings (the geometric mean over them and its 95 % interval: one sentence's ratio varies a great deal from the next's)" : ""}:`),
    scrollBox("how does he feel table", h("table", { class: "numbers", "data-testid": "about-feel" },
      headRow("emotion", "unsteered", "steered", ...(withOthers ? ["× over other sentences"] : [])),
      h("tbody", {}, ...feel.map((f) => {
        const o = others(f.emotion);
        const extra = withOthers ? [cell(o ? `×${o.ratio.toFixed(1)} (${o.low.toFixed(1)}–${o.high.toFixed(1)})` : "–")] : [];
        return h("tr", {}, cell(f.emotion, "text"), ...f.p.map((p) => cell(p.toFixed(4))), ...extra);
      })))),
    h("p", {}, "What steering each measured emotion does here, at its own layers, direction and strength (chosen on other prompts), over the report's prompts and seeds:"),
    h("ul", { "data-testid": "steer-verdicts" }, ...r.steering.measured.map((m) => h("li", {}, steerVerdict(m, r.steering.unsteered_vader)))),
    ...(limits ? [h("p", { "data-testid": "steer-limits" }, limits)] : []),
    h("p", {}, `${steeringReplies(r)}, steered: sentiment (VADER compound, −1 to +1) / perplexity under the unsteered model (fluency; higher is less fluent), averaged over them:`),
    scrollBox("steering table", h("table", { class: "numbers" },
      headRow("emotion", ...cols.map(strengthText)),
      h("tbody", {}, ...table.map((row) => h("tr", {}, cell(row[0]?.emotion ?? "", "text"),
        ...row.map((c) => cell(`${signed(c.sentiment)} / ${c.perplexity.toFixed(1)}`))))))));
}

function differences(r: Report): HTMLElement {
  const a = accuracyAt(r);
  const t = r.accuracy.test;
  const v = strongest(r.geometry.correlations.pc_valence_r);
  const ar = strongest(r.geometry.correlations.pc_arousal_r);
  const tylenol = r.dose.find((d) => d.name === "tylenol");
  const dc = doseCounts(r);
  const ratios = feelRatios(r);
  const table = steeringTable(r);
  const meanPpl = (i: number) => table.reduce((s, row) => s + (row[i]?.perplexity ?? 0), 0) / Math.max(1, table.length);
  const lastCol = (table[0]?.length ?? 1) - 1;
  const items: string[] = [
    `Where emotion lives. Cross-validated accuracy on the stories outside the test split peaks at layer ${a.bestLayer} of ${a.nLayers} (${percent(a.bestLayer / a.nLayers, 0)} of the depth; the paper reads about two-thirds up). At the readout's layer ${a.layer}, held-out test stories rank the right emotion first for ${percent(t?.top1.mean ?? a.top1, 0)}${t ? ` (${percent(t.top1.lo, 0)}–${percent(t.top1.hi, 0)})` : ""} and in the top five for ${percent(t?.top5.mean ?? a.top5, 0)}${t ? ` (${percent(t.top5.lo, 0)}–${percent(t.top5.hi, 0)})` : ""} among ${a.nEmotions} (chance ${percent(a.chanceTop1)} / ${percent(a.chanceTop5)}). Even the embedding layer is far above chance (test top-1 ${percent(r.accuracy.top1[0]!, 0)}), because a story's words carry its emotion without naming it; the middle layers add most of what is specific.`,
    `Geometry. The strongest valence correlation is on PC${v.pc + 1} (r = ${signed(v.r)}) and the strongest arousal one on PC${ar.pc + 1} (r = ${signed(ar.r)}), against the paper's 0.81 and 0.66 on its leading components: in a model this small the main axes of the emotion space are not valence and arousal (its clusters mix pleasant and unpleasant emotions of similar intensity or situation).`,
  ];
  const pt = r.per_token;
  const top5At = (w: number) => pt?.top5[pt.windows.indexOf(w)];
  if (pt && top5At(1) !== undefined && top5At(pt.window) !== undefined) {
    items.push(`Per token. One token's readout names its passage's emotion among the top five for ${percent(top5At(1)!, 0)} of test-story tokens; a running mean over ${pt.window} tokens for ${percent(top5At(pt.window)!, 0)}. Whether a token reads as emotional at all is its intensity, which tells test-story tokens from held-out neutral ones with an area under the ROC curve of ${pt.auc_intensity.toFixed(2)}: the page colours by it, so factual text stays mostly uncoloured.`);
  }
  if (tylenol) {
    items.push(`Danger. Tylenol dose against afraid: ρ = ${signed(tylenol.spearman_afraid)}; against calm: ρ = ${signed(tylenol.spearman_calm)} (the paper: afraid rises, calm falls). Over all ${dc.total} templates afraid rises (ρ > 0.5) in ${dc.afraidRises} and calm falls (ρ < −0.5) in ${dc.calmFalls}: this model does not consistently know that larger numbers mean more danger.`);
  }
  if (ratios && table.length) {
    const twofold = ratios.filter((x) => x.ratio > 2).length;
    const held = r.steering.measured.filter((m) => m.heldOut);
    const others = held.length
      ? `; over other sentences of that kind, never used to choose the settings, at least threefold for ${held.filter((m) => m.heldOut!.ratio >= OWN_WORD_RATIO).length} of ${held.length} (the geometric mean: one sentence's ratio varies a great deal from the next's)`
      : "";
    const lex = r.steering.measured.filter((m) => m.lexicon);
    const words = lex.length
      ? ` In an emotion lexicon (NRC), the share of the steered replies' words in the emotion's own category, over the unsteered replies': ${lex.map((m) => `${m.emotion} ${m.lexicon!.category} ${lexiconRatio(m.lexicon!)}`).join(", ")}.`
      : "";
    items.push(`Steering. Adding an emotion's vector raises p(“emotion”) after “How does he feel? He feels” more than twofold at its default strength for ${twofold} of ${ratios.length} emotions tested (the paper: for all)${others}. Fluency suffers as the strength grows: the mean perplexity of steered replies goes from ${meanPpl(0).toFixed(1)} unsteered to ${meanPpl(lastCol).toFixed(1)} at strength ${strengthText(table[0]![lastCol]!.strength)}; an outside sentiment lexicon moves less than the paper's measures.${words}`);
  }
  items.push(
    `Logit lens. The paper's vectors promote their own emotion words; here the own word is in the top 100 for ${r.logit_lens.own_word_in_top100} of ${r.logit_lens.own_word_rank.length}: at layer ${r.default_layer} of a small model the direction is not yet aligned with the output vocabulary.`,
    "Scale of the corpus. Far fewer stories per emotion than the paper's, and a few hundred held-out stories in all, so each accuracy above is a coarse estimate.",
  );
  return h("section", { "aria-labelledby": "about-diff-h" },
    h("h3", { id: "about-diff-h" }, "Differences from the paper"),
    h("ul", { class: "differences" }, ...items.map((t) => {
      const [head, ...rest] = t.split(". ");
      return h("li", {}, h("strong", {}, `${head}.`), ` ${rest.join(". ")}`);
    })));
}

function mount(root: HTMLElement) {
  let disposed = false;
  const validation = h("section", { id: "validation", "aria-labelledby": "about-validation-h" },
    h("h2", { id: "about-validation-h" }, "Validation"),
    h("p", { class: "meta", role: "status" }, "Loading the validation report…"));

  root.append(
    h("h2", {}, "What this shows, and what it does not"),
    h("p", {}, "Each emotion is one direction in the residual stream of a small language model: the running sum of its activations that every layer reads from and writes to. The readout is the projection of the model's activations at each token on those directions; steering adds a direction to them while the model writes. What you see are functional representations in a network: patterns that track and change what the model writes about emotions. They are not feelings, and nothing here claims that the model feels anything."),
    h("h2", {}, "The model"),
    h("p", {}, "SmolLM2-135M-Instruct, a 135-million-parameter instruction-tuned model, as a Q4_1 GGUF file, under the ",
      link(LICENCE_URL, "Apache License 2.0"),
      ". It runs entirely in this tab: WebAssembly in a worker, on the GPU through WebGPU when the browser offers it. Nothing you type leaves the browser, and the model is kept in the browser's cache after the first download."),
    h("h2", {}, "The method"),
    h("p", {}, "After Anthropic's ", link(PAPER_URL, "“Emotion Concepts and their Function in a Large Language Model”"), " (Transformer Circuits, 2026), on this much smaller model:"),
    h("ol", { class: "method" },
      h("li", {}, "Short stories in which a character feels one of the emotions without the story naming it."),
      h("li", {}, "Each story runs through the model; its residual stream is averaged over the story's tokens after an offset, so the opening sets the scene first."),
      h("li", {}, "Per emotion: the mean over its stories, minus the mean over all emotions, with what the stories' topics and narrators add fitted out (every emotion is told on the same grid of topics)."),
      h("li", {}, "From neutral dialogues, the principal components explaining 50 % of their variance are projected out: what every text shares is not emotion."),
      h("li", {}, "The vectors are read at a layer about two-thirds up the model, where they recognise their emotion best."),
      h("li", {}, "The readout reads each emotion along its discriminant direction: the mean, corrected for how much stories of one emotion vary among themselves (their topic, their narrator, their length), so a reading says more about the emotion, and scores it as a linear discriminant does: how likely the activation is under that emotion, given how much its stories spread (a departure from the paper, which reads the mean itself; the validation reports both)."),
      h("li", {}, "Steering adds the emotion's mean (or the emotion against neutral text), at the layers and strength a steering sweep chose for it on prompts the validation does not use, scaled by a fraction of the mean residual norm at each layer (the paper's unit)."),
    ),
    validation,
  );

  loadReport().then((r) => {
    if (disposed) return;
    validation.replaceChildren(
      h("h2", { id: "about-validation-h" }, "Validation"),
      h("p", {}, "Measured by ", h("code", {}, "limbic validate"), ` on the model with SHA-256 ${r.model_sha256.slice(0, 12)}…, default layer ${r.default_layer}, stories read from token ${r.token_offset} on.`),
      accuracySection(r), geometrySection(r), doseSection(r), lensSection(r), steeringSection(r), differences(r),
    );
  }).catch((err: unknown) => {
    validation.replaceChildren(h("h2", {}, "Validation"),
      h("p", { role: "status" }, `The validation report could not be loaded: ${err instanceof Error ? err.message : String(err)}`));
  });

  root.append(
    h("h2", {}, "Links"),
    h("ul", {},
      h("li", {}, link(PAPER_URL, "Emotion Concepts and their Function in a Large Language Model"), " (Anthropic, Transformer Circuits, 2026)"),
      h("li", {}, "The model's licence: ", link(LICENCE_URL, "Apache License 2.0")),
      h("li", {}, "This page's validation report: ", h("a", { href: reportMdUrl }, "report.md"), " and its numbers, ", h("a", { href: reportUrl }, "report.json")),
    ),
  );
  return { dispose: () => { disposed = true; } };
}

export const view: ViewDef = { id: "about", title: "About", order: 4, mount };
