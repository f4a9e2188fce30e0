// Property tests (fast-check) of the worker's gate: arbitrary data never throws and is either
// a well-formed message or an error that says what was wrong; well-formed messages pass as
// they are.
import fc from "fast-check";
import { expect, test } from "vitest";
import { checkToWorker, MAX_IMPORT_BYTES, MAX_REPLY_TOKENS, MAX_STRENGTH } from "./protocol-check";
import type { ToWorker } from "./protocol";

const TYPES = ["load", "generate", "probe", "set-layer", "vectors", "set-backend", "cancel", "lose-device", "memory", "make", "add-made", "clear-made", "export-made"];

/** Valid messages of every type. */
const steer = fc.record({ name: fc.string({ maxLength: 30 }), strength: fc.double({ min: -MAX_STRENGTH, max: MAX_STRENGTH, noNaN: true }) });
const layer = fc.integer({ min: 0, max: 29 });
const valid: fc.Arbitrary<ToWorker> = fc.oneof(
  fc.record({ type: fc.constant("load" as const), modelUrl: fc.webUrl(), emotionsUrl: fc.webUrl(),
    backend: fc.constantFrom("cpu" as const, "webgpu" as const), threads: fc.constantFrom(1, 2), simd: fc.constant("plain" as const), cache: fc.boolean() },
  { requiredKeys: ["type", "modelUrl", "emotionsUrl"] }),
  fc.record({ type: fc.constant("generate" as const), prompt: fc.string(), chat: fc.boolean(), maxTokens: fc.integer({ min: 1, max: MAX_REPLY_TOKENS }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }), topP: fc.double({ min: 0, max: 1, noNaN: true }), seed: fc.nat(),
    steer: fc.array(steer, { maxLength: 3 }), compare: fc.boolean(), layer, history: fc.array(fc.string(), { maxLength: 4 }) },
  { requiredKeys: ["type", "prompt", "chat", "maxTokens", "temperature", "topP", "seed", "steer", "compare", "layer"] }),
  fc.record({ type: fc.constant("probe" as const), id: fc.nat(), prompt: fc.string(), chat: fc.boolean(), steer: fc.array(steer, { maxLength: 3 }),
    words: fc.array(fc.string(), { maxLength: 5 }), layer }),
  fc.record({ type: fc.constantFrom("set-layer" as const, "vectors" as const), layer }),
  fc.record({ type: fc.constant("set-backend" as const), backend: fc.constantFrom("cpu" as const, "webgpu" as const), threads: fc.constantFrom(1, 2) },
    { requiredKeys: ["type", "backend"] }),
    fc.record({ type: fc.constantFrom("cancel" as const, "lose-device" as const, "memory" as const, "clear-made" as const) }),
  fc.record({ type: fc.constant("make" as const), name: fc.string({ maxLength: 60 }), texts: fc.array(fc.string(), { maxLength: 8 }), opposite: fc.array(fc.string(), { maxLength: 4 }) }),
  fc.record({ type: fc.constant("add-made" as const), name: fc.string({ maxLength: 60 }), layer,
    vector: fc.float32Array({ minLength: 1, maxLength: 600, noDefaultInfinity: true, noNaN: true }) }),
  fc.record({ type: fc.constant("export-made" as const), name: fc.string({ maxLength: 60 }), format: fc.constantFrom("json" as const, "gguf" as const),
    strength: fc.double({ min: -MAX_STRENGTH, max: MAX_STRENGTH, noNaN: true }) }),
);

const expectRejected = (r: ReturnType<typeof checkToWorker>) => {
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.error).toMatch(/^bad (\S+ )?message to the worker: \S/);
};

test("arbitrary data never throws: it is a message of a known type, or rejected with a reason", () => {
  fc.assert(fc.property(fc.anything({ withNullPrototype: true, withTypedArray: true, withSparseArray: true, withBigInt: true, withMap: true, withSet: true }), (data) => {
    const r = checkToWorker(data);
    if (r.ok) expect(TYPES).toContain(r.msg.type);
    else expectRejected(r);
  }), { numRuns: 2000 });
});

test("objects with a known type and arbitrary fields never throw; what passes is well-formed", () => {
  const fields = fc.dictionary(fc.constantFrom("modelUrl", "emotionsUrl", "backend", "threads", "simd", "cache", "prompt", "chat", "maxTokens",
    "temperature", "topP", "seed", "steer", "compare", "layer", "history", "id", "words"), fc.anything({ withBigInt: true }));
  fc.assert(fc.property(fc.constantFrom(...TYPES), fields, (type, rest) => {
    const r = checkToWorker({ ...rest, type });
    if (!r.ok) return expectRejected(r);
    const m = r.msg as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === "number") expect(Number.isFinite(v), k).toBe(true);
      if (k === "steer") for (const s of v as { strength: number }[]) expect(Math.abs(s.strength)).toBeLessThanOrEqual(MAX_STRENGTH);
    }
  }), { numRuns: 3000 });
});

