import { expect, test } from "vitest";
import { hex, row, speedText, topK } from "./protocol";
import { addToRun, newRun, replyText } from "./run-data";

test("topK is sorted, names each score, and stops at k", () => {
  expect(topK([0.1, 0.9, -0.2, 0.5], ["a", "b", "c", "d"], 2)).toEqual([["b", 0.9], ["d", 0.5]]);
  expect(topK([1], ["a", "b"], 5)).toEqual([["a", 1]]);
});

test("row", () => {
  const m = new Float32Array([1, 2, 3, 4, 5, 6]);
  expect(Array.from(row(m, 3, 1))).toEqual([4, 5, 6]);
});

test("hex and the speed line the tests and bench read", () => {
  expect(hex(new Uint8Array([0, 15, 255]))).toBe("000fff");
  expect(speedText(12, 2000, null)).toBe("12 tokens, 6.0 tokens/s");
  expect(speedText(12, 2000, { promptTokens: 30, promptMs: 500, tokens: 12, decodeMs: 1100, threads: 1, simd: "relaxed" }))
    .toBe("12 tokens, 6.0 tokens/s (prompt 60.0, reply 10.0 tokens/s)");
  expect(speedText(12, 2000, { promptTokens: 30, promptMs: 500, tokens: 12, decodeMs: 1100, threads: 2, simd: "plain" }))
    .toBe("12 tokens, 6.0 tokens/s (prompt 60.0, reply 10.0 tokens/s, 2 threads)");
});

test("a run collects prompt rows and reply tokens; the user's tokens are told from the template", () => {
  const run = newRun("main", [], 21);
  addToRun(run, { type: "prompt", run: "main", texts: ["<|im_start|>", "Hi", "<|im_end|>"], scores: new Float32Array([1, 2, 3, 4, 5, 6]), userStart: 1, userEnd: 2 }, 2);
  addToRun(run, { type: "token", run: "main", id: 5, text: " there", scores: new Float32Array([7, 8]) }, 2);
  expect(run.tokens.map((t) => t.kind)).toEqual(["template", "prompt", "template", "reply"]);
  expect(Array.from(run.tokens[1]!.scores!)).toEqual([3, 4]);
  expect(replyText(run)).toBe(" there");
  // A score matrix of the wrong size is not split into wrong rows.
  const bad = newRun("main", [], 21);
  addToRun(bad, { type: "prompt", run: "main", texts: ["a", "b"], scores: new Float32Array(3), userStart: 0, userEnd: 2 }, 2);
  expect(bad.tokens.every((t) => t.scores === null)).toBe(true);
});
