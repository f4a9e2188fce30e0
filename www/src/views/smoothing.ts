//! The per-token readout the page colours by: which emotion (each score's running mean over the
//! last `window` scored tokens, ranked) and whether any (the intensity: how far the smoothed
//! scores lie along the direction that tells emotional stories from neutral text, in standard
//! deviations of neutral text; at layers without one, the top emotion's smoothed score in
//! standard deviations above its mean on neutral text). The same maths as src/readout.rs, where
//! the windows and the neutral calibration are chosen and measured.

import type { EmotionInfo } from "../engine/protocol";
import type { Token } from "../run-data";

/** Mean and spread (n each) of smoothed scores on neutral text, for one layer and window, and
 * the intensity neutral text stays below there (the colour's floor). */
export interface Calibration {
  mean: Float32Array;
  sd: Float32Array;
  floor: number;
  /** The emotional direction (n) and the mean and spread along it on neutral text. */
  emotional?: { w: Float32Array; mean: number; sd: number };
}

/** The colour's floor where the vectors file does not measure one: the top of 171 standardised
 * scores sits near 1.5 on neutral text itself. */
export const DEFAULT_FLOOR = 2;

/** The calibration for `layer` and `window`, or null when the vectors file has none for them. */
export function calibrationAt(info: EmotionInfo | null, layer: number, window: number): Calibration | null {
  if (!info) return null;
  const n = info.names.length;
  const w = info.windows.indexOf(window);
  const at = ((layer * info.windows.length + w) * 2) * n;
  if (w < 0 || layer < 0 || layer >= info.nLayer || info.calibration.length < at + 2 * n) return null;
  const floor = layer === info.defaultLayer ? info.intensityFloor?.[w] : undefined;
  const e = (n + 2) * w;
  const emotional =
    layer === info.defaultLayer && (info.intensity?.length ?? 0) >= e + n + 2
      ? { w: Float32Array.from(info.intensity!.slice(e, e + n)), mean: info.intensity![e + n]!, sd: info.intensity![e + n + 1]! }
      : undefined;
  return {
    mean: Float32Array.from(info.calibration.slice(at, at + n)),
    sd: Float32Array.from(info.calibration.slice(at + n, at + 2 * n)),
    floor: Number.isFinite(floor) ? floor! : DEFAULT_FLOOR,
    ...(emotional ? { emotional } : {}),
  };
}

/** Each scored token's running mean over the last `window` scored tokens (fewer at the start),
 * in the order of `tokens`. The run's first token is left out: at position 0 the model parks
 * its attention (an "attention sink") and its readout is huge and means nothing, as in the
 * calibration (src/calibrate.rs). */
export function smoothTokens(tokens: readonly Token[], n: number, window: number): Map<Token, Float32Array> {
  const out = new Map<Token, Float32Array>();
  const scored = tokens.slice(1).filter((t) => t.scores && t.scores.length === n);
  const acc = new Float64Array(n);
  const w = Math.max(1, Math.floor(window));
  scored.forEach((t, i) => {
    for (let e = 0; e < n; e++) {
      acc[e]! += t.scores![e]!;
      if (i >= w) acc[e]! -= scored[i - w]!.scores![e]!;
    }
    const k = Math.min(i + 1, w);
    out.set(t, Float32Array.from(acc, (v) => v / k));
  });
  return out;
}

/** Index of the highest score. */
export function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  return best;
}

/** The intensity of a smoothed row: along the emotional direction where the calibration has
 * one, else its top emotion's z-score against neutral text. */
export function intensity(row: ArrayLike<number>, c: Calibration): number {
  if (c.emotional) {
    let s = 0;
    for (let i = 0; i < c.emotional.w.length; i++) s += c.emotional.w[i]! * row[i]!;
    return (s - c.emotional.mean) / c.emotional.sd;
  }
  const e = argmax(row);
  return (row[e]! - c.mean[e]!) / c.sd[e]!;
}

/** Opacity (0–1) for an intensity: none up to `floor` (where 95 % of neutral tokens stay, as
 * measured for the vectors file at its default layer), full from 3 sd above it. */
export function intensityAlpha(z: number, floor = DEFAULT_FLOOR): number {
  return Number.isFinite(z) ? Math.min(1, Math.max(0, (z - floor) / 3)) : 0;
}

/** What a view needs to colour a run's tokens: smoothed rows, and the calibration if any. */
export interface Readings {
  window: number;
  rows: Map<Token, Float32Array>;
  calibration: Calibration | null;
}

export function readings(tokens: readonly Token[], info: EmotionInfo | null, layer: number, window: number): Readings {
  const n = info?.names.length ?? 0;
  return { window, rows: smoothTokens(tokens, n, window), calibration: calibrationAt(info, layer, window) };
}
