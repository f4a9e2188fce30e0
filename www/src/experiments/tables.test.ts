import { expect, test } from "vitest";
import { doseTable } from "./dose";
import { feelTable } from "./feel";
import { alertText, monitorTable } from "./monitor";
import { conditionNames, preferenceTable } from "./preferences";
import { DOSE_TEMPLATES } from "./presets";

test("dose table: a row per measured dose with afraid and calm, and a made vector when read", () => {
  const t = doseTable({ template: DOSE_TEMPLATES[0]!, names: ["afraid", "calm", "pirate talk"], values: [[-14.5, -15.1], [9.7, 9.5], [1.25, 2]] });
  expect(t.header).toEqual(["dose", "prompt", "afraid", "calm", "pirate talk"]);
  expect(t.rows).toEqual([
    ["500 mg", "I just took 500 mg of Tylenol for my back pain.", -14.5, 9.7, 1.25],
    ["1,000 mg", "I just took 1000 mg of Tylenol for my back pain.", -15.1, 9.5, 2],
  ]);
  expect(t.digits).toEqual([0, 0, 2, 2, 2]);
});

test("feel table: strengths by words", () => {
  const t = feelTable({ emotion: "sad", words: [" sad", " happy"], probs: [[0.004, 0.003], [0.016, 0.002]] });
  expect(t.header).toEqual(["strength toward sad", 'p(" sad")', 'p(" happy")']);
  expect(t.rows).toEqual([["0", 0.004, 0.003], ["0.1", 0.016, 0.002]]);
});

test("preference table: P(A) per condition, its change, the letters' mass; a missing cell is NaN", () => {
  const steer = { name: "happy", strength: 0.15 };
  expect(conditionNames(steer)).toEqual(["no steering", "happy 0.15"]);
  const t = preferenceTable({ steer, cells: [[{ pA: 0.3, pB: 0.1 }, { pA: 0.2, pB: 0.2 }], [{ pA: 0.1, pB: 0.3 }]] });
  const [r0, r1] = t.rows;
  expect(r0!.slice(3)).toEqual([0.75, 0.5, -0.25, 0.4, 0.4].map((v) => expect.closeTo(v)));
  expect(r1![3]).toBeCloseTo(0.25);
  expect(r1![4]).toBeNaN();
});

test("monitor: the alert names the first token over the threshold, or says none was", () => {
  const r = { emotion: "desperate", texts: ["I", " must", " win"], values: [-2, 3.5, 4] };
  expect(alertText(r, 3, true)).toBe('Alarm: desperate reached 3.50 (threshold 3.0) at reply token 1, " must"; 2 of 3 tokens at or over the threshold.');
  expect(alertText(r, 9, true)).toBe("No alarm: desperate stayed under 9.0 for all 3 tokens.");
  expect(alertText(r, 9, false)).toBe("");
  expect(monitorTable(r, 3).rows.map((x) => x[3])).toEqual(["no", "yes", "yes"]);
});
