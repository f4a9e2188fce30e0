import { expect, test } from "vitest";
import { formatSteers, formatStrength, parseSteers } from "./steer-text";

test("a name alone takes the default strength", () => {
  expect(parseSteers("sad", ["sad"], 0.15)).toEqual({ steers: [{ name: "sad", strength: 0.15 }], warnings: [] });
});

test("spaces, empty parts and negative strengths", () => {
  expect(parseSteers(" sad : -0.25 ,, calm:0 ", ["sad", "calm"]).steers).toEqual([
    { name: "sad", strength: -0.25 }, { name: "calm", strength: 0 },
  ]);
});

test("names with spaces or colons in the text split at the last colon", () => {
  expect(parseSteers("at ease:0.2", ["at ease"]).steers).toEqual([{ name: "at ease", strength: 0.2 }]);
  expect(parseSteers("a:b:0.2", ["a:b"]).steers).toEqual([{ name: "a:b", strength: 0.2 }]);
});

test("repeats, non-numbers and out-of-range strengths", () => {
  const r = parseSteers("sad:0.1,sad:0.2,calm:abc,happy:-7,afraid:1e400", ["sad", "calm", "happy", "afraid"]);
  expect(r.steers).toEqual([{ name: "sad", strength: 0.1 }, { name: "happy", strength: -0.5 }]);
  expect(r.warnings).toHaveLength(4);
});

test("formatting round-trips and hides float noise", () => {
  expect(formatStrength(0.30000000000000004)).toBe("0.3");
  const steers = [{ name: "sad", strength: 0.5 }, { name: "calm", strength: -0.15 }];
  expect(formatSteers(steers)).toBe("sad:0.5,calm:-0.15");
  expect(parseSteers(formatSteers(steers), ["sad", "calm"]).steers).toEqual(steers);
});
