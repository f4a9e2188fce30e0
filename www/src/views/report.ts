//! The validation report (docs/validation/report.json, written by `limbic validate`): its
//! shape as the page uses it, a checked parse, and the summaries About and the map show.
//! Every number those views print comes from here, so nothing is typed in twice.
//!
//! The file is copied into the build as an asset (Vite `?url`) and fetched when a view needs
//! it: it is 250 kB (mostly Austen passages), too much to put in the page's script.

import reportUrl from "../../../docs/validation/report.json?url";
import { h } from "../dom";

export { reportUrl };

export interface DoseResult {
  name: string;
  /** The prompt, with `{X}` where the dose goes. */
  template: string;
  x: number[];
  afraid: number[];
  calm: number[];
  spearman_afraid: number;
  spearman_calm: number;
}

export interface SteeringRun {
  emotion: string;
  prompt: string;
  strength: number;
  /** VADER compound, −1 … +1. */
  sentiment: number;
  /** Of the steered reply under the unsteered model. */
  perplexity: number;
  text: string;
  /** The sampler's seed; null for a greedy reply. */
  seed: number | null;
}

/** A share with its 95 % interval. */
export interface Interval {
  mean: number;
  lo: number;
  hi: number;
}

function interval(obj: unknown, path: string): Interval {
  return { mean: number(obj, `${path}.mean`), lo: number(obj, `${path}.lo`), hi: number(obj, `${path}.hi`) };
}

export interface Report {
  model_sha256: string;
  default_layer: number;
  token_offset: number;
  accuracy: {
    /** Per layer: share of held-out stories whose emotion ranks first / in the top 5. */
    top1: number[];
    top5: number[];
    chance_top1: number;
    chance_top5: number;
    offset: number;
    /** The test split at the default layer, with 95 % bootstrap intervals (v2 reports). */
    test?: { top1: Interval; top5: Interval };
    /** Per layer: cross-validated top-1 on the stories outside the test split (v2 reports). */
    cv_top1?: number[];
  };
  /** The per-token readout on the test split (v2 reports): top-5 per smoothing window, the
   * window the page uses, and how well the intensity tells emotional from neutral tokens. */
  per_token?: { windows: number[]; window: number; top5: number[]; auc_intensity: number };
  geometry: {
    layer: number;
    /** Share of variance per principal component of the vectors. */
    pc_shares: number[];
    correlations: {
      /** Emotion words found in the human norms. */
      matched: number;
      /** Pearson r of PC1, PC2, PC3 with human valence / arousal. */
      pc_valence_r: number[];
      pc_arousal_r: number[];
    };
  };
  dose: DoseResult[];
  logit_lens: {
    own_word_in_top100: number;
    /** Per emotion: rank of its own word's first token in its vector's logit lens. */
    own_word_rank: number[];
    top_tokens: Record<string, string[]>;
  };
  steering: {
    layer: number;
    strengths: number[];
    /** p(next token = " emotion") after "How does he feel? He feels", steered with it. */
    feel: { emotion: string; strengths: number[]; p: number[] }[];
    runs: SteeringRun[];
    /** Per measured emotion: what steering toward it did at its own setting. */
    measured: SteerMeasure[];
    unsteered_vader: number;
    /** What no setting of the sweep does (newer reports only). */
    limits: SteerLimits | null;
  };
}

/** Over every setting the steering sweep measured (directions × layer sets × strengths), what
 * none that stays fluent does: per swept emotion at the paper's sentence, its fluent settings,
 * how many raise p(" emotion") threefold and the most one does; *sad*'s furthest fluent replies
 * by VADER on the choice's prompts, against those prompts unsteered. */
export interface SteerLimits {
  prompt: string;
  settings: number;
  feel: { emotion: string; fluent: number; up: number; best: number }[];
  sadVader: { best: number; unsteered: number } | null;
}

