//! The page's state as a URL: everything needed to reproduce a view and a run. Parsing never
//! throws: bad values are clamped or dropped with a warning the page shows.

import { DEFAULT_MODEL, MODELS } from "../config";
import type { Backend, Steer } from "../engine/protocol";
import { parseModel, parseVectors } from "../models";
import { formatSteers, parseSteers } from "./steer-text";

export const DEFAULT_PROMPT = "Write a short story about a girl who lost her dog.";
export const MAX_PROMPT_CHARS = 4000;
export const MAX_TRACKED = 5;
/** Colour tokens by their top emotion, rather than by one emotion's score. */
export const TOP = "top";

export interface AppState {
  view: string;
  prompt: string;
  steer: Steer[];
  /** Readout layer; null: the vectors' default. */
  layer: number | null;
  /** Readout smoothing window in tokens; null: the vectors' default (1 is the raw readout). */
  window: number | null;
  /** An emotion's name, or TOP. */
  emotion: string;
  /** Emotions drawn in the trajectory chart (besides `emotion`). */
  track: string[];
  seed: number;
  temperature: number;
  maxTokens: number;
  backend: Backend | null;
  /** The model: a menu id or a GGUF's address ("" for a file from this computer, which no
   * link carries). */
  model: string;
  /** The emotion vectors' address, when not the menu entry's own; null: the entry's. */
  vectors: string | null;
  /** The Compare view's two models (`?a=`, `?b=`): menu ids or GGUF addresses. */
  compareA: string;
  compareB: string;
  autorun: boolean;
}

/** The Compare view's models when a link names none: the default and the second entry. */
export const COMPARE_DEFAULTS = [DEFAULT_MODEL.id, MODELS[1]?.id ?? DEFAULT_MODEL.id] as const;

/** `?a=` / `?b=` read as `?model=` is (parseModel), the side's default when absent or bad. */
export function parseSide(raw: string | null, key: "a" | "b", base: string): { model: string; warning?: string } {
  const fallback = COMPARE_DEFAULTS[key === "a" ? 0 : 1];
  if (raw === null || raw.trim() === "") return { model: fallback };
  const r = parseModel(raw, base);
  return r.warning ? { model: fallback, warning: r.warning.replace(/^ignored model=/, `ignored ${key}=`) } : r;
}

export function defaultState(): AppState {
  return {
    view: "readout", prompt: DEFAULT_PROMPT, steer: [], layer: null, window: null, emotion: TOP, track: [],
    seed: 42, temperature: 0, maxTokens: 128, backend: null, model: DEFAULT_MODEL.id, vectors: null,
    compareA: COMPARE_DEFAULTS[0], compareB: COMPARE_DEFAULTS[1], autorun: false,
  };
}

export interface Parsed {
  state: AppState;
  warnings: string[];
}

/** A parsed URL whose `steer` text waits for the emotion names (`checkNames`). */
export interface ParsedUrl extends Parsed {
  steerText: string;
}

/** A number from `raw` within [lo, hi] (integer when `int`), or null with a warning. */
function num(raw: string | null, key: string, lo: number, hi: number, int: boolean, warnings: string[]): number | null {
  if (raw === null || raw.trim() === "") return null;
  const v = Number(raw);
  if (!Number.isFinite(v) || (int && !Number.isInteger(v))) {
    warnings.push(`ignored ${key}=${JSON.stringify(raw.slice(0, 40))}: not ${int ? "a whole number" : "a number"}`);
    return null;
  }
  if (v < lo || v > hi) {
    const c = Math.min(hi, Math.max(lo, v));
    warnings.push(`${key} ${v} is outside ${lo}…${hi}: using ${c}`);
    return c;
  }
  return v;
}

/** Reads a query string. Names are checked later by `checkNames`, once the vectors are loaded;
 * `views` lists the views that exist; addresses are relative to `base` (the page's). */
