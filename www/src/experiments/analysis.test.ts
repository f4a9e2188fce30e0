import { expect, test } from "vitest";
import { crossings, firstCrossing, formatCell, preferenceShare, ranks, signed, spearman, toCsv } from "./analysis";

test("ranks share ties; spearman matches known values", () => {
  expect(ranks([10, 30, 20, 20])).toEqual([1, 4, 2.5, 2.5]);
  expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1);
  expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1);
  expect(spearman([1, 2], [5, 5])).toBeNaN();
  expect(spearman([1], [1])).toBeNaN();
  // A Tylenol series from an earlier validation run: ρ = −0.83 for afraid, +0.20 for calm.
  const doses = [500, 1000, 2000, 4000, 8000, 16000];
  expect(spearman(doses, [-14.53, -15.07, -15.46, -15.52, -15.32, -15.69])).toBeCloseTo(-0.8286, 3);
  expect(spearman(doses, [9.72, 9.5, 9.32, 9.31, 9.61, 10.1])).toBeCloseTo(0.2, 3);
});

test("P(A) is p(A) over the two letters' mass, NaN without any", () => {
  expect(preferenceShare(0.3, 0.1)).toBeCloseTo(0.75);
  expect(preferenceShare(0, 0.2)).toBe(0);
  expect(preferenceShare(0, 0)).toBeNaN();
  expect(preferenceShare(NaN, 0.1)).toBeNaN();
});

test("threshold crossings count values at or over it", () => {
  expect(crossings([1, 5, 3, 7], 5)).toEqual([1, 3]);
  expect(firstCrossing([1, 5, 3, 7], 4)).toBe(1);
  expect(firstCrossing([1, 2], 9)).toBe(-1);
  expect(crossings([], 0)).toEqual([]);
});

test("cells and CSV: numbers keep full precision in CSV, fields with commas are quoted", () => {
  expect(formatCell(-1.234, 2)).toBe("−1.23");
  expect(formatCell(NaN, 2)).toBe("–");
  expect(formatCell("x", 2)).toBe("x");
  expect(signed(0.2)).toBe("+0.20");
  expect(signed(-0.8286)).toBe("−0.83");
  const csv = toCsv({ header: ["dose", "prompt", "afraid"], rows: [["500 mg", 'I took "500", ok', -14.5256], ["1,000 mg", "x", NaN]], digits: [0, 0, 2] });
  expect(csv).toBe('dose,prompt,afraid\r\n500 mg,"I took ""500"", ok",-14.5256\r\n"1,000 mg",x,\r\n');
});