/** Steering toward one emotion at its own setting, over the report's prompts and seeds. */
export interface SteerMeasure {
  emotion: string;
  direction: string;
  strength: number;
  /** Mean VADER compound of the steered replies. */
  vader: number;
  /** p(" emotion") after "How does he feel? He feels", steered over unsteered. */
  ratio: number;
  /** The same ratio over other sentences of that kind, never used in the choice: the geometric
   * mean and its 95 % interval (null in older reports). */
  heldOut: { ratio: number; low: number; high: number } | null;
  /** +1 or −1: the way the emotion should move sentiment (null in older reports). */
  valence: number | null;
  /** The share of the replies' words in the emotion's own NRC emotion-lexicon category, steered
   * over unsteered, with its 95 % interval (null where the lexicon has no category for it, and
   * in older reports). */
  lexicon: { category: string; ratio: number; low: number; high: number } | null;
  /** How many of the replies repeat one word over half their words or one character ten times
   * running, of how many, and the mean VADER of the others (null where none is left; the whole
   * field null in reports before 8 December 2026). */
  repeating: { count: number; of: number; vaderRest: number | null } | null;
}

/** A lexicon ratio's end: null in the report where some resamples had no unsteered word of the
 * category (no finite bound). */
function unbounded(e: unknown, path: string): number {
  return field(e, path) === null ? Infinity : number(e, path);
}

type Json = Record<string, unknown>;

function field(obj: unknown, path: string): unknown {
  let at: unknown = obj;
  for (const key of path.split(".")) {
    if (typeof at !== "object" || at === null || !(key in at)) throw new Error(`validation report: ${path} is missing`);
    at = (at as Json)[key];
  }
  return at;
}

function has(obj: unknown, path: string): boolean {
  try {
    field(obj, path);
    return true;
  } catch {
    return false;
  }
}

function number(obj: unknown, path: string): number {
  const v = field(obj, path);
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`validation report: ${path} is not a number`);
  return v;
}

function numbers(obj: unknown, path: string, min = 1): number[] {
  const v = field(obj, path);
  if (!Array.isArray(v) || v.length < min || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw new Error(`validation report: ${path} is not a list of at least ${min} numbers`);
  }
  return v as number[];
}

function list(obj: unknown, path: string): unknown[] {
  const v = field(obj, path);
  if (!Array.isArray(v)) throw new Error(`validation report: ${path} is not a list`);
  return v;
}

function string(obj: unknown, path: string): string {
  const v = field(obj, path);
  if (typeof v !== "string") throw new Error(`validation report: ${path} is not text`);
  return v;
}

/** The report from its parsed JSON, checked field by field (a clear error names the first
 * field that is missing or of the wrong kind). Fields the page does not use are dropped. */