test("well-formed messages pass unchanged", () => {
  fc.assert(fc.property(valid, (m) => {
    const r = checkToWorker(m);
    expect(r).toEqual({ ok: true, msg: m });
  }), { numRuns: 1000 });
});

test("one broken field is named in the error", () => {
  fc.assert(fc.property(valid.filter((m) => m.type === "generate"), fc.constantFrom("maxTokens", "temperature", "seed", "layer", "prompt", "chat"),
    fc.constantFrom(NaN, Infinity, -1, 1e12, "x", null, [], {}), (m, field, bad) => {
      const r = checkToWorker({ ...m, [field]: bad });
      // Some replacements are still valid (-1 is no seed; 1e12 is a fine seed).
      if (r.ok) return;
      expect(r.error).toContain(`bad generate message to the worker: ${field} `);
    }));
  expect(checkToWorker(null)).toEqual({ ok: false, error: "bad message to the worker: expected an object with a type, got null" });
  expect(checkToWorker({ type: "explode" })).toEqual({ ok: false, error: 'bad explode message to the worker: unknown message type "explode"' });
  expect(checkToWorker({ type: "set-backend", backend: "tpu" })).toEqual({ ok: false, error: 'bad set-backend message to the worker: backend must be "cpu" or "webgpu", not "tpu"' });
  const load = { type: "load", modelUrl: "m", emotionsUrl: "e" };
  const chosen = { backend: "webgpu", reason: "measured faster" };
  expect(checkToWorker({ ...load, chosen })).toEqual({ ok: true, msg: { ...load, chosen } });
  expect(checkToWorker({ ...load, chosen: "webgpu" })).toEqual({ ok: false, error: 'bad load message to the worker: chosen must be {backend, reason}, not "webgpu"' });
  expect(checkToWorker({ ...load, chosen: { backend: "tpu", reason: "" } }).ok).toBe(false);
  expect(checkToWorker({ type: "set-layer", layer: 1.5 })).toEqual({ ok: false, error: "bad set-layer message to the worker: layer must be a whole number in 0…1000, not 1.5" });
});

test("a made vector must be a finite Float32Array", () => {
  for (const vector of [new Float32Array([1, NaN]), new Float32Array(0), [1, 2], new Float32Array(20_000)]) {
    const r = checkToWorker({ type: "add-made", name: "x", layer: 3, vector });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/vector must be a Float32Array of finite numbers/);
  }
  expect(checkToWorker({ type: "export-made", name: "x", format: "exe", strength: 0 }).ok).toBe(false);
});

test("an imported control vector is bytes of a bounded size; a trace is a name", () => {
  expect(checkToWorker({ type: "import-made", name: "f", bytes: new Uint8Array([71, 71, 85, 70]) }).ok).toBe(true);
  for (const bytes of [new Uint8Array(0), [1, 2], "GGUF", new Uint8Array(MAX_IMPORT_BYTES + 1)]) {
    const r = checkToWorker({ type: "import-made", name: "f", bytes });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/bytes must be the file's bytes/);
  }
  const probe = { type: "probe", id: 1, prompt: "p", chat: true, steer: [], words: [], layer: 3 };
  expect(checkToWorker({ ...probe, trace: "pirate" })).toEqual({ ok: true, msg: { ...probe, trace: "pirate" } });
  expect(checkToWorker({ ...probe, trace: 5 }).ok).toBe(false);
});

test("a load names its model by address or file (one of them), a hash of 64 hex digits, vectors optional", () => {
  const file = new Blob([new Uint8Array([71, 71, 85, 70])]);
  const sha256 = "a".repeat(64);
  expect(checkToWorker({ type: "load", modelFile: file, maxBytes: 2 ** 31 })).toEqual({ ok: true, msg: { type: "load", modelFile: file, maxBytes: 2 ** 31 } });
  expect(checkToWorker({ type: "load", modelUrl: "m", sha256, emotionsFile: file }).ok).toBe(true);
  const bad = (m: object, why: RegExp) => {
    const r = checkToWorker({ type: "load", ...m });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  };
  bad({}, /exactly one of modelUrl and modelFile/);
  bad({ modelUrl: "m", modelFile: file }, /exactly one of modelUrl and modelFile/);
  bad({ modelFile: new Blob([]) }, /modelFile must be a file with something in it/);
  bad({ modelFile: "bytes" }, /modelFile must be a file/);
  bad({ modelUrl: "m", sha256: "ABC" }, /sha256 must be 64 lower-case hex digits/);
  bad({ modelUrl: "m", maxBytes: -1 }, /maxBytes must be a whole number/);
});
