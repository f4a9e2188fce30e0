//! Which build of the wasm engine this browser runs. `make wasm` makes two from the same code:
//! pkg/ with relaxed SIMD (its integer dot product speeds up the Q4_1 products; Chromium has it)
//! and pkg/plain/ with simd128 alone, for browsers whose wasm lacks relaxed SIMD (a module that
//! uses it would not load there). Both give the same bits (tests/wasm.rs, e2e threads test).

import { relaxedSimd } from "wasm-feature-detect";

export type Simd = "relaxed" | "plain";
export type EngineBuild = typeof import("../../../pkg/limbic.js");

/** `wanted` "plain" forces the fallback build (`?simd=plain`, for comparisons and tests). */
export async function pickSimd(wanted?: Simd): Promise<Simd> {
  return wanted !== "plain" && (await relaxedSimd()) ? "relaxed" : "plain";
}

let memory: WebAssembly.Memory | null = null;

/** The build for `simd`, its wasm instantiated. */
export async function loadEngineBuild(simd: Simd): Promise<EngineBuild> {
  const m: EngineBuild = simd === "relaxed" ? await import("../../../pkg/limbic.js") : await import("../../../pkg/plain/limbic.js");
  memory = (await m.default()).memory;
  return m;
}

/** The size of this worker's wasm memory in bytes (0 before a build is loaded). */
export function wasmMemoryBytes(): number {
  return memory?.buffer.byteLength ?? 0;
}
