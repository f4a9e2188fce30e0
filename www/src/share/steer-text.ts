//! Steering terms as text ("sad:0.5,calm:0.2", as in links and the CLI's --steer) and the
//! limits the page holds them to.

import type { Steer } from "../engine/protocol";

/** The most steering rows the page offers. */
export const MAX_STEERS = 3;
/** Strengths are fractions of the residual norm; the slider spans ±STRENGTH_LIMIT. */
export const STRENGTH_LIMIT = 0.5;
export const DEFAULT_STRENGTH = 0.15;

/** A steer as written in text, before its name is checked against the vectors. */
export interface SteerParse {
  steers: Steer[];
  warnings: string[];
}

/** Rounds to 3 decimals without trailing zeros: 0.30000000004 → "0.3". */
export function formatStrength(s: number): string {
  return String(Number(s.toFixed(3)));
}

/** "sad:0.5,calm:0.2" → steers. A name alone takes `defaultStrength`; a strength that is not
 * a finite number drops the term, one beyond ±STRENGTH_LIMIT is clamped; unknown names (when
 * `names` is given), repeats and terms past MAX_STEERS are dropped. Every drop or clamp adds
 * a warning; nothing throws. */
export function parseSteers(text: string, names?: readonly string[], defaultStrength = DEFAULT_STRENGTH): SteerParse {
  const steers: Steer[] = [];
  const warnings: string[] = [];
  const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
  for (const part of parts) {
    const colon = part.lastIndexOf(":");
    const name = (colon < 0 ? part : part.slice(0, colon)).trim();
    const raw = colon < 0 ? "" : part.slice(colon + 1).trim();
    let strength = raw === "" ? defaultStrength : Number(raw);
    if (!name || (names && !names.includes(name))) {
      warnings.push(`ignored steer "${part}" from the link: unknown emotion`);
      continue;
    }
    if (!Number.isFinite(strength)) {
      warnings.push(`ignored steer "${part}" from the link: the strength is not a number`);
      continue;
    }
    if (steers.some((s) => s.name === name)) {
      warnings.push(`ignored steer "${part}" from the link: ${name} is already steered`);
      continue;
    }
    if (steers.length >= MAX_STEERS) {
      warnings.push(`ignored steer "${part}" from the link: at most ${MAX_STEERS} emotions`);
      continue;
    }
    if (Math.abs(strength) > STRENGTH_LIMIT) {
      const clamped = Math.sign(strength) * STRENGTH_LIMIT;
      warnings.push(`steer "${part}" from the link: strength clamped to ${formatStrength(clamped)} (the range is ±${STRENGTH_LIMIT})`);
      strength = clamped;
    }
    steers.push({ name, strength });
  }
  return { steers, warnings };
}

/** Steers → "sad:0.5,calm:0.2". */
export function formatSteers(steers: readonly Steer[]): string {
  return steers.map((s) => `${s.name}:${formatStrength(s.strength)}`).join(",");
}