export function parseReport(raw: unknown): Report {
  const topTokens = field(raw, "logit_lens.top_tokens");
  if (typeof topTokens !== "object" || topTokens === null) throw new Error("validation report: logit_lens.top_tokens is not an object");
  const report: Report = {
    model_sha256: string(raw, "model_sha256"),
    default_layer: number(raw, "default_layer"),
    token_offset: number(raw, "token_offset"),
    accuracy: {
      top1: numbers(raw, "accuracy.top1"),
      top5: numbers(raw, "accuracy.top5"),
      chance_top1: number(raw, "accuracy.chance_top1"),
      chance_top5: number(raw, "accuracy.chance_top5"),
      offset: number(raw, "accuracy.offset"),
      test: has(raw, "accuracy.test.fit")
        ? { top1: interval(raw, "accuracy.test.fit.top1"), top5: interval(raw, "accuracy.test.fit.top5") }
        : undefined,
      cv_top1: has(raw, "accuracy.cv_top1") ? numbers(raw, "accuracy.cv_top1") : undefined,
    },
    per_token: has(raw, "per_token")
      ? {
          windows: numbers(raw, "per_token.windows"),
          window: number(raw, "per_token.window"),
          top5: numbers(raw, "per_token.top5"),
          auc_intensity: number(raw, "per_token.auc_intensity"),
        }
      : undefined,
    geometry: {
      layer: number(raw, "geometry.layer"),
      pc_shares: numbers(raw, "geometry.pc_shares"),
      correlations: {
        matched: number(raw, "geometry.correlations.matched"),
        pc_valence_r: numbers(raw, "geometry.correlations.pc_valence_r", 2),
        pc_arousal_r: numbers(raw, "geometry.correlations.pc_arousal_r", 2),
      },
    },
    dose: list(raw, "dose").map((d) => ({
      name: string(d, "name"), template: string(d, "template"), x: numbers(d, "x", 2),
      afraid: numbers(d, "afraid", 2), calm: numbers(d, "calm", 2),
      spearman_afraid: number(d, "spearman_afraid"), spearman_calm: number(d, "spearman_calm"),
    })),
    logit_lens: {
      own_word_in_top100: number(raw, "logit_lens.own_word_in_top100"),
      own_word_rank: numbers(raw, "logit_lens.own_word_rank"),
      top_tokens: Object.fromEntries(Object.entries(topTokens).filter(([, v]) => Array.isArray(v) && v.every((t) => typeof t === "string"))) as Record<string, string[]>,
    },
    steering: {
      layer: number(raw, "steering.layer"),
      strengths: numbers(raw, "steering.strengths"),
      feel: list(raw, "steering.feel").map((f) => {
        const strengths = numbers(f, "strengths", 2);
        const p = numbers(f, "p", 2);
        if (p.length !== strengths.length) throw new Error("validation report: steering.feel has p and strengths of different lengths");
        return { emotion: string(f, "emotion"), strengths, p };
      }),
      runs: list(raw, "steering.runs").map((r) => ({
        emotion: string(r, "emotion"), prompt: string(r, "prompt"), strength: number(r, "strength"),
        sentiment: number(r, "sentiment"), perplexity: number(r, "perplexity"), text: string(r, "text"),
        seed: has(r, "seed") && field(r, "seed") !== null ? number(r, "seed") : null,
      })),
      measured: list(raw, "steering.emotions").map((e) => ({
        emotion: string(e, "emotion"), strength: number(e, "strength"), vader: number(e, "vader"), ratio: number(e, "p_feel_ratio"),
        // Older reports say `contrastive: true|false`.
        direction: has(e, "direction") ? string(e, "direction") : field(e, "contrastive") === true ? "contrastive" : "mean",
        valence: has(e, "valence") ? number(e, "valence") : null,
        heldOut: has(e, "p_feel_held_out")
          ? { ratio: number(e, "p_feel_held_out.ratio"), low: number(e, "p_feel_held_out.low"), high: number(e, "p_feel_held_out.high") }
          : null,
        lexicon: has(e, "lexicon")
          ? { category: string(e, "lexicon.category"), ratio: unbounded(e, "lexicon.ratio"), low: unbounded(e, "lexicon.low"), high: unbounded(e, "lexicon.high") }
          : null,
        repeating: has(e, "repeating")
          ? {
            count: number(e, "repeating"), of: number(e, "replies"),
            vaderRest: field(e, "vader_not_repeating") === null ? null : number(e, "vader_not_repeating"),
          }
          : null,
      })),
      unsteered_vader: number(raw, "steering.unsteered_vader"),
      limits: has(raw, "steering.limits")
        ? {
          prompt: string(raw, "steering.limits.prompt"),
          settings: number(raw, "steering.limits.settings"),
          feel: list(raw, "steering.limits.feel").map((f) => ({
            emotion: string(f, "emotion"), fluent: number(f, "fluent"), up: number(f, "up"), best: number(f, "best"),
          })),
          sadVader: field(raw, "steering.limits.sad_vader") === null
            ? null
            : { best: number(raw, "steering.limits.sad_vader.best"), unsteered: number(raw, "steering.limits.sad_vader.unsteered") },
        }
        : null,
    },
  };
  if (report.accuracy.top1.length !== report.accuracy.top5.length) throw new Error("validation report: accuracy.top1 and top5 differ in length");
  return report;
}

let loading: Promise<Report> | null = null;

/** The report, fetched once from the build's copy. */
export function loadReport(): Promise<Report> {
  loading ??= fetch(reportUrl).then(async (r) => {
    if (!r.ok) throw new Error(`validation report: HTTP ${r.status}`);
    return parseReport(await r.json());
  });
  loading.catch(() => { loading = null; });
  return loading;
}

