//! "How does he feel?": steer toward an emotion at rising strength and read the probability
//! that the next token after "How does he feel? He feels" is that emotion's word (and a few
//! others'), as the paper does to show that steering is causal.

import type { App, Scope } from "../app";
import { h } from "../dom";
import { formatStrength } from "../share/steer-text";
import type { Table } from "./analysis";
import { feelChart } from "../charts/experiments";
import type { Jobs } from "./jobs";
import { FEEL_PROMPT, FEEL_STRENGTHS, feelToken, feelWords } from "./presets";
import { emotionSelect, paperCite, section, type Section } from "./section";

export interface FeelResult {
  emotion: string;
  /** The tokens whose probability is read, e.g. " sad". */
  words: string[];
  /** probs[i][j]: p(words[j]) at FEEL_STRENGTHS[i]. */
  probs: number[][];
}

/** One row per strength measured so far, a column per word. */
export function feelTable(r: FeelResult): Table {
  return {
    header: [`strength toward ${r.emotion}`, ...r.words.map((w) => `p(${JSON.stringify(w)})`)],
    rows: r.probs.map((ps, i) => [formatStrength(FEEL_STRENGTHS[i]!), ...ps]),
    digits: [0, ...r.words.map(() => 4)],
  };
}

/** The layers steering toward `emotion` adds to. */
function layersOf(app: App, emotion: string): string {
  const e = app.emotions;
  const i = e ? e.names.indexOf(emotion) : -1;
  return (e && i >= 0 ? (e.steerLayersOf?.[i] ?? e.steerLayers) : []).join(", ") || "?";
}

export function feelSection(app: App, scope: Scope, jobs: Jobs): Section {
  const emotion = emotionSelect(app, scope, "feel-emotion", "sad");
  let result: FeelResult | null = null;

  const draw = () => {
    if (!result || result.probs.length === 0) return;
    const r = result;
    const n = r.probs.length;
    const series = r.words.map((w, j) => ({ name: w, values: r.probs.map((ps) => ps[j]!) }));
    s.chart.replaceChildren(feelChart(FEEL_STRENGTHS.slice(0, n), series, r.emotion, s.width()));
    s.setTable(feelTable(r), `p(next token) after ${JSON.stringify(FEEL_PROMPT)}, steered toward ${r.emotion} at layers ${layersOf(app, r.emotion)}`);
  };

  const s = section(app, scope, jobs, {
    id: "feel",
    title: "How does he feel? Steering moves the next word",
    intro: [
      "To show that the emotion vectors do something, not just correlate, ", paperCite(),
      " adds a vector to the residual stream and watches the model's words change. Here the prompt is the plain text ",
      h("q", {}, FEEL_PROMPT), " and the model is steered toward the chosen emotion at strengths 0, 0.1, 0.2 and 0.3 (fractions of the residual norm) ",
      "at the vectors' layer; the chart shows the probability that the next token is the emotion's word (its first token, with the leading space), beside a few other emotion words. ",
      "On this model, at their default strengths, calm, happy, afraid and angry rise at least threefold on this sentence; sad and desperate do not here, though both do over eight other sentences of the kind (docs/validation/report.md, section 5).",
    ],
    runLabel: "Run How does he feel?",
    reset() {
      result = null;
    },
    async job(ctx) {
      const names = app.emotions?.names ?? [];
      const chosen = emotion.value;
      if (!names.includes(chosen)) throw new Error("choose an emotion");
      result = { emotion: chosen, words: feelWords(chosen, names).map(feelToken), probs: [] };
      for (const [i, strength] of FEEL_STRENGTHS.entries()) {
        s.status.textContent = `strength ${formatStrength(strength)} (${i + 1} of ${FEEL_STRENGTHS.length})…`;
        const steer = strength === 0 ? [] : [{ name: chosen, strength }];
        const r = await ctx.probe({ prompt: FEEL_PROMPT, chat: false, steer, words: result.words });
        result.probs.push(Array.from(r.probs));
        draw();
      }
      const p = result.probs;
      s.status.textContent = `done: p(${JSON.stringify(result.words[0])}) went from ${p[0]![0]!.toFixed(4)} at 0 to ${p[p.length - 1]![0]!.toFixed(4)} at ${formatStrength(FEEL_STRENGTHS[FEEL_STRENGTHS.length - 1]!)}.`;
    },
  });
  s.controls.append(h("label", {}, "steer toward ", emotion));
  return s;
}
