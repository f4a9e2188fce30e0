import { expect, test } from "vitest";
import { hex, row, speedText, topK } from "./protocol";

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