/** "43.6 %": a share (0–1) as a percentage with `digits` decimals. */
export function percent(share: number, digits = 1): string {
  return `${(100 * share).toFixed(digits)} %`;
}

/** "+0.39" / "−0.83": a signed number with a real minus sign. */
export function signed(v: number, digits = 2): string {
  const s = Math.abs(v).toFixed(digits);
  return Number(s) === 0 ? s : `${v < 0 ? "−" : "+"}${s}`;
}

export interface AccuracySummary {
  layer: number;
  nLayers: number;
  /** How many emotions each story is ranked among (1 / chance). */
  nEmotions: number;
  top1: number;
  top5: number;
  chanceTop1: number;
  chanceTop5: number;
  /** The layer with the highest cross-validated top-1 (never chosen on the test split; in
   * reports without cross-validation, the highest held-out top-1). */
  bestLayer: number;
}

/** Held-out accuracy at `layer` (the report's default layer when left out). */
export function accuracyAt(r: Report, layer = r.default_layer): AccuracySummary {
  const a = r.accuracy;
  if (layer < 0 || layer >= a.top1.length) throw new Error(`validation report: no accuracy for layer ${layer}`);
  const chooseOn = a.cv_top1?.length === a.top1.length ? a.cv_top1 : a.top1;
  let bestLayer = 0;
  chooseOn.forEach((v, l) => { if (v > chooseOn[bestLayer]!) bestLayer = l; });
  return {
    layer, nLayers: a.top1.length, nEmotions: Math.round(1 / a.chance_top1),
    top1: a.top1[layer]!, top5: a.top5[layer]!, chanceTop1: a.chance_top1, chanceTop5: a.chance_top5, bestLayer,
  };
}

/** The component (0-based) with the largest |r|, and that r. */
export function strongest(rs: readonly number[]): { pc: number; r: number } {
  let pc = 0;
  rs.forEach((r, i) => { if (Math.abs(r) > Math.abs(rs[pc]!)) pc = i; });
  return { pc, r: rs[pc]! };
}

/** How many dose templates see afraid rise (ρ > `t`) and calm fall (ρ < −`t`), as the paper's
 * model does when the danger grows. */
export function doseCounts(r: Report, t = 0.5): { total: number; afraidRises: number; calmFalls: number } {
  return {
    total: r.dose.length,
    afraidRises: r.dose.filter((d) => d.spearman_afraid > t).length,
    calmFalls: r.dose.filter((d) => d.spearman_calm < -t).length,
  };
}

/** Per emotion: p(" emotion") steered at `strength` (default: each emotion's own steered
 * strength, the last it was measured at) over p unsteered; null when one lacks that strength. */
export function feelRatios(r: Report, strength?: number): { emotion: string; p0: number; p: number; ratio: number }[] | null {
  const out = [];
  for (const f of r.steering.feel) {
    const i = strength === undefined ? f.strengths.length - 1 : f.strengths.findIndex((s) => Math.abs(s - strength) < 1e-6);
    const i0 = f.strengths.findIndex((s) => s === 0);
    if (i < 0 || i0 < 0 || i === i0) return null;
    out.push({ emotion: f.emotion, p0: f.p[i0]!, p: f.p[i]!, ratio: f.p[i]! / f.p[i0]! });
  }
  return out;
}

export interface SteeringCell {
  emotion: string;
  strength: number;
  /** Means over the report's prompts. */
  sentiment: number;
  perplexity: number;
  prompts: number;
}

/** Sentiment and perplexity of the steered replies, averaged over prompts, per emotion
 * (in the report's order) and strength (ascending). */
export function steeringTable(r: Report): SteeringCell[][] {
  const emotions = [...new Set(r.steering.runs.map((x) => x.emotion))];
  return emotions.map((emotion) => {
    const runs = r.steering.runs.filter((x) => x.emotion === emotion);
    const strengths = [...new Set(runs.map((x) => x.strength))].sort((a, b) => a - b);
    return strengths.map((strength) => {
      const at = runs.filter((x) => x.strength === strength);
      const mean = (f: (x: SteeringRun) => number) => at.reduce((s, x) => s + f(x), 0) / at.length;
      return { emotion, strength, sentiment: mean((x) => x.sentiment), perplexity: mean((x) => x.perplexity), prompts: at.length };
    });
  });
}

