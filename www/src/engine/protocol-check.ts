//! The worker's gate: a message that claims to be a `ToWorker` is checked field by field before
//! the worker acts on it. Anything else (another type, a missing or wrong field, NaN, a prompt
//! past the context) is rejected with an error that names the field; nothing here throws.

import type { Choice, Steer, ToWorker } from "./protocol";

export type Checked = { ok: true; msg: ToWorker } | { ok: false; error: string };

/** Prompts and earlier turns together never need more (the context is 8192 tokens). */
export const MAX_TEXT_CHARS = 200_000;
/** The most tokens one reply may ask for. */
export const MAX_REPLY_TOKENS = 8192;
/** The largest steering strength the worker accepts, the engine's own limit (the page holds
 * emotions to ±0.5; a control vector's strength is llama.cpp's scale, up to ±5). */
export const MAX_STRENGTH = 5;
/** The largest control-vector file the page reads (30 layers of 4096 f32 values is ~0.5 MB). */
export const MAX_IMPORT_BYTES = 16 * 1024 * 1024;
const MAX_LAYER = 1000;
const MAX_LIST = 1000;

class Bad extends Error {}

type Obj = Record<string, unknown>;
const what = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : typeof v);

function str(o: Obj, k: string, max = MAX_TEXT_CHARS): string {
  const v = o[k];
  if (typeof v !== "string") throw new Bad(`${k} must be a string, not ${what(v)}`);
  if (v.length > max) throw new Bad(`${k} is longer than ${max} characters`);
  return v;
}
function bool(o: Obj, k: string): boolean {
  if (typeof o[k] !== "boolean") throw new Bad(`${k} must be true or false, not ${what(o[k])}`);
  return o[k] as boolean;
}
function num(o: Obj, k: string, lo: number, hi: number, int: boolean): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < lo || v > hi) {
    throw new Bad(`${k} must be ${int ? "a whole number" : "a number"} in ${lo}…${hi}, not ${typeof v === "number" ? String(v) : what(v)}`);
  }
  return v;
}
function strings(o: Obj, k: string): string[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length > MAX_LIST || !v.every((s) => typeof s === "string")) throw new Bad(`${k} must be a list of strings`);
  if (v.reduce((n: number, s: string) => n + s.length, 0) > MAX_TEXT_CHARS) throw new Bad(`${k} is longer than ${MAX_TEXT_CHARS} characters`);
  return v as string[];
}
function steers(o: Obj): Steer[] {
  const v = o.steer;
  if (!Array.isArray(v) || v.length > MAX_LIST) throw new Bad("steer must be a list of {name, strength}");
  return v.map((s, i) => {
    if (typeof s !== "object" || s === null) throw new Bad(`steer[${i}] must be {name, strength}, not ${what(s)}`);
    const t = s as Obj;
    return { name: str(t, `name`, 200), strength: num(t, "strength", -MAX_STRENGTH, MAX_STRENGTH, false) };
  });
}
function vector(o: Obj, k: string): Float32Array {
  const v = o[k];
  if (!(v instanceof Float32Array) || v.length === 0 || v.length > 16_384 || !v.every(Number.isFinite)) {
    throw new Bad(`${k} must be a Float32Array of finite numbers (at most 16384)`);
  }
  return v;
}
function bytes(o: Obj, k: string): Uint8Array {
  const v = o[k];
  if (!(v instanceof Uint8Array) || v.length === 0 || v.length > MAX_IMPORT_BYTES) {
    throw new Bad(`${k} must be the file's bytes, 1 to ${MAX_IMPORT_BYTES} of them`);
  }
  return v;
}
function optional<T>(o: Obj, k: string, read: (o: Obj, k: string) => T): T | undefined {
  return o[k] === undefined ? undefined : read(o, k);
}
function oneOf<T extends string>(o: Obj, k: string, allowed: readonly T[]): T {
  if (!allowed.includes(o[k] as T)) throw new Bad(`${k} must be ${allowed.map((a) => JSON.stringify(a)).join(" or ")}, not ${what(o[k])}`);
  return o[k] as T;
}

function blob(o: Obj, k: string): Blob {
  const v = o[k];
  if (!(v instanceof Blob) || v.size === 0) throw new Bad(`${k} must be a file with something in it, not ${what(v)}`);
  return v;
}
function sha(o: Obj, k: string): string {
  const v = str(o, k, 64);
  if (!/^[0-9a-f]{64}$/.test(v)) throw new Bad(`${k} must be 64 lower-case hex digits`);
  return v;
}
/** The model's source: an address or a file, exactly one. */
function source(o: Obj): { modelUrl?: string; modelFile?: Blob } {
  const modelUrl = optional(o, "modelUrl", (x, k) => str(x, k, 4096));
  const modelFile = optional(o, "modelFile", blob);
  if ((modelUrl === undefined) === (modelFile === undefined)) throw new Bad("a load needs exactly one of modelUrl and modelFile");
  return { modelUrl, modelFile };
}

