//! Colour scales for tokens, chosen to survive colour blindness (blue ↔ orange diverging;
//! Okabe–Ito categories). Colour is never the only carrier: every token also has its numbers
//! on hover and focus.

/** Blue for below the centre (negative score), orange for above: distinguishable in the
 * common forms of colour blindness. */
const NEG = [33, 102, 172] as const;
const POS = [230, 97, 1] as const;
const MAX_ALPHA = 0.8;
/** The two ends of the diverging scale as CSS colours, for charts. */
export const DIVERGING_ENDS = [`rgb(${NEG.join(", ")})`, `rgb(${POS.join(", ")})`] as const;

/** Background for `score` on a symmetric scale ±`maxAbs`: alpha grows with |score| (clamped);
 * 0, NaN or an empty scale give "transparent". */
export function divergingColour(score: number, maxAbs: number): string {
  if (!Number.isFinite(score) || !(maxAbs > 0) || score === 0) return "transparent";
  const t = Math.min(1, Math.abs(score) / maxAbs);
  const [r, g, b] = score < 0 ? NEG : POS;
  return `rgba(${r}, ${g}, ${b}, ${(t * MAX_ALPHA).toFixed(3)})`;
}

/** Okabe & Ito's palette for categories, without its black; OTHER for the rest. */
export const CATEGORICAL = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"] as const;
export const OTHER = "#999999";

/** Colours for the top emotion of each token: the most frequent ones (ties: first seen) get
 * a palette colour each, the rest share OTHER. */
export function categoryColours(tops: readonly string[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const t of tops) counts.set(t, (counts.get(t) ?? 0) + 1);
  const order = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)!);
  const out = new Map<string, string>();
  order.forEach((name, i) => out.set(name, CATEGORICAL[i] ?? OTHER));
  return out;
}

/** A colour with `alpha` (0–1) from "#rrggbb". */
export function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** The largest |value| in `values` (0 when none is finite). */
export function maxAbs(values: Iterable<number>): number {
  let m = 0;
  for (const v of values) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m;
}