/** What each cell of {@link steeringTable} averages: greedy replies, or replies sampled with
 * seeds (what the report measures since the choice and the report sample alike). */
export function steeringReplies(r: Report): string {
  const runs = r.steering.runs.filter((x) => x.emotion === r.steering.runs[0]?.emotion && x.strength === r.steering.runs[0]?.strength);
  const seeds = new Set(runs.flatMap((x) => (x.seed === null ? [] : [x.seed]))).size;
  const prompts = new Set(runs.map((x) => x.prompt)).size;
  return seeds
    ? `Sampled replies to ${prompts} neutral prompts with ${seeds} seeds each (${runs.length} per cell)`
    : `Greedy replies to ${prompts} neutral prompts`;
}

/** How many times steering must raise p(" emotion") to count as taking the word up (the
 * threshold the validation asks of each measured emotion). */
export const OWN_WORD_RATIO = 3;

/** What the model cannot be steered to, said plainly from the sweep's {@link SteerLimits}:
 * the emotions whose word no fluent setting raises threefold after the paper's sentence, and
 * whether any fluent setting makes *sad*'s replies negative; `null` for a report without them. */
export function steerLimits(l: SteerLimits | null): string | null {
  if (!l) return null;
  const said: string[] = [];
  const none = l.feel.filter((f) => f.up === 0);
  if (none.length) {
    said.push(`no fluent setting raises the own word threefold after “${l.prompt}” for ${none.map((f) => `${f.emotion} (the most: ×${f.best.toFixed(1)} over ${f.fluent} fluent settings)`).join(", ")}`);
  }
  // VADER's own convention: a compound below −0.05 is negative.
  if (l.sadVader && l.sadVader.best >= -0.05) {
    said.push(`none makes sad's replies negative by VADER (the furthest takes them from ${signed(l.sadVader.unsteered)} to ${signed(l.sadVader.best)})`);
  }
  const of = `Over all ${l.settings} settings the steering sweep tried per emotion (directions × layer sets × strengths; fluent: within the perplexity and repetition bounds)`;
  return said.length
    ? `${of}, ${said.join("; and ")}: that is this model's and this method's limit, not only the chosen setting's.`
    : `${of}, every measured emotion's word rises threefold at some fluent setting${l.sadVader ? " and sad's replies turn negative at one" : ""}.`;
}

/** One sentence on what steering toward `m` does, from the report's measures: whether it
 * takes up its own word, and which way the replies' sentiment moves (`unsteered`: their VADER
 * without steering). */
export function steerVerdict(m: SteerMeasure, unsteered: number): string {
  const word = `p(“${m.emotion}”) ×${m.ratio.toFixed(1)}`;
  const h = m.heldOut;
  const others = h ? ` (×${h.ratio.toFixed(1)}, ${h.low.toFixed(1)}–${h.high.toFixed(1)}, over other sentences like it)` : "";
  const up = (x: number) => x >= OWN_WORD_RATIO;
  let own: string;
  if (up(m.ratio)) own = `raises ${word}${others}`;
  else if (h && up(h.ratio)) own = `${word} after “How does he feel? He feels” only, though ×${h.ratio.toFixed(1)} (${h.low.toFixed(1)}–${h.high.toFixed(1)}) over other sentences like it: the word's rise depends on the sentence`;
  else own = `${word}${others} only: the model hardly takes up the word`;
  const vs = `VADER ${signed(m.vader)} against ${signed(unsteered)} unsteered`;
  const shift = m.valence === null ? 0 : (m.vader - unsteered) * m.valence;
  let mood: string;
  if (m.valence === null) mood = `replies' sentiment ${vs}`;
  else if (shift < 0.1) mood = `replies' sentiment hardly moves its way (${vs})`;
  else if (m.valence > 0) mood = `replies turn more positive (${vs})`;
  // VADER's own convention: a compound within ±0.05 is neutral.
  else if (Math.abs(m.vader) < 0.05) mood = `replies turn about neutral on average (${vs})`;
  else if (m.vader < 0) mood = `replies turn negative (${vs})`;
  else mood = `replies turn less positive but stay positive on average (${vs})`;
  const l = m.lexicon;
  const words = l ? `; ${l.category} words ${lexiconRatio(l)} by the NRC emotion lexicon` : "";
  const r = m.repeating;
  const rest = r?.vaderRest == null ? "" : ` (VADER ${signed(r.vaderRest)} over the others)`;
  const repeats = r && r.count > 0
    ? `; ${r.count} of ${r.of} replies repeat a word or character over and over${rest}${2 * r.count >= r.of ? ": these numbers mostly measure repetition" : ""}`
    : "";
  return `${m.emotion}: ${own}; ${mood}${words}${repeats}.`;
}

