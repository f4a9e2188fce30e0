import { describe, expect, test } from "vitest";
import { exampleFromExport, parseExample } from "./example-data";
import { readoutJson } from "../share/export";
import type { Token } from "../run-data";

const NAMES = ["afraid", "calm", "sad", "happy", "angry", "bored", "curious"];
const tok = (text: string, kind: Token["kind"], scores: number[] | null): Token =>
  ({ text, kind, scores: scores ? Float32Array.from(scores) : null });

describe("the precomputed example", () => {
  const exported = readoutJson([
    tok("<|im_start|>", "template", [1, 1, 1, 1, 1, 1, 1]),
    tok("Hi", "prompt", [0.1, 0.7, -1, 0.3, 0.2, 0.05, 0.6]),
    tok("!", "reply", [3, 2, 1, 0, -1, -2, -3]),
  ], NAMES, {
    model: "m", layer: 21, seed: 42, temperature: 0, maxTokens: 4, steer: [], prompt: "Hi", backend: "cpu", date: "2026-11-27T00:00:00Z",
  });

  test("keeps prompt and reply tokens with their top 5, highest first", () => {
    const ex = exampleFromExport(exported);
    expect(ex.tokens.map((t) => t.text)).toEqual(["Hi", "!"]);
    expect(ex.tokens[0]!.top.map(([n]) => n)).toEqual(["calm", "curious", "happy", "angry", "afraid"]);
    expect(ex.tokens[1]!.top[0]).toEqual(["afraid", 3]);
    expect(ex).toMatchObject({ prompt: "Hi", layer: 21, seed: 42, temperature: 0, backend: "cpu" });
  });

  test("round-trips through parseExample", () => {
    const ex = exampleFromExport(exported);
    expect(parseExample(JSON.parse(JSON.stringify(ex)))).toEqual(ex);
  });

  test("a hostile or broken file gives null or drops what is wrong", () => {
    for (const bad of [null, 3, "x", {}, { prompt: "p" }, { prompt: 1, tokens: [] }, { prompt: "p", tokens: [] }]) {
      expect(parseExample(bad)).toBeNull();
    }
    const ex = parseExample({
      prompt: "p", layer: "21",
      tokens: [{ text: "a", kind: "prompt", top: [["sad", 1], ["x", "2"], [5, 1], "z"] }, { text: "b", kind: "script", top: [] }, 7, { text: 1, kind: "reply", top: [] }],
    });
    expect(ex?.tokens).toEqual([{ text: "a", kind: "prompt", top: [["sad", 1]] }]);
    expect(ex?.layer).toBe(0);
  });
});
