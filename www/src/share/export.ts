//! The readout as files for a spreadsheet or a script: CSV (one row per token, one column per
//! emotion) and JSON (the same with the run's settings). Pure functions; the views download
//! what they return.
//!
//! CSV follows RFC 4180: a field with a comma, a quote, a line break or spaces at either end is
//! quoted, quotes doubled. A token's text that starts like a spreadsheet formula (= + - @, tab,
//! carriage return) gets a leading `'`, so a prompt from a link cannot run a formula in the
//! spreadsheet a class opens the file in (OWASP's advice for CSV injection); the JSON keeps the
//! text exactly.

import type { Steer } from "../engine/protocol";
import type { Token } from "../run-data";
import { formatSteers } from "./steer-text";

/** Decimal places of the scores in both formats. */
export const PRECISION = 4;
export const MODEL_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF)";

/** What a file says about the run besides its tokens. */
export interface ExportMeta {
  model: string;
  layer: number;
  seed: number;
  temperature: number;
  maxTokens: number;
  steer: Steer[];
  prompt: string;
  backend: string;
  /** ISO 8601. */
  date: string;
}

/** One CSV field, quoted when it must be. */
export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A token's text made safe to open in a spreadsheet (see the module doc). */
export function defuseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** A score with PRECISION decimals; empty for a missing or non-finite one. */
export function fixed(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? "" : x.toFixed(PRECISION);
}

/** The tokens a file holds: the user's prompt and the reply (not the chat template). */
export function exportedTokens(tokens: readonly Token[]): Token[] {
  return tokens.filter((t) => t.kind !== "template");
}

/** CSV: header `index,kind,token,<emotion names…>`, then one row per token (scores empty for a
 * token without a readout); lines end with CRLF. */
export function readoutCsv(tokens: readonly Token[], names: readonly string[]): string {
  const lines = [["index", "kind", "token", ...names].map(csvField).join(",")];
  exportedTokens(tokens).forEach((t, i) => {
    const scores = names.map((_, j) => fixed(t.scores?.[j]));
    lines.push([String(i), t.kind, csvField(defuseFormula(t.text)), ...scores].join(","));
  });
  return lines.join("\r\n") + "\r\n";
}

/** Round to PRECISION decimals as a number (null when not finite: JSON has no NaN). */
function round(x: number): number | null {
  return Number.isFinite(x) ? Number(x.toFixed(PRECISION)) : null;
}

export interface ReadoutJson {
  meta: Omit<ExportMeta, "steer"> & { steer: string; steers: Steer[]; emotions: string[]; precision: number };
  tokens: { index: number; kind: string; text: string; scores: (number | null)[] | null }[];
}

/** JSON: the run's settings under `meta` and every token with its scores, in `names` order. */
export function readoutJson(tokens: readonly Token[], names: readonly string[], meta: ExportMeta): ReadoutJson {
  return {
    meta: { ...meta, steer: formatSteers(meta.steer), steers: meta.steer, emotions: [...names], precision: PRECISION },
    tokens: exportedTokens(tokens).map((t, index) => ({
      index, kind: t.kind, text: t.text, scores: t.scores ? Array.from(t.scores, round) : null,
    })),
  };
}

/** "limbic-readout-2026-11-27T10-04-05.csv": a file name from the date, safe on every system. */
export function exportName(stem: string, date: string, ext: string): string {
  return `limbic-${stem}-${date.slice(0, 19).replace(/:/g, "-")}.${ext}`;
}
