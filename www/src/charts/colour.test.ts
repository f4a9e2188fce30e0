import { expect, test } from "vitest";
import { CATEGORICAL, categoryColours, divergingColour, maxAbs, OTHER, withAlpha } from "./colour";

test("the diverging scale is symmetric in strength, opposite in hue, clamped", () => {
  expect(divergingColour(0, 1)).toBe("transparent");
  expect(divergingColour(Number.NaN, 1)).toBe("transparent");
  expect(divergingColour(1, 0)).toBe("transparent");
  const pos = divergingColour(0.5, 1);
  const neg = divergingColour(-0.5, 1);
  expect(pos).not.toBe(neg);
  expect(pos.split(",").at(-1)).toBe(neg.split(",").at(-1)); // same alpha
  expect(divergingColour(5, 1)).toBe(divergingColour(1, 1));
  expect(divergingColour(1, 1)).toMatch(/0\.800\)$/);
});

test("the most frequent top emotions get the palette, the rest share grey", () => {
  const tops = ["a", "b", "b", "c", "c", "c", ..."defghij".split("")];
  const m = categoryColours(tops);
  expect(m.get("c")).toBe(CATEGORICAL[0]);
  expect(m.get("b")).toBe(CATEGORICAL[1]);
  expect(m.get("a")).toBe(CATEGORICAL[2]);
  expect(m.get("j")).toBe(OTHER);
  expect(new Set([...m.values()].filter((c) => c !== OTHER)).size).toBe(CATEGORICAL.length);
});

test("helpers", () => {
  expect(withAlpha("#E69F00", 0.5)).toBe("rgba(230, 159, 0, 0.5)");
  expect(maxAbs([1, -3, Number.NaN, 2])).toBe(3);
  expect(maxAbs([])).toBe(0);
});
