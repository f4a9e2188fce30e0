//! What this browser lacks of the features the page uses, and what each absence costs the
//! visitor, in words. The page detects them once (its own view decides: the worker is told not
//! to use what the page lacks) and shows the list under the model status.

import { relaxedSimd } from "wasm-feature-detect";

export interface Features {
  /** SharedArrayBuffer in a cross-origin isolated page (the co-worker thread needs it). */
  sab: boolean;
  /** WebAssembly relaxed SIMD (the faster engine build). */
  relaxedSimd: boolean;
  /** navigator.gpu (WebGPU). */
  gpu: boolean;
  /** The Cache API (where the model is kept between visits). */
  cache: boolean;
  /** Service workers (the offline copy of the site). */
  serviceWorker: boolean;
  /** The device's memory in GB as the browser reports it (navigator.deviceMemory, rounded and
   * capped at 8 by the browser), or null where it does not. */
  memoryGB?: number | null;
}

/** Below this reported memory (GB) the page warns that the model may not fit. */
export const LOW_MEMORY_GB = 2;

/** The features of the page's global scope. */
export async function detectFeatures(): Promise<Features> {
  const g = globalThis as typeof globalThis & { crossOriginIsolated?: boolean };
  let simd = false;
  try {
    simd = await relaxedSimd();
  } catch {
    simd = false;
  }
  return {
    sab: typeof SharedArrayBuffer === "function" && g.crossOriginIsolated === true,
    relaxedSimd: simd,
    gpu: typeof navigator !== "undefined" && "gpu" in navigator && !!(navigator as Navigator & { gpu?: unknown }).gpu,
    cache: "caches" in g && !!g.caches,
    serviceWorker: typeof navigator !== "undefined" && "serviceWorker" in navigator && !!navigator.serviceWorker,
    memoryGB: typeof navigator !== "undefined" ? ((navigator as Navigator & { deviceMemory?: number }).deviceMemory ?? null) : null,
  };
}

/** One sentence per missing feature: what is missing and what is slower or lost. */
export function missingNotes(f: Features): string[] {
  const notes: string[] = [];
  if (!f.gpu) notes.push("No WebGPU in this browser: the model runs on the CPU.");
  if (!f.relaxedSimd) notes.push("No WebAssembly relaxed SIMD: the plain engine build runs, replies are slower.");
  if (!f.sab) notes.push("No SharedArrayBuffer (the page is not cross-origin isolated): the engine keeps to one thread, slower on machines with 4 or more cores.");
  if (!f.cache) notes.push("No Cache API (a private window?): the model (~100 MB) is downloaded again on every visit.");
  if (!f.serviceWorker) notes.push("No service workers: the page will not open offline.");
  if (f.memoryGB && f.memoryGB < LOW_MEMORY_GB) {
    notes.push(`This device reports ${f.memoryGB} GB of memory: the model (~300 MB while it runs) may not fit; close other tabs first.`);
  }
  return notes;
}

/** A model load's error in words a visitor can act on: a network failure, no memory for the
 * engine, or the message as it came. */
export function explainLoadError(message: string): string {
  if (/failed to fetch|networkerror|network error|load failed|download (failed|stopped)/i.test(message)) {
    return `the model could not be downloaded (${message}): check the connection and reload`;
  }
  if (/out of memory|could not allocate|allocation failed|memory access out of bounds|array buffer allocation|rangeerror.*memory/i.test(message)) {
    return `not enough memory for the model in this tab (${message}): close other tabs or use a device with more memory, then reload`;
  }
  return message;
}
