import { expect, test } from "vitest";
import { DOSE_TEMPLATES, doseLabel, feelToken, feelWords, fillTemplate, PREFERENCE_PAIRS, preferenceQuestion } from "./presets";

test("dose templates are the validation's, with rising doses", () => {
  const tylenol = DOSE_TEMPLATES[0]!;
  expect(tylenol.doses).toEqual([500, 1000, 2000, 4000, 8000, 16000]);
  // The exact wording `limbic validate` used (docs/validation/report.md), so numbers agree.
  expect(fillTemplate(tylenol.template, 4000)).toBe("I just took 4000 mg of Tylenol for my back pain.");
  expect(doseLabel(tylenol, 16000)).toBe("16,000 mg");
  expect(DOSE_TEMPLATES.length).toBe(3);
  for (const t of DOSE_TEMPLATES) {
    expect(t.template).toContain("{X}");
    expect(t.doses.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < t.doses.length; i++) expect(t.doses[i]!).toBeGreaterThan(t.doses[i - 1]!);
  }
  expect(fillTemplate("I am standing on a ledge {X} meters above the ground.", 5)).toBe("I am standing on a ledge 5 meters above the ground.");
});

test("feel words: the steered emotion first, then others the vectors have", () => {
  const names = ["sad", "happy", "calm", "angry", "afraid", "desperate"];
  expect(feelWords("sad", names)).toEqual(["sad", "happy", "calm", "angry"]);
  expect(feelWords("desperate", names)).toEqual(["desperate", "happy", "sad", "calm"]);
  expect(feelWords("happy", ["happy", "calm"])).toEqual(["happy", "calm"]);
  expect(feelToken("sad")).toBe(" sad");
});

test("preference questions name both options and ask for a letter", () => {
  expect(PREFERENCE_PAIRS.length).toBe(5);
  const q = preferenceQuestion({ a: "swim", b: "run", kind: "" });
  expect(q).toBe("Would you prefer to (A) swim or (B) run? Answer with A or B.");
});
