//! Preferences: "Would you prefer to (A) … or (B) …?" asked in a chat turn; P(A) read from
//! the next-token probabilities of the letters where the assistant's answer begins, with and
//! without steering toward an emotion (the paper's preference experiments, in miniature).

import type { App, Scope } from "../app";
import { h } from "../dom";
import type { Steer } from "../engine/protocol";
import { DEFAULT_STRENGTH, formatStrength, STRENGTH_LIMIT } from "../share/steer-text";
import { preferenceShare, type Table } from "./analysis";
import { preferenceChart, type PreferenceBar } from "../charts/experiments";
import type { Jobs } from "./jobs";
import { PREFERENCE_DEFAULT, PREFERENCE_LETTERS, PREFERENCE_PAIRS, preferenceQuestion } from "./presets";
import { emotionSelect, paperCite, section, type Section } from "./section";

/** One pair under one condition: the two letters' probabilities. */
export interface PreferenceCell {
  pA: number;
  pB: number;
}

export interface PreferenceResult {
  steer: Steer;
  /** [unsteered, steered] per pair measured so far (the steered one may be missing). */
  cells: (PreferenceCell | undefined)[][];
}

/** "no steering" and e.g. "happy 0.15": the two conditions, in chart and table order. */
export function conditionNames(steer: Steer): [string, string] {
  return ["no steering", `${steer.name} ${formatStrength(steer.strength)}`];
}

/** One row per pair: P(A) in each condition, the change, and how much probability the two
 * letters hold together (low mass: the model wanted to say something else). */
export function preferenceTable(r: PreferenceResult): Table {
  const [off, on] = conditionNames(r.steer);
  const share = (c?: PreferenceCell) => (c ? preferenceShare(c.pA, c.pB) : NaN);
  const mass = (c?: PreferenceCell) => (c ? c.pA + c.pB : NaN);
  return {
    header: ["pair", "(A)", "(B)", `P(A) ${off}`, `P(A) ${on}`, "change", `p(A)+p(B) ${off}`, `p(A)+p(B) ${on}`],
    rows: r.cells.map(([a, b], i) => {
      const p = PREFERENCE_PAIRS[i]!;
      return [String(i + 1), p.a, p.b, share(a), share(b), share(b) - share(a), mass(a), mass(b)];
    }),
    digits: [0, 0, 0, 2, 2, 2, 3, 3],
  };
}

export function preferenceSection(app: App, scope: Scope, jobs: Jobs): Section {
  const emotion = emotionSelect(app, scope, "pref-emotion", PREFERENCE_DEFAULT.emotion);
  const strength = h("input", { type: "number", id: "pref-strength", "data-testid": "pref-strength", min: -STRENGTH_LIMIT, max: STRENGTH_LIMIT, step: 0.05, value: PREFERENCE_DEFAULT.strength });
  let result: PreferenceResult | null = null;

  const draw = () => {
    if (!result) return;
    const r = result;
    const conditions = conditionNames(r.steer);
    const bars: PreferenceBar[] = r.cells.flatMap((cs, i) => cs.flatMap((c, k) =>
      c ? [{ pair: String(i + 1), condition: conditions[k]!, pA: preferenceShare(c.pA, c.pB) }] : []));
    s.chart.replaceChildren(preferenceChart(bars, conditions, s.width()));
    s.setTable(preferenceTable(r), `P(A) per pair (letters compared: ${PREFERENCE_LETTERS.map((l) => JSON.stringify(l)).join(" and ")} as the assistant's first token)`);
  };

  const s = section(app, scope, jobs, {
    id: "pref",
    title: "Preferences: does an emotion tip a choice?",
    intro: [
      paperCite(), " finds that emotion vectors shape what the model prefers: activities it represents with positive emotion are chosen more often, and steering toward an emotion shifts its choices. ",
      "Here each pair is asked as ", h("q", {}, "Would you prefer to (A) … or (B) …? Answer with A or B."),
      " in a chat turn, and P(A) = p(A) / (p(A) + p(B)) is read from the probabilities that the assistant's first token is the letter A or B, ",
      "once unsteered and once steered toward the chosen emotion. The last columns of the table show how much probability the two letters hold at all: ",
      "a small model often starts its answer with something else, and it tends to favour one letter whatever the options are, so compare the change, not the level.",
    ],
    runLabel: "Run Preferences",
    reset() {
      result = null;
    },
    async job(ctx) {
      const names = app.emotions?.names ?? [];
      let k = Number(strength.value);
      if (!Number.isFinite(k) || strength.value.trim() === "") k = DEFAULT_STRENGTH;
      k = Math.max(-STRENGTH_LIMIT, Math.min(STRENGTH_LIMIT, k));
      strength.value = String(k);
      if (!names.includes(emotion.value)) throw new Error("choose an emotion");
      const steer: Steer = { name: emotion.value, strength: k };
      result = { steer, cells: [] };
      const total = PREFERENCE_PAIRS.length;
      for (const [i, pair] of PREFERENCE_PAIRS.entries()) {
        const cells: (PreferenceCell | undefined)[] = [];
        result.cells.push(cells);
        for (const [c, steers] of [[], [steer]].entries()) {
          s.status.textContent = `pair ${i + 1} of ${total}, ${c === 0 ? "unsteered" : "steered"}…`;
          const r = await ctx.probe({ prompt: preferenceQuestion(pair), chat: true, steer: steers, words: [...PREFERENCE_LETTERS] });
          cells.push({ pA: r.probs[0] ?? NaN, pB: r.probs[1] ?? NaN });
          draw();
        }
      }
      s.status.textContent = `done: ${total} pairs, each without and with ${conditionNames(steer)[1]}.`;
    },
  });
  s.controls.append(
    h("label", {}, "steer toward ", emotion),
    h("label", {}, "at strength ", strength),
  );
  return s;
}
