import { describe, expect, it } from "vitest";
import {
  accuracyAt, doseCounts, feelRatios, median, parseReport, percent, signed, steeringReplies, steeringTable, steerLimits, steerVerdict, strengthText, strongest,
} from "./report";
import type { SteerMeasure } from "./report";
import text from "../../../docs/validation/report.json?raw";

const raw = JSON.parse(text) as Record<string, unknown>;

/** A deep copy of the real report with `path` set to `value` (or deleted when undefined). */
function edited(path: string, value: unknown): unknown {
  const copy = structuredClone(raw);
  const keys = path.split(".");
  let at = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  if (value === undefined) delete at[keys.at(-1)!];
  else at[keys.at(-1)!] = value;
  return copy;
}

describe("parseReport", () => {
  it("reads the committed report", () => {
    const r = parseReport(raw);
    expect(r.default_layer).toBe(raw.default_layer);
    expect(r.accuracy.top1.length).toBeGreaterThan(r.default_layer);
    expect(r.dose.map((d) => d.name)).toContain("tylenol");
    expect(r.geometry.correlations.pc_valence_r.length).toBeGreaterThanOrEqual(2);
  });

  it("names the first field that is missing or of the wrong kind", () => {
    expect(() => parseReport(edited("accuracy.top1", undefined))).toThrow("accuracy.top1 is missing");
    expect(() => parseReport(edited("geometry.correlations.pc_valence_r", ["x", 1]))).toThrow("pc_valence_r is not a list");
    expect(() => parseReport(edited("default_layer", "21"))).toThrow("default_layer is not a number");
    expect(() => parseReport(null)).toThrow(/validation report: .* is missing/);
  });
});