function choice(o: Obj, k: string): Choice {
  const c = o[k];
  if (typeof c !== "object" || c === null) throw new Bad(`${k} must be {backend, reason}, not ${what(c)}`);
  const t = c as Obj;
  return { backend: oneOf(t, "backend", ["cpu", "webgpu"] as const), reason: str(t, "reason", 300) };
}

function check(o: Obj): ToWorker {
  switch (o.type) {
    case "load":
      return {
        type: "load", ...source(o), sha256: optional(o, "sha256", sha), maxBytes: optional(o, "maxBytes", (x, k) => num(x, k, 1, 2 ** 53 - 1, true)),
        emotionsUrl: optional(o, "emotionsUrl", (x, k) => str(x, k, 4096)), emotionsFile: optional(o, "emotionsFile", blob),
        backend: optional(o, "backend", (x, k) => oneOf(x, k, ["cpu", "webgpu"] as const)),
        chosen: optional(o, "chosen", choice),
        threads: optional(o, "threads", (x, k) => num(x, k, 1, 2, true)),
        simd: optional(o, "simd", (x, k) => oneOf(x, k, ["plain"] as const)),
        cache: optional(o, "cache", bool),
      };
    case "generate":
      return {
        type: "generate", prompt: str(o, "prompt"), chat: bool(o, "chat"), maxTokens: num(o, "maxTokens", 1, MAX_REPLY_TOKENS, true),
        temperature: num(o, "temperature", 0, 10, false), topP: num(o, "topP", 0, 1, false), seed: num(o, "seed", 0, 2 ** 53 - 1, true),
        steer: steers(o), compare: bool(o, "compare"), layer: num(o, "layer", 0, MAX_LAYER, true), history: optional(o, "history", strings),
        trace: optional(o, "trace", (x, k) => str(x, k, 200)),
      };
    case "probe":
      return {
        type: "probe", id: num(o, "id", 0, 2 ** 53 - 1, true), prompt: str(o, "prompt"), chat: bool(o, "chat"), steer: steers(o),
        words: strings(o, "words"), layer: num(o, "layer", 0, MAX_LAYER, true), trace: optional(o, "trace", (x, k) => str(x, k, 200)),
      };
    case "set-layer":
    case "vectors":
      return { type: o.type, layer: num(o, "layer", 0, MAX_LAYER, true) };
    case "set-backend":
      return { type: o.type, backend: oneOf(o, "backend", ["cpu", "webgpu"] as const), threads: optional(o, "threads", (x, k) => num(x, k, 1, 2, true)) };
    case "make":
      return { type: "make", name: str(o, "name", 200), texts: strings(o, "texts"), opposite: strings(o, "opposite") };
    case "add-made":
      return { type: "add-made", name: str(o, "name", 200), layer: num(o, "layer", 0, MAX_LAYER, true), vector: vector(o, "vector") };
    case "import-made":
      return { type: "import-made", name: str(o, "name", 200), bytes: bytes(o, "bytes") };
    case "export-made":
      return {
        type: "export-made", name: str(o, "name", 200), format: oneOf(o, "format", ["json", "gguf"] as const),
        strength: num(o, "strength", -MAX_STRENGTH, MAX_STRENGTH, false),
      };
    case "cancel":
    case "lose-device":
    case "memory":
    case "clear-made":
      return { type: o.type };
    default:
      throw new Bad(`unknown message type ${what(o.type)}`);
  }
}

/** `data` as a message the worker understands, or why it is not one. */
export function checkToWorker(data: unknown): Checked {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, error: `bad message to the worker: expected an object with a type, got ${what(data)}` };
  }
  try {
    // Optional fields that were absent stay absent.
    const msg = Object.fromEntries(Object.entries(check(data as Obj)).filter(([, v]) => v !== undefined)) as ToWorker;
    return { ok: true, msg };
  } catch (err) {
    const type = typeof (data as Obj).type === "string" ? `${((data as Obj).type as string).slice(0, 40)} ` : "";
    return { ok: false, error: `bad ${type}message to the worker: ${err instanceof Bad ? err.message : "unreadable"}` };
  }
}
