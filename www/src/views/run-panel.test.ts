import { describe, expect, it } from "vitest";
import { clampNumber } from "./run-panel";

describe("clampNumber (the number fields of Readout, Steer and Compare)", () => {
  it("clamps to the field's range and rounds an integer field", () => {
    expect(clampNumber("5", 0, 2, false, 0)).toBe(2);
    expect(clampNumber("-1", 0, 2, false, 0.5)).toBe(0);
    expect(clampNumber("0.85", 0, 2, false, 0)).toBe(0.85);
    expect(clampNumber("7.6", 0, 4294967295, true, 42)).toBe(8);
    expect(clampNumber("1e12", 0, 4294967295, true, 42)).toBe(4294967295);
    expect(clampNumber("0", 1, 1024, true, 128)).toBe(1);
  });

  it("keeps the state's value for an empty field or one that is not a number", () => {
    expect(clampNumber("", 0, 2, false, 0.7)).toBe(0.7);
    expect(clampNumber("  ", 1, 1024, true, 128)).toBe(128);
    expect(clampNumber("abc", 0, 4294967295, true, 42)).toBe(42);
    expect(clampNumber("Infinity", 0, 2, false, 0)).toBe(0);
  });
});
