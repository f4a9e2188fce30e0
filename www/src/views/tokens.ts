//! Tokens as coloured, focusable text: one span per token, coloured by one emotion's score or
//! by each token's top emotion; one tab stop per stream, arrow keys move between tokens, and
//! hover or focus names the token to the view (which shows its numbers).
//!
//! With readings (smoothing.ts), a token's emotion is that of its running mean, and with a
//! neutral calibration its colour's strength is its intensity: text that reads like neutral
//! text stays uncoloured.

import { categoryColours, divergingColour, maxAbs, OTHER, withAlpha } from "../charts/colour";
import { h } from "../dom";
import { topK } from "../engine/protocol";
import type { Token, TokenKind } from "../run-data";
import { argmax, intensity, intensityAlpha, type Readings } from "./smoothing";
import { TOP } from "../share/url-state";

/** Standard deviations of neutral text at which the one-emotion scale saturates. */
const Z_RANGE = 4;

/** How tokens are coloured, and the legend that says so. */
export interface Colouring {
  colour(t: Token): string;
  legend: { label: string; colour: string }[];
}

/** A colouring for `tokens` by `emotion` (a name, or TOP for each token's top emotion), from
 * the smoothed rows and calibration of `r` when given, else from each token's raw scores. */
export function colouring(tokens: readonly Token[], emotion: string, names: readonly string[], r?: Readings): Colouring {
  const rowOf = (t: Token) => r?.rows.get(t) ?? t.scores;
  const cal = r?.calibration ?? null;
  const scored = tokens.filter((t) => rowOf(t));
  if (emotion === TOP) {
    const alpha = (t: Token) => (cal ? intensityAlpha(intensity(rowOf(t)!, cal), cal.floor) : 1);
    const lit = scored.filter((t) => alpha(t) > 0);
    const tops = lit.map((t) => names[argmax(rowOf(t)!)] ?? "?");
    const colours = categoryColours(tops);
    const legend = [...colours].filter(([, c]) => c !== OTHER).map(([label, c]) => ({ label, colour: withAlpha(c, 0.6) }));
    if ([...colours.values()].includes(OTHER)) legend.push({ label: "other", colour: withAlpha(OTHER, 0.6) });
    if (cal) legend.push({ label: lit.length ? "uncoloured: reads like neutral text" : "every token reads like neutral text", colour: "transparent" });
    return {
      colour: (t) => {
        const row = rowOf(t);
        const a = row ? alpha(t) : 0;
        return a > 0 ? withAlpha(colours.get(names[argmax(row!)] ?? "") ?? OTHER, +(0.75 * a).toFixed(3)) : "transparent";
      },
      legend,
    };
  }
  const i = names.indexOf(emotion);
  const value = (row: ArrayLike<number>) => (cal ? (row[i]! - cal.mean[i]!) / cal.sd[i]! : row[i]!);
  const range = cal ? Z_RANGE : maxAbs(scored.map((t) => rowOf(t)![i] ?? 0));
  const r2 = cal ? `${Z_RANGE} sd from neutral text` : range.toFixed(2);
  return {
    colour: (t) => {
      const row = rowOf(t);
      return row && i >= 0 ? divergingColour(value(row), range) : "transparent";
    },
    legend: [
      { label: `${emotion} −${r2} (blue, low)`, colour: divergingColour(-range, range) },
      { label: `${emotion} +${r2} (orange, high)`, colour: divergingColour(range, range) },
    ],
  };
}

/** Short text for a token's title: its top 3 emotions with numbers, and its intensity. */
export function tokenTitle(t: Token, names: readonly string[], r?: Readings): string {
  const row = r?.rows.get(t) ?? t.scores;
  if (!row) return "no readout";
  const top = topK(row, names, 3).map(([n, s]) => `${n} ${s.toFixed(2)}`).join(", ");
  const cal = r?.calibration;
  return cal ? `${top}; intensity ${intensity(row, cal).toFixed(1)} sd over ${r!.window} token${r!.window === 1 ? "" : "s"}` : top;
}

/** One stream of tokens (some kinds of a run) in `root`. */
export class TokenStream {
  private tokens: Token[] = [];
  private spans: HTMLSpanElement[] = [];
  private current = -1;

  constructor(
    readonly root: HTMLElement,
    private readonly kinds: readonly TokenKind[],
    private readonly onPick: (t: Token) => void,
  ) {
    root.addEventListener("keydown", (e) => this.key(e));
  }

  /** Shows the tokens of `all` with our kinds; appends when `all` grew from what is shown. */
  sync(all: readonly Token[], colours: Colouring, names: readonly string[], r?: Readings) {
    const mine = all.filter((t) => this.kinds.includes(t.kind));
    const fresh = mine.length < this.tokens.length || mine.some((t, i) => i < this.tokens.length && t !== this.tokens[i]);
    if (fresh) this.clear();
    for (let i = this.tokens.length; i < mine.length; i++) {
      const t = mine[i]!;
      const span = h("span", { class: `tok ${t.kind}`, tabindex: this.spans.length === 0 ? 0 : -1, title: tokenTitle(t, names, r) }, t.text);
      span.addEventListener("mouseenter", () => this.onPick(t));
      span.addEventListener("focus", () => { this.current = i; this.onPick(t); });
      this.root.append(span);
      this.spans.push(span);
      this.tokens.push(t);
    }
    this.tokens.forEach((t, i) => {
      this.spans[i]!.style.backgroundColor = colours.colour(t);
      if (r) this.spans[i]!.title = tokenTitle(t, names, r);
    });
  }

  clear() {
    this.root.replaceChildren();
    this.tokens = [];
    this.spans = [];
    this.current = -1;
  }

  /** Arrow keys, Home and End move focus between tokens (one tab stop for the stream); tokens
   * with no text of their own (a piece of a multi-byte character) are skipped. */
  private key(e: KeyboardEvent) {
    const stops = this.spans.map((_, i) => i).filter((i) => this.tokens[i]!.text !== "");
    const at = stops.indexOf(this.current);
    const moves: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    let next: number;
    if (e.key in moves) next = Math.max(0, Math.min(stops.length - 1, at + moves[e.key]!));
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = stops.length - 1;
    else return;
    e.preventDefault();
    for (const s of this.spans) s.tabIndex = -1;
    const span = this.spans[stops[next] ?? -1];
    if (span) { span.tabIndex = 0; span.focus(); }
  }
}

/** Legend items as text with a swatch (the colour is never the only label). */
export function renderLegend(root: HTMLElement, colours: Colouring) {
  root.replaceChildren(...colours.legend.map((l) => {
    const sw = h("span", { class: "swatch", "aria-hidden": "true" });
    sw.style.backgroundColor = l.colour;
    return h("li", {}, sw, l.label);
  }));
}
