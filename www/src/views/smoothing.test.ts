import { describe, expect, it } from "vitest";
import type { EmotionInfo } from "../engine/protocol";
import type { Token } from "../run-data";
import { calibrationAt, intensity, intensityAlpha, smoothTokens } from "./smoothing";

const tok = (scores: number[] | null): Token => ({ text: "x", kind: "reply", scores: scores && Float32Array.from(scores) });

describe("smoothing", () => {
  it("takes running means over scored tokens only, as src/readout.rs does", () => {
    // The first token (the attention sink) is left out.
    const ts = [tok([99, 99]), tok([1, 0]), tok(null), tok([3, 0]), tok([2, 4]), tok([0, 0]), tok([6, 2])];
    const rows = smoothTokens(ts, 2, 2);
    expect(rows.has(ts[0]!)).toBe(false);
    expect(rows.has(ts[2]!)).toBe(false);
    expect([...rows.values()].map((r) => [...r])).toEqual([[1, 0], [2, 0], [2.5, 2], [1, 2], [3, 1]]);
    expect([...smoothTokens(ts, 2, 1).values()].map((r) => [...r])).toEqual([[1, 0], [3, 0], [2, 4], [0, 0], [6, 2]]);
  });

  it("reads a layer's and window's calibration and scores intensity against it", () => {
    const info = { names: ["a", "b"], nLayer: 2, windows: [1, 8], calibration: [
      // layer 0: window 1 (mean, sd), window 8 (mean, sd); then layer 1
      0, 0, 1, 1, 5, 5, 2, 2, 1, 2, 0.5, 0.5, 10, 20, 4, 4,
    ] } as unknown as EmotionInfo;
    const c = calibrationAt(info, 1, 8)!;
    expect([...c.mean]).toEqual([10, 20]);
    expect([...c.sd]).toEqual([4, 4]);
    expect(calibrationAt(info, 0, 4)).toBeNull();
    expect(calibrationAt(info, 2, 1)).toBeNull();
    expect(intensity([14, 30], c)).toBe(2.5); // top emotion b: (30 − 20) / 4
    expect(intensityAlpha(1.5)).toBe(0);
    expect(intensityAlpha(3.5)).toBe(0.5);
    expect(intensityAlpha(9)).toBe(1);
    expect(intensityAlpha(NaN)).toBe(0);
    // No measured floor: 2 sd.
    expect(c.floor).toBe(2);
  });

  it("colours from the file's measured floor at the default layer only", () => {
    const info = { names: ["a"], nLayer: 2, defaultLayer: 1, windows: [1, 8], intensityFloor: [2.5, 3],
      calibration: [0, 1, 0, 1, 0, 1, 0, 1] } as unknown as EmotionInfo;
    const c = calibrationAt(info, 1, 8)!;
    expect(c.floor).toBe(3);
    expect(calibrationAt(info, 0, 8)!.floor).toBe(2);
    expect(intensityAlpha(3, c.floor)).toBe(0);
    expect(intensityAlpha(4.5, c.floor)).toBe(0.5);
    expect(intensityAlpha(6, c.floor)).toBe(1);
  });

  it("reads the intensity along the file's emotional direction at the default layer", () => {
    const info = { names: ["a", "b"], nLayer: 2, defaultLayer: 1, windows: [1, 8],
      calibration: [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 10, 20, 4, 4],
      // per window: w (2), mean, sd
      intensity: [1, 0, 0, 1, 0.6, 0.8, 1, 2] } as unknown as EmotionInfo;
    const c = calibrationAt(info, 1, 8)!;
    expect(intensity([14, 30], c)).toBeCloseTo((0.6 * 14 + 0.8 * 30 - 1) / 2); // not the top z
    expect(calibrationAt(info, 1, 1)!.emotional?.w).toEqual(Float32Array.from([1, 0]));
    // Another layer has no direction: the top emotion's z.
    expect(intensity([1, 3], calibrationAt(info, 0, 8)!)).toBe(3);
  });
});
