//! The precomputed example (public/example.json, made by scripts/make_example.mjs with the real
//! engine): its shape, a reader that trusts nothing in the file, and the reduction from a full
//! readout export to what the example keeps (each token's top emotions).

import type { ReadoutJson } from "../share/export";

export interface ExampleToken {
  text: string;
  kind: "prompt" | "reply";
  /** [emotion, score], highest first. */
  top: [string, number][];
}

export interface Example {
  prompt: string;
  model: string;
  layer: number;
  seed: number;
  temperature: number;
  backend: string;
  date: string;
  tokens: ExampleToken[];
}

/** Top emotions kept per token. */
export const EXAMPLE_TOP = 5;
const MAX_TOKENS = 400;

/** The example from a readout export: prompt and reply tokens with their top `k` emotions. */
export function exampleFromExport(j: ReadoutJson, k = EXAMPLE_TOP): Example {
  const names = j.meta.emotions;
  return {
    prompt: j.meta.prompt, model: j.meta.model, layer: j.meta.layer, seed: j.meta.seed, temperature: j.meta.temperature,
    backend: j.meta.backend, date: j.meta.date,
    tokens: j.tokens.filter((t) => t.kind === "prompt" || t.kind === "reply").map((t) => {
      const scored = (t.scores ?? []).flatMap((s, i) => (s === null || names[i] === undefined ? [] : [[names[i]!, s] as [string, number]]));
      scored.sort((a, b) => b[1] - a[1]);
      return { text: t.text, kind: t.kind as "prompt" | "reply", top: scored.slice(0, k) };
    }),
  };
}

const str = (v: unknown, max = 4000): string | null => (typeof v === "string" ? v.slice(0, max) : null);
const fin = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The example in `data`, or null when it is not one; malformed tokens and top entries are dropped. */
export function parseExample(data: unknown): Example | null {
  if (typeof data !== "object" || data === null) return null;
  const d = data as Record<string, unknown>;
  const prompt = str(d.prompt);
  if (prompt === null || !Array.isArray(d.tokens)) return null;
  const tokens: ExampleToken[] = [];
  for (const t of d.tokens.slice(0, MAX_TOKENS) as unknown[]) {
    if (typeof t !== "object" || t === null) continue;
    const r = t as Record<string, unknown>;
    const text = str(r.text, 200);
    if (text === null || (r.kind !== "prompt" && r.kind !== "reply") || !Array.isArray(r.top)) continue;
    const top = (r.top as unknown[]).flatMap((p) => {
      if (!Array.isArray(p)) return [];
      const name = str(p[0], 60);
      const score = fin(p[1]);
      return name !== null && score !== null ? [[name, score] as [string, number]] : [];
    }).slice(0, EXAMPLE_TOP);
    tokens.push({ text, kind: r.kind, top });
  }
  if (!tokens.length) return null;
  return {
    prompt, tokens,
    model: str(d.model, 200) ?? "", layer: fin(d.layer) ?? 0, seed: fin(d.seed) ?? 0, temperature: fin(d.temperature) ?? 0,
    backend: str(d.backend, 20) ?? "", date: str(d.date, 40) ?? "",
  };
}
