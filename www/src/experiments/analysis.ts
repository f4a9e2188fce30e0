//! The experiments' arithmetic: rank correlation, P(A) from two letter probabilities,
//! threshold crossings, and result tables as CSV-ready rows. Pure functions, no DOM.

/** Ranks of `xs` from 1, ties sharing their mean rank. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]![1]] = r;
    i = j + 1;
  }
  return out;
}

/** Spearman's ρ of two equally long series (Pearson r of their ranks); NaN with fewer than 2
 * points or when either series is constant. */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return NaN;
  const rx = ranks(xs.slice(0, n));
  const ry = ranks(ys.slice(0, n));
  const mean = (n + 1) / 2;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = rx[i]! - mean, dy = ry[i]! - mean;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** P(A) = p(A) / (p(A) + p(B)): the model's choice between the two letters alone. NaN when
 * neither letter has any probability. */
export function preferenceShare(pA: number, pB: number): number {
  const total = pA + pB;
  return total > 0 && Number.isFinite(total) ? pA / total : NaN;
}

/** Indices of `values` at or above `threshold`. */
export function crossings(values: readonly number[], threshold: number): number[] {
  const out: number[] = [];
  values.forEach((v, i) => { if (v >= threshold) out.push(i); });
  return out;
}

/** The first index where `values` reaches `threshold`, or -1 if it never does. */
export function firstCrossing(values: readonly number[], threshold: number): number {
  return values.findIndex((v) => v >= threshold);
}

/** A result table: a header and rows of text or numbers, ready for CSV; `digits` says how
 * many decimals each numeric column shows on the page (the CSV keeps full precision). */
export interface Table {
  header: string[];
  rows: (string | number)[][];
  digits: number[];
}

/** The mean of the finite values (0 when there are none): NaN marks a value left out. */
export function finiteMean(xs: readonly number[]): number {
  const real = xs.filter(Number.isFinite);
  return real.reduce((a, b) => a + b, 0) / Math.max(1, real.length);
}

/** A cell as the page shows it: numbers with the column's decimals (a true minus sign),
 * NaN as "–". */
export function formatCell(v: string | number, digits: number): string {
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return "–";
  return v.toFixed(digits).replace(/^-/, "−");
}

/** One CSV field: quoted when it holds a comma, quote or line break. */
function csvField(v: string | number): string {
  const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The table as CSV text (RFC 4180, CRLF line ends). */
export function toCsv(t: Table): string {
  return [t.header, ...t.rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** A signed number as the page writes it: "+0.20", "−0.83". */
export function signed(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return "–";
  return (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(digits);
}