/** A lexicon ratio with its interval: "×3.6 (2.0–8.1)". */
export function lexiconRatio(l: NonNullable<SteerMeasure["lexicon"]>): string {
  return `×${ratioText(l.ratio)} (${ratioText(l.low)}–${ratioText(l.high)})`;
}

/** A ratio to one decimal, "∞" where it has no finite bound. */
export function ratioText(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : "∞";
}

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Shares a strength as text ("0.15", "0.3", "0"): floats stored as f32 print cleanly. */
export function strengthText(s: number): string {
  return String(Number(s.toFixed(3)));
}

/** The table of Pearson r between the vectors' PC1..3 and human valence / arousal, with a
 * caption naming how many emotion words the norms matched. */
export function correlationTable(r: Report): HTMLTableElement {
  const c = r.geometry.correlations;
  const n = Math.min(c.pc_valence_r.length, c.pc_arousal_r.length);
  const pcs = Array.from({ length: n }, (_, i) => `PC${i + 1}`);
  return h("table", { class: "numbers", "data-testid": "va-correlations" },
    h("caption", {}, `Pearson r with human ratings, ${c.matched} emotion words matched, layer ${r.geometry.layer}`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), ...pcs.map((p) => h("th", { scope: "col" }, p)))),
    h("tbody", {},
      h("tr", {}, h("th", { scope: "row" }, "valence"), ...c.pc_valence_r.slice(0, n).map((v) => h("td", {}, signed(v)))),
      h("tr", {}, h("th", { scope: "row" }, "arousal"), ...c.pc_arousal_r.slice(0, n).map((v) => h("td", {}, signed(v)))),
    ));
}

/** What the Compare view shows of a model's report: each number null where the report lacks it. */
export interface ReportSummary {
  layer: number | null;
  /** Test split at the readout layer, 95 % bootstrap intervals. */
  top1: Interval | null;
  top5: Interval | null;
  /** Largest |r| of the vectors' principal components with human valence / arousal. */
  valence: number | null;
  arousal: number | null;
  /** How well the per-token intensity tells emotional from neutral tokens. */
  auc: number | null;
}

/** The summary of a report's parsed JSON; read leniently (a model's report may be of another
 * version), but a value present of the wrong kind is an error. Not a report at all: an error. */
export function summariseReport(raw: unknown): ReportSummary {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("validation report: not a JSON object");
  const opt = <T>(path: string, read: (o: unknown, p: string) => T): T | null => (has(raw, path) ? read(raw, path) : null);
  const maxAbs = (path: string) => opt(path, (o, p) => Math.abs(strongest(numbers(o, p)).r));
  return {
    layer: opt("default_layer", number),
    top1: opt("accuracy.test.fit.top1", interval),
    top5: opt("accuracy.test.fit.top5", interval),
    valence: maxAbs("geometry.correlations.pc_valence_r"),
    arousal: maxAbs("geometry.correlations.pc_arousal_r"),
    auc: opt("per_token.auc_intensity", number),
  };
}

/** "45.8 % (41.5–50.1 %)": a share with its 95 % interval. */
export function intervalText(i: Interval): string {
  return `${percent(i.mean)} (${(100 * i.lo).toFixed(1)}–${percent(i.hi)})`;
}