export function parseUrl(search: string, views: readonly string[], base = "http://localhost/"): ParsedUrl {
  const q = new URLSearchParams(search);
  const warnings: string[] = [];
  const s = defaultState();
  const view = q.get("view");
  if (view !== null) {
    if (views.includes(view)) s.view = view;
    else warnings.push(`no view called ${JSON.stringify(view.slice(0, 40))}: showing ${s.view}`);
  }
  const prompt = q.get("prompt");
  if (prompt !== null) {
    s.prompt = prompt.slice(0, MAX_PROMPT_CHARS);
    if (prompt.length > MAX_PROMPT_CHARS) warnings.push(`the prompt was cut to ${MAX_PROMPT_CHARS} characters`);
  }
  const steerText = (q.get("steer") ?? "").slice(0, 1000);
  // An old shared link (no view) with a steer meant a steered run beside the baseline.
  if (view === null && steerText && views.includes("steer")) s.view = "steer";
  s.layer = num(q.get("layer"), "layer", 0, 1000, true, warnings);
  s.window = num(q.get("window"), "window", 1, 64, true, warnings);
  const emotion = q.get("emotion");
  if (emotion) s.emotion = emotion;
  s.track = (q.get("track") ?? "").split(",").map((t) => t.trim()).filter(Boolean).slice(0, MAX_TRACKED);
  s.seed = num(q.get("seed"), "seed", 0, 4294967295, true, warnings) ?? s.seed;
  s.temperature = num(q.get("temperature"), "temperature", 0, 2, false, warnings) ?? s.temperature;
  s.maxTokens = num(q.get("max"), "max", 1, 1024, true, warnings) ?? s.maxTokens;
  const backend = q.get("backend");
  if (backend === "cpu" || backend === "webgpu") s.backend = backend;
  else if (backend !== null) warnings.push(`ignored backend=${JSON.stringify(backend.slice(0, 40))}: cpu or webgpu`);
  const model = parseModel(q.get("model"), base);
  s.model = model.model;
  const vectors = parseVectors(q.get("vectors"), base);
  s.vectors = vectors.vectors;
  const a = parseSide(q.get("a"), "a", base);
  const b = parseSide(q.get("b"), "b", base);
  s.compareA = a.model;
  s.compareB = b.model;
  for (const w of [model.warning, vectors.warning, a.warning, b.warning]) if (w) warnings.push(w);
  s.autorun = q.get("autorun") === "1";
  return { state: s, warnings, steerText };
}

/** Reads `steerText` against the vectors' names, and drops names the vectors do not have and
 * a layer the model does not have, with warnings. */
export function checkNames(s: AppState, steerText: string, names: readonly string[], nLayer: number, defaultStrength?: number): Parsed {
  const warnings: string[] = [];
  const state = { ...s };
  const steer = parseSteers(steerText, names, defaultStrength);
  state.steer = steer.steers;
  warnings.push(...steer.warnings);
  if (state.emotion !== TOP && !names.includes(state.emotion)) {
    warnings.push(`ignored emotion "${state.emotion.slice(0, 40)}" from the link: unknown emotion`);
    state.emotion = TOP;
  }
  const unknown = state.track.filter((t) => !names.includes(t));
  if (unknown.length) warnings.push(`ignored unknown emotions in track: ${unknown.map((u) => `"${u.slice(0, 40)}"`).join(", ")}`);
  state.track = state.track.filter((t) => names.includes(t));
  if (state.layer !== null && state.layer >= nLayer) {
    warnings.push(`layer ${state.layer} does not exist (the model has ${nLayer}): using the default`);
    state.layer = null;
  }
  return { state, warnings };
}

/** The query string that reproduces `s` (without the leading "?"). */
export function toQuery(s: AppState): string {
  const q = new URLSearchParams();
  q.set("view", s.view);
  q.set("prompt", s.prompt);
  if (s.steer.length) q.set("steer", formatSteers(s.steer));
  if (s.layer !== null) q.set("layer", String(s.layer));
  if (s.window !== null) q.set("window", String(s.window));
  if (s.emotion !== TOP) q.set("emotion", s.emotion);
  if (s.track.length) q.set("track", s.track.join(","));
  q.set("seed", String(s.seed));
  q.set("temperature", String(s.temperature));
  q.set("max", String(s.maxTokens));
  if (s.backend) q.set("backend", s.backend);
  if (s.model && s.model !== DEFAULT_MODEL.id) q.set("model", s.model);
  if (s.vectors) q.set("vectors", s.vectors);
  if (s.compareA !== COMPARE_DEFAULTS[0]) q.set("a", s.compareA);
  if (s.compareB !== COMPARE_DEFAULTS[1]) q.set("b", s.compareB);
  if (s.autorun) q.set("autorun", "1");
  return q.toString();
}

/** `text` with each lone UTF-16 surrogate replaced by U+FFFD, as a URL carries it (so the state
 * and its link hold the same prompt). */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
