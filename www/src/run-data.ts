//! What a reply leaves for the views: each token's text and readout, in the order shown.

import type { FromWorker, RunId, Steer } from "./engine/protocol";
import { row } from "./engine/protocol";

export type TokenKind = "template" | "prompt" | "reply";

export interface Token {
  text: string;
  kind: TokenKind;
  /** The readout at this token (n_emotions), or null when none ran. */
  scores: Float32Array | null;
  /** The traced made vector's score at this token (GenerateRequest.trace), if one was. */
  trace?: number | null;
}

export interface Run {
  id: RunId;
  steer: Steer[];
  layer: number;
  tokens: Token[];
  done: boolean;
}

export function newRun(id: RunId, steer: Steer[], layer: number): Run {
  return { id, steer, layer, tokens: [], done: false };
}

/** Adds a `prompt` or `token` message to `run`; `nEmotions` splits the prompt's score matrix. */
export function addToRun(run: Run, m: FromWorker, nEmotions: number): void {
  if (m.type === "prompt") {
    const full = m.scores.length === m.texts.length * nEmotions && nEmotions > 0;
    m.texts.forEach((text, i) => {
      const kind: TokenKind = i >= m.userStart && i < m.userEnd ? "prompt" : "template";
      run.tokens.push({ text, kind, scores: full ? row(m.scores, nEmotions, i) : null, trace: m.trace[i] ?? null });
    });
  } else if (m.type === "token") {
    run.tokens.push({ text: m.text, kind: "reply", scores: m.scores, trace: m.trace });
  }
}

/** The reply's text. */
export function replyText(run: Run | undefined): string {
  return run ? run.tokens.filter((t) => t.kind === "reply").map((t) => t.text).join("") : "";
}
