//! Which model the page runs: an entry of the menu (config.ts), another GGUF at an address, or
//! a file from this computer, each with its emotion vectors (optional); what a link's `?model=`
//! and `?vectors=` say; and whether a file fits this tab, decided from its size before it
//! downloads. Pure: no DOM, no network.

import { DEFAULT_MODEL, type ModelEntry, MODELS } from "./config";

/** The model to load and its vectors. */
export interface ModelChoice {
  /** The menu's entry, or null for another GGUF. */
  entry: ModelEntry | null;
  name: string;
  /** The name in the reply's heading. */
  short: string;
  /** The file's address (relative to the page or absolute), or null for a local file. */
  url: string | null;
  file: File | null;
  /** What the file must hash to; null: nothing known to check it against. */
  sha256: string | null;
  /** Its size when known before asking the server (an entry's, a local file's). */
  bytes: number | null;
  vectorsUrl: string | null;
  vectorsFile: File | null;
  /** What `?model=` says for it: the entry's id or the address; "" for a local file (no link
   * can carry one). */
  link: string;
  /** What `?vectors=` says: an address given instead of the entry's own, else null. */
  vectorsLink: string | null;
}

/** WebAssembly (wasm32) addresses 4 GiB at most. */
export const WASM_BYTES = 4 * 2 ** 30;
/** While it loads, the engine holds about twice the file in its memory (the bytes, then the
 * weights parsed from them). */
export const ENGINE_FACTOR = 2;
/** Room beyond that for the engine's code, the KV cache and activations. */
export const ENGINE_ROOM = 256 * 2 ** 20;
/** The largest model file this tab can load. */
export const MAX_MODEL_BYTES = Math.floor((WASM_BYTES - ENGINE_ROOM) / ENGINE_FACTOR);
const MAX_ADDRESS = 2048;

/** `n` bytes in words: "98.4 MB", "5.37 GB". */
export function formatBytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

/** `n` bytes roughly, for a sentence: "~100 MB", "~250 MB", "~1.5 GB". */
export function roughBytes(n: number): string {
  if (n >= 1e9) return `~${(n / 1e9).toFixed(1)} GB`;
  if (n < 50e6) return `~${Math.max(1, Math.round(n / 1e6))} MB`;
  return `~${Math.round(n / 50e6) * 50} MB`;
}

/** The memory a model of `bytes` uses while it runs, roughly: twice the file and 100 MB, to
 * the nearest 100 MB. */
export function runningBytes(bytes: number): number {
  return Math.round((ENGINE_FACTOR * bytes + 100e6) / 100e6) * 100e6;
}

/** Whether `raw` is an http(s) address (absolute, or relative to `base`). */
export function isAddress(raw: string, base: string): boolean {
  if (!raw || raw.length > MAX_ADDRESS) return false;
  try {
    const u = new URL(raw, base);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** `?model=` read: a menu id, or an address; anything else is the default, with a warning. */
export function parseModel(raw: string | null, base: string): { model: string; warning?: string } {
  if (raw === null || raw.trim() === "") return { model: DEFAULT_MODEL.id };
  const id = MODELS.find((m) => m.id === raw.trim().toLowerCase());
  if (id) return { model: id.id };
  if (isAddress(raw, base)) return { model: raw };
  const ids = MODELS.map((m) => m.id).join(", ");
  return { model: DEFAULT_MODEL.id, warning: `ignored model=${JSON.stringify(raw.slice(0, 40))}: not one of ${ids}, nor an http(s) address` };
}

/** `?vectors=` read: an address, else none (with a warning when something else was given). */
export function parseVectors(raw: string | null, base: string): { vectors: string | null; warning?: string } {
  if (raw === null || raw.trim() === "") return { vectors: null };
  if (isAddress(raw, base)) return { vectors: raw };
  return { vectors: null, warning: `ignored vectors=${JSON.stringify(raw.slice(0, 40))}: not an http(s) address` };
}

/** A name for a file from its address or file name: "mamba-130m.Q8_0.gguf". */
export function fileName(path: string): string {
  const last = path.split(/[?#]/)[0]!.split("/").filter(Boolean).pop() ?? path;
  try {
    return decodeURIComponent(last) || path;
  } catch {
    return last || path;
  }
}

/** The choice a link's `model` (a menu id or an address, as parseModel gives it) and
 * `vectors` (an address, or null for the entry's own) name. */
export function choose(model: string, vectors: string | null): ModelChoice {
  const e = MODELS.find((m) => m.id === model);
  if (e) {
    return {
      entry: e, name: e.name, short: e.short, url: e.url, file: null, sha256: e.sha256, bytes: e.bytes,
      vectorsUrl: vectors ?? e.vectorsUrl, vectorsFile: null, link: e.id, vectorsLink: vectors,
    };
  }
  const name = fileName(model);
  return {
    entry: null, name, short: name, url: model, file: null, sha256: null, bytes: null,
    vectorsUrl: vectors, vectorsFile: null, link: model, vectorsLink: vectors,
  };
}

/** A model picked from this computer, with its vectors from an address or a file (or none). */
export function chooseFile(file: File, vectorsUrl: string | null, vectorsFile: File | null): ModelChoice {
  return {
    entry: null, name: file.name, short: file.name, url: null, file, sha256: null, bytes: file.size,
    vectorsUrl: vectorsFile ? null : vectorsUrl, vectorsFile, link: "", vectorsLink: vectorsFile ? null : vectorsUrl,
  };
}

/** Why a model file of `bytes` cannot load in this tab, or null when it can. */
export function tooLarge(name: string, bytes: number): string | null {
  if (bytes <= MAX_MODEL_BYTES) return null;
  return `${name} is ${formatBytes(bytes)}: too large for this tab. While it loads, the engine needs about twice the file ` +
    `(${formatBytes(ENGINE_FACTOR * bytes)}) in WebAssembly memory, which holds 4 GiB at most: files up to ${formatBytes(MAX_MODEL_BYTES)} load here.`;
}

/** The sentence about `c`'s size before it loads (`bytes`: the size known now, else null). */
export function sizeNote(c: ModelChoice, bytes: number | null): string {
  const mem = bytes === null ? "" : `, and uses about ${roughBytes(runningBytes(bytes)).slice(1)} of memory while it runs`;
  if (c.file) return `${c.name} is a ${formatBytes(c.file.size)} file from this computer (read here, never uploaded or kept)${mem}.`;
  if (bytes === null) return `The server does not say how large ${c.name} is: it downloads until ${formatBytes(MAX_MODEL_BYTES)}, the most this tab can load.`;
  const kept = c.entry ? "once (this browser keeps it)" : "kept in this browser under its address";
  const unchecked = c.sha256 ? "" : " It has no known SHA-256, so it is not checked.";
  return `${c.entry ? "The model" : c.name} is a ${roughBytes(bytes)} download (${formatBytes(bytes)}), ${kept}${mem}.${unchecked}`;
}

/** The `limbic extract` line that makes vectors for `c`. */
export function extractCommand(c: ModelChoice): string {
  const file = c.entry ? c.entry.url : `${fileName(c.url ?? c.name)}`;
  const stem = fileName(c.entry ? c.entry.vectorsUrl : file).replace(/\.(gguf|safetensors)$/i, "").replace(/\.(q\d\w*|f16|f32|bf16)$/i, "").toLowerCase();
  return `limbic extract --model ${file} --out data/vectors/${stem}.safetensors`;
}