describe("summaries", () => {
  const r = parseReport(raw);

  it("accuracy at the default layer is the report's entry for that layer", () => {
    const a = accuracyAt(r);
    const acc = raw.accuracy as { top1: number[]; top5: number[]; chance_top1: number; cv_top1: number[] };
    expect(a.layer).toBe(raw.default_layer);
    expect(a.top1).toBe(acc.top1[a.layer]);
    expect(a.top5).toBe(acc.top5[a.layer]);
    expect(a.nEmotions).toBe(Math.round(1 / acc.chance_top1));
    expect(a.nLayers).toBe(acc.top1.length);
    // Where accuracy peaks is read from cross-validation, never from the test split.
    expect(acc.cv_top1.every((v) => v <= acc.cv_top1[a.bestLayer]!)).toBe(true);
    expect(() => accuracyAt(r, a.nLayers)).toThrow("no accuracy for layer");
  });

  it("strongest picks the largest |r|", () => {
    expect(strongest([0.1, -0.5, 0.3])).toEqual({ pc: 1, r: -0.5 });
  });

  it("counts dose templates where afraid rises and calm falls", () => {
    const c = doseCounts(r);
    expect(c.total).toBe(r.dose.length);
    expect(c.afraidRises).toBe(r.dose.filter((d) => d.spearman_afraid > 0.5).length);
    expect(c.calmFalls).toBe(r.dose.filter((d) => d.spearman_calm < -0.5).length);
  });

  it("feel ratios divide p steered (at each emotion's own strength, or a given one) by p unsteered; an unknown strength gives null", () => {
    const f = feelRatios(r)!;
    expect(f.length).toBe(r.steering.feel.length);
    const first = r.steering.feel[0]!;
    expect(f[0]!.ratio).toBeCloseTo(first.p.at(-1)! / first.p[0]!, 12);
    const s = first.strengths.at(-1)!;
    if (r.steering.feel.every((x) => x.strengths.includes(s))) expect(feelRatios(r, s)![0]!.ratio).toBeCloseTo(f[0]!.ratio, 12);
    expect(feelRatios(r, 0.77)).toBeNull();
  });

  it("steering table averages over prompts, strengths ascending", () => {
    const t = steeringTable(r);
    const emotion = t[0]![0]!.emotion;
    const runs = r.steering.runs.filter((x) => x.emotion === emotion && x.strength === 0);
    expect(t[0]![0]!.strength).toBe(0);
    expect(t[0]![0]!.sentiment).toBeCloseTo(runs.reduce((s, x) => s + x.sentiment, 0) / runs.length, 12);
    expect(t[0]![0]!.prompts).toBe(runs.length);
    for (const row of t) for (let i = 1; i < row.length; i++) expect(row[i]!.strength).toBeGreaterThan(row[i - 1]!.strength);
  });

  it("says whether the steering table's replies are sampled with seeds or greedy", () => {
    const runs = (raw.steering as { runs: Record<string, unknown>[] }).runs;
    const first = runs.filter((x) => x.emotion === runs[0]!.emotion && x.strength === runs[0]!.strength);
    const seeds = new Set(first.map((x) => x.seed)).size;
    const prompts = new Set(first.map((x) => x.prompt)).size;
    expect(steeringReplies(r)).toBe(`Sampled replies to ${prompts} neutral prompts with ${seeds} seeds each (${first.length} per cell)`);
    const greedy = structuredClone(runs);
    for (const x of greedy) delete x.seed;
    expect(steeringReplies(parseReport(edited("steering.runs", greedy)))).toBe(`Greedy replies to ${prompts} neutral prompts`);
  });

  it("reads each measured emotion's steering; older reports name the direction by contrastive and have no other sentences", () => {
    const rows = (raw.steering as { emotions: { emotion: string; p_feel_ratio: number; vader: number; p_feel_held_out: { ratio: number } }[] }).emotions;
    expect(r.steering.measured.map((m) => m.emotion)).toEqual(rows.map((e) => e.emotion));
    expect(r.steering.measured[0]!.ratio).toBe(rows[0]!.p_feel_ratio);
    expect(r.steering.measured[0]!.heldOut?.ratio).toBe(rows[0]!.p_feel_held_out.ratio);
    const old = structuredClone(rows) as Record<string, unknown>[];
    for (const e of old) { delete e.direction; delete e.valence; delete e.p_feel_held_out; delete e.lexicon; e.contrastive = true; }
    const o = parseReport(edited("steering.emotions", old));
    expect(o.steering.measured.every((m) => m.direction === "contrastive" && m.valence === null && m.heldOut === null && m.lexicon === null)).toBe(true);
    // The emotion lexicon has a category for sad, none for calm.
    expect(r.steering.measured.find((m) => m.emotion === "sad")?.lexicon?.category).toBe("sadness");
    expect(r.steering.measured.find((m) => m.emotion === "calm")?.lexicon).toBeNull();
  });

  it("says what steering does: own word taken up or not, and which way sentiment moves", () => {
    const m = (vader: number, ratio: number, valence: number | null): SteerMeasure => ({ emotion: "sad", direction: "mean", strength: 0.2, vader, ratio, valence, heldOut: null, lexicon: null, repeating: null });
    expect(steerVerdict(m(0.3, 1.3, -1), 0.71)).toBe("sad: p(“sad”) ×1.3 only: the model hardly takes up the word; replies turn less positive but stay positive on average (VADER +0.30 against +0.71 unsteered).");
    expect(steerVerdict(m(-0.4, 4, -1), 0.71)).toBe("sad: raises p(“sad”) ×4.0; replies turn negative (VADER −0.40 against +0.71 unsteered).");
    expect(steerVerdict(m(0.68, 4, -1), 0.71)).toContain("hardly moves its way");
    expect(steerVerdict(m(-0.004, 4, -1), 0.71)).toContain("replies turn about neutral on average (VADER 0.00 against +0.71 unsteered)");
    expect(steerVerdict({ ...m(0.9, 8.6, 1), emotion: "happy" }, 0.71)).toBe("happy: raises p(“happy”) ×8.6; replies turn more positive (VADER +0.90 against +0.71 unsteered).");
    expect(steerVerdict(m(0.3, 1.3, null), 0.71)).toContain("replies' sentiment VADER +0.30");
    // Other sentences of the same kind: said beside the paper's, and told apart from it when they disagree.
    const held = (ratio: number, heldOut: number) => ({ ...m(0.3, ratio, -1), heldOut: { ratio: heldOut, low: heldOut / 2, high: heldOut * 2 } });
    expect(steerVerdict(held(4, 5), 0.71)).toContain("raises p(“sad”) ×4.0 (×5.0, 2.5–10.0, over other sentences like it);");
    expect(steerVerdict(held(1.2, 6), 0.71)).toContain("p(“sad”) ×1.2 after “How does he feel? He feels” only, though ×6.0 (3.0–12.0) over other sentences like it");
    expect(steerVerdict(held(1.2, 1.5), 0.71)).toContain("p(“sad”) ×1.2 (×1.5, 0.8–3.0, over other sentences like it) only: the model hardly takes up the word");
    // The emotion lexicon's own-category words, where the report has them.
    const lex = { ...m(-0.004, 0.8, -1), lexicon: { category: "sadness", ratio: 3.61, low: 2.9, high: 4.42 } };
    expect(steerVerdict({ ...lex, lexicon: { category: "anger", ratio: 3.5, low: 0.7, high: Infinity } }, 0.71)).toContain("anger words ×3.5 (0.7–∞)");
    expect(steerVerdict(lex, 0.71)).toMatch(/about neutral on average \(VADER 0\.00 against \+0\.71 unsteered\); sadness words ×3\.6 \(2\.9–4\.4\) by the NRC emotion lexicon\.$/);
    // Replies that repeat a word: counted, with VADER over the others; most of them: said so.
    const rep = (count: number, vaderRest: number | null) => ({ ...m(0.85, 22, 1), emotion: "happy", repeating: { count, of: 30, vaderRest } });
    expect(steerVerdict(rep(0, 0.85), 0.44)).not.toContain("repeat");
    expect(steerVerdict(rep(2, 0.91), 0.44)).toMatch(/; 2 of 30 replies repeat a word or character over and over \(VADER \+0\.91 over the others\)\.$/);
    expect(steerVerdict(rep(18, 0.62), 0.44)).toMatch(/18 of 30 replies repeat .* \(VADER \+0\.62 over the others\): these numbers mostly measure repetition\.$/);
    expect(steerVerdict(rep(30, null), 0.44)).toMatch(/30 of 30 replies repeat a word or character over and over: these/);
  });

  it("says what no fluent setting of the sweep does, from the committed report and made-up ones", () => {
    const committed = steerLimits(parseReport(raw).steering.limits);
    expect(committed).toMatch(/^Over all \d+ settings the steering sweep tried per emotion/);
    expect(committed).toContain("for sad (the most: ×");
    expect(steerLimits(parseReport(edited("steering.limits", undefined)).steering.limits)).toBeNull();
    const l = (up: number, sad: number) => ({
      prompt: "He feels", settings: 108, feel: [{ emotion: "happy", fluent: 50, up: 31, best: 20.3 }, { emotion: "sad", fluent: 52, up, best: 2.5 }],
      sadVader: { best: sad, unsteered: 0.65 },
    });
    expect(steerLimits(l(0, 0.08))).toBe("Over all 108 settings the steering sweep tried per emotion (directions × layer sets × strengths; fluent: within the perplexity and repetition bounds), no fluent setting raises the own word threefold after “He feels” for sad (the most: ×2.5 over 52 fluent settings); and none makes sad's replies negative by VADER (the furthest takes them from +0.65 to +0.08): that is this model's and this method's limit, not only the chosen setting's.");
    expect(steerLimits(l(2, 0.08))).not.toContain("threefold after");
    expect(steerLimits(l(2, -0.3))).toMatch(/every measured emotion's word rises threefold at some fluent setting and sad's replies turn negative at one\.$/);
    expect(steerLimits({ ...l(2, 0), sadVader: null })).toMatch(/at some fluent setting\.$/);
  });

  it("formats numbers for the page", () => {
    expect(percent(0.43567)).toBe("43.6 %");
    expect(signed(-0.8286)).toBe("−0.83");
    expect(signed(0.39)).toBe("+0.39");
    expect(signed(-0.001)).toBe("0.00");
    expect(strengthText(0.15000000596046448)).toBe("0.15");
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
