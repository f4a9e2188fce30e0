// Property tests (fast-check) of the URL state: any query string or parameter values parse
// without throwing into a state the page can use (known view, numbers in range, strengths
// within ±0.5, known emotions only once the names are checked), and every usable state
// survives a link unchanged.
import fc from "fast-check";
import { expect, test } from "vitest";
import { MODELS } from "../config";
import { isAddress } from "../models";
import { MAX_STEERS, STRENGTH_LIMIT } from "./steer-text";
import { type AppState, checkNames, MAX_PROMPT_CHARS, MAX_TRACKED, parseUrl, toQuery, TOP, wellFormed } from "./url-state";

const VIEWS = ["readout", "steer", "map", "experiments", "compare", "about"];
const NAMES = ["afraid", "calm", "sad", "happy", "at ease", "self-confident"];
const N_LAYER = 30;
const BASE = "http://localhost/";
const KEYS = ["view", "prompt", "steer", "layer", "window", "emotion", "track", "seed", "temperature", "max", "backend", "model", "vectors", "a", "b", "autorun"];

/** Everything the page relies on in a parsed and checked state. */
function usable(s: AppState) {
  expect(VIEWS).toContain(s.view);
  expect(typeof s.prompt).toBe("string");
  expect(s.prompt.length).toBeLessThanOrEqual(MAX_PROMPT_CHARS);
  expect(s.steer.length).toBeLessThanOrEqual(MAX_STEERS);
  expect(new Set(s.steer.map((x) => x.name)).size).toBe(s.steer.length);
  for (const x of s.steer) {
    expect(NAMES).toContain(x.name);
    expect(Number.isFinite(x.strength)).toBe(true);
    expect(Math.abs(x.strength)).toBeLessThanOrEqual(STRENGTH_LIMIT);
  }
  if (s.layer !== null) expect(Number.isInteger(s.layer) && s.layer >= 0 && s.layer < N_LAYER).toBe(true);
  if (s.window !== null) expect(Number.isInteger(s.window) && s.window >= 1 && s.window <= 64).toBe(true);
  expect([TOP, ...NAMES]).toContain(s.emotion);
  expect(s.track.length).toBeLessThanOrEqual(MAX_TRACKED);
  for (const t of s.track) expect(NAMES).toContain(t);
  expect(Number.isInteger(s.seed) && s.seed >= 0 && s.seed <= 4294967295).toBe(true);
  expect(Number.isFinite(s.temperature) && s.temperature >= 0 && s.temperature <= 2).toBe(true);
  expect(Number.isInteger(s.maxTokens) && s.maxTokens >= 1 && s.maxTokens <= 1024).toBe(true);
  expect([null, "cpu", "webgpu"]).toContain(s.backend);
  // A menu id or an http(s) address; vectors an http(s) address or none.
  expect(MODELS.some((m) => m.id === s.model) || isAddress(s.model, BASE)).toBe(true);
  if (s.vectors !== null) expect(isAddress(s.vectors, BASE)).toBe(true);
  for (const m of [s.compareA, s.compareB]) expect(MODELS.some((e) => e.id === m) || isAddress(m, BASE)).toBe(true);
  expect(typeof s.autorun).toBe("boolean");
}

function parseAndCheck(search: string) {
  const p = parseUrl(search, VIEWS);
  const c = checkNames(p.state, p.steerText, NAMES, N_LAYER);
  return { state: c.state, warnings: [...p.warnings, ...c.warnings] };
}

test("any query string parses without throwing into a usable state", () => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (q) => usable(parseAndCheck(q).state)), { numRuns: 3000 });
});

/** Values a link might carry: numbers of every kind, names, lists, junk. */
const value = fc.oneof(
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.double().map(String),
  fc.integer().map(String),
  fc.constantFrom("NaN", "Infinity", "-0", "1e309", "0x10", " 3 ", "", ",", ":", "sad:", ":0.3", "sad:0.3,sad:0.1", "calm:-9"),
  fc.array(fc.tuple(fc.constantFrom(...NAMES, "nope", ""), fc.oneof(fc.double().map(String), fc.constant(""))), { maxLength: 6 })
    .map((xs) => xs.map(([n, s]) => (s ? `${n}:${s}` : n)).join(",")),
);

test("any parameters with any values parse without throwing into a usable state", () => {
  fc.assert(fc.property(fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), value, { maxKeys: 14 }), (params) => {
    const r = parseAndCheck(`?${new URLSearchParams(params).toString()}`);
    usable(r.state);
    for (const w of r.warnings) expect(typeof w).toBe("string");
  }), { numRuns: 3000 });
});

const state: fc.Arbitrary<AppState> = fc.record({
  view: fc.constantFrom(...VIEWS),
  prompt: fc.string({ unit: fc.oneof(fc.constantFrom("\uD83D", "\uDE00", "😀", "\r\n", "&", "%", "+"), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })), maxLength: 60 })
    .map(wellFormed),
  steer: fc.uniqueArray(fc.record({ name: fc.constantFrom(...NAMES), strength: fc.integer({ min: -500, max: 500 }).map((m) => m / 1000) }),
    { maxLength: MAX_STEERS, selector: (s) => s.name }),
  layer: fc.option(fc.integer({ min: 0, max: N_LAYER - 1 })),
  window: fc.option(fc.integer({ min: 1, max: 64 })),
  emotion: fc.constantFrom(TOP, ...NAMES),
  track: fc.uniqueArray(fc.constantFrom(...NAMES), { maxLength: MAX_TRACKED }),
  seed: fc.integer({ min: 0, max: 4294967295 }),
  temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  maxTokens: fc.integer({ min: 1, max: 1024 }),
  backend: fc.constantFrom(null, "cpu" as const, "webgpu" as const),
  model: fc.oneof(fc.constantFrom(...MODELS.map((m) => m.id)), fc.webUrl(), fc.constantFrom("models/other model.gguf", "/m?x=1&y=2#z")),
  vectors: fc.option(fc.oneof(fc.webUrl(), fc.constant("data/vectors/x.safetensors"))),
  compareA: fc.oneof(fc.constantFrom(...MODELS.map((m) => m.id)), fc.webUrl()),
  compareB: fc.oneof(fc.constantFrom(...MODELS.map((m) => m.id)), fc.webUrl()),
  autorun: fc.boolean(),
});

test("every usable state survives a link unchanged, with no warning", () => {
  fc.assert(fc.property(state, (s) => {
    const back = parseAndCheck(`?${toQuery(s)}`);
    expect(back.warnings).toEqual([]);
    expect(back.state).toEqual(s);
  }), { numRuns: 2000 });
});

test("a prompt with a broken surrogate pair becomes well-formed text as a link would carry it", () => {
  fc.assert(fc.property(fc.string({ unit: fc.oneof(fc.constantFrom("\uD83D", "\uDE00", "a", "😀")), maxLength: 20 }), (raw) => {
    const p = wellFormed(raw);
    expect(parseAndCheck(`?${new URLSearchParams({ prompt: raw })}`).state.prompt).toBe(p);
    expect(wellFormed(p)).toBe(p);
  }));
});
