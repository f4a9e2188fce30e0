// The made-vector fragment codec: f16 conversion against known values and Float32 rounding,
// every vector that fits survives a link (to f16 precision), and anything hostile (bad
// base64, a wrong length, NaN or infinity, a 10 MB fragment, bad fields) is refused with a
// reason, never thrown.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { carriesMade, decodeMade, encodeMade, f16ToF32, f32ToF16, MAX_FRAGMENT_CHARS, textsHash, type MadeLink } from "./made-link";

const D = 576;
const made = (vector: Float32Array, over: Partial<MadeLink> = {}): MadeLink => ({
  name: "pirate talk", hash: "0123456789abcdef", layer: 13, strength: 0.3, vector, ...over,
});
const unit = () => Float32Array.from({ length: D }, (_, i) => Math.sin(i + 1) / 17);

describe("f16", () => {
  test("known values", () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(f32ToF16(2 ** -24)).toBe(1);
    expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00);
    expect(f16ToF32(0x3555)).toBeCloseTo(0.33325, 5);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(f16ToF32(0x7e00))).toBe(true);
  });
  test("every half survives a round trip", () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16ToF32(h);
      if (Number.isNaN(v)) continue;
      expect(f32ToF16(v)).toBe(h);
    }
  });
  test("rounding is to the nearest half", () => {
    fc.assert(fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (v) => {
      const back = f16ToF32(f32ToF16(v));
      const ulp = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(v) || 1)) - 10));
      expect(Math.abs(back - v)).toBeLessThanOrEqual(ulp / 2 + 1e-12);
    }));
  });
});

describe("fragment", () => {
  test("a vector survives a link to f16 precision", () => {
    fc.assert(fc.property(
      fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 1024 }).filter((a) => a.some((x) => Math.abs(x) > 1e-3)),
      fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0 && !/[\u0000-\u001f\u007f-\u009f]/.test(s)),
      fc.integer({ min: 1, max: 100 }),
      fc.double({ min: -0.5, max: 0.5, noNaN: true }),
      (values, name, layer, strength) => {
        const m = made(Float32Array.from(values), { name, layer, strength });
        const frag = encodeMade(m);
        expect(frag).not.toMatch(/[#?]/);
        const back = decodeMade(`#${frag}`, values.length);
        expect(back.ok).toBe(true);
        if (!back.ok) return;
        expect(back.made.name).toBe(name.trim());
        expect(back.made.layer).toBe(layer);
        expect(back.made.strength + 0).toBe(strength + 0); // -0 reads back as 0
        back.made.vector.forEach((v, i) => expect(Math.abs(v - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) / 1024 + 2 ** -24));
      },
    ), { numRuns: 200 });
  });
  test("576 values make a fragment of about 1,600 characters", () => {
    const frag = encodeMade(made(unit()));
    expect(frag.length).toBeLessThan(1700);
    expect(carriesMade(`#${frag}`)).toBe(true);
    expect(carriesMade("#other=1")).toBe(false);
  });

  const good = encodeMade(made(unit()));
  const withParam = (k: string, v: string) => { const q = new URLSearchParams(good); q.set(k, v); return q.toString(); };
  const refused: [string, string, RegExp][] = [
    ["bad base64", withParam("made", "not*base64!"), /base64url/],
    ["an impossible base64 length", withParam("made", "AAAAA"), /base64url/],
    ["an empty vector", withParam("made", ""), /base64url/],
    ["an odd byte count", withParam("made", "AAAA"), /whole number of f16/],
    ["the wrong length", encodeMade(made(unit().subarray(0, 100))), /100 values; this model's residual stream has 576/],
    ["NaN", encodeMade(made(Float32Array.from(unit(), (v, i) => (i === 7 ? NaN : v)))), /NaN or infinity/],
    ["infinity", encodeMade(made(Float32Array.from(unit(), (v, i) => (i === 7 ? 1e9 : v)))), /NaN or infinity/],
    ["all zeros", encodeMade(made(new Float32Array(D))), /all zeros/],
    ["10 MB", `made=${"A".repeat(10_000_000)}`, /more than 16384/],
    ["no name", withParam("name", " "), /name/],
    ["a control character in the name", withParam("name", "a\u0007b"), /name/],
    ["a long name", withParam("name", "x".repeat(61)), /name/],
    ["a bad hash", withParam("hash", "zz"), /hash/],
    ["layer 0", withParam("layer", "0"), /layer/],
    ["a fractional layer", withParam("layer", "1.5"), /layer/],
    ["a strength past 0.5", withParam("strength", "0.7"), /strength/],
    ["a NaN strength", withParam("strength", "NaN"), /strength/],
    ["no strength", withParam("strength", ""), /strength/],
  ];
  test.each(refused)("refuses %s", (_, frag, why) => {
    const r = decodeMade(frag, D);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });
  test("arbitrary text is refused or read, never thrown", () => {
    fc.assert(fc.property(fc.string({ maxLength: 3000 }), (s) => {
      const r = decodeMade(s, D);
      if (r.ok) expect(r.made.vector.length).toBe(D);
    }));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      const r = decodeMade(`made=${btoa(String.fromCharCode(...bytes)).replace(/=+$/, "")}&name=x&hash=0123456789abcdef&layer=3&strength=0`);
      if (r.ok) expect(r.made.vector.every(Number.isFinite)).toBe(true);
    }));
  });
  test("the fragment limit is the one documented", () => expect(MAX_FRAGMENT_CHARS).toBe(16_384));
});

test("the texts' hash depends on every text and on which side it is", async () => {
  const a = await textsHash(["a", "b"], []);
  expect(a).toMatch(/^[0-9a-f]{16}$/);
  expect(await textsHash(["a", "b"], [])).toBe(a);
  expect(await textsHash(["ab"], [])).not.toBe(a);
  expect(await textsHash(["a"], ["b"])).not.toBe(a);
});
