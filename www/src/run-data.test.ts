import { expect, test } from "vitest";
import { addToRun, newRun, replyText } from "./run-data";

test("a run collects prompt rows, reply tokens and a traced vector's scores; the user's tokens are told from the template", () => {
  const run = newRun("main", [], 21);
  addToRun(run, { type: "prompt", run: "main", texts: ["<|im_start|>", "Hi", "<|im_end|>"], scores: new Float32Array([1, 2, 3, 4, 5, 6]), userStart: 1, userEnd: 2, trace: new Float32Array([0.5, -1, 2]) }, 2);
  addToRun(run, { type: "token", run: "main", id: 5, text: " there", scores: new Float32Array([7, 8]), trace: 3 }, 2);
  expect(run.tokens.map((t) => t.kind)).toEqual(["template", "prompt", "template", "reply"]);
  expect(Array.from(run.tokens[1]!.scores!)).toEqual([3, 4]);
  expect(replyText(run)).toBe(" there");
  // A traced made vector's score rides along with each token.
  expect(run.tokens.map((t) => t.trace)).toEqual([0.5, -1, 2, 3]);
  // A score matrix of the wrong size is not split into wrong rows.
  const bad = newRun("main", [], 21);
  addToRun(bad, { type: "prompt", run: "main", texts: ["a", "b"], scores: new Float32Array(3), userStart: 0, userEnd: 2, trace: new Float32Array(0) }, 2);
  expect(bad.tokens.every((t) => t.scores === null && t.trace === null)).toBe(true);
});
