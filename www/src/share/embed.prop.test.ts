// Property tests (fast-check) of what the embed and <limbic-demo> take from other pages'
// postMessage: any data and any origin string are handled without throwing, and only a
// well-formed message or a usable http(s) origin gets through.
import fc from "fast-check";
import { expect, test } from "vitest";
import { isHello, usableOrigin } from "./embed-parent";
import { heightOf, MAX_HEIGHT, MIN_HEIGHT } from "./embed-src";

const anything = fc.anything({ withBigInt: true, withNullPrototype: true, withTypedArray: true, withMap: true });

test("heightOf: any data is a clamped whole height or null", () => {
  fc.assert(fc.property(fc.oneof(anything, fc.record({ type: fc.constant("limbic:height"), height: fc.oneof(fc.double(), anything) })), (data) => {
    const h = heightOf(data);
    if (h !== null) expect(Number.isInteger(h) && h >= MIN_HEIGHT && h <= MAX_HEIGHT).toBe(true);
  }), { numRuns: 2000 });
});

test("isHello is a boolean for any data", () => {
  fc.assert(fc.property(anything, (data) => { expect(typeof isHello(data)).toBe("boolean"); }), { numRuns: 2000 });
});

test("usableOrigin: any string is null or an http(s) origin that is its own origin", () => {
  const origin = fc.oneof(fc.string({ unit: "binary" }), fc.webUrl().map((u) => new URL(u).origin), fc.webUrl(), fc.constantFrom("null", "file://", "data:,x", "http://a b"));
  fc.assert(fc.property(origin, (o) => {
    const u = usableOrigin(o);
    if (u === null) return;
    expect(u).toBe(o);
    expect(new URL(u).origin).toBe(u);
    expect(["http:", "https:"]).toContain(new URL(u).protocol);
  }), { numRuns: 2000 });
});
