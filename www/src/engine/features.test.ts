import { expect, test } from "vitest";
import { explainLoadError, missingNotes } from "./features";

const ALL = { sab: true, relaxedSimd: true, gpu: true, cache: true, serviceWorker: true };

test("nothing missing, nothing said; each missing feature says what it costs", () => {
  expect(missingNotes(ALL)).toEqual([]);
  expect(missingNotes({ ...ALL, gpu: false })).toEqual(["No WebGPU in this browser: the model runs on the CPU."]);
  expect(missingNotes({ ...ALL, relaxedSimd: false })[0]).toMatch(/relaxed SIMD.*slower/);
  expect(missingNotes({ ...ALL, sab: false })[0]).toMatch(/SharedArrayBuffer.*one thread/);
  expect(missingNotes({ ...ALL, cache: false })[0]).toMatch(/Cache API.*downloaded again/);
  expect(missingNotes({ ...ALL, serviceWorker: false })[0]).toMatch(/offline/);
  expect(missingNotes({ sab: false, relaxedSimd: false, gpu: false, cache: false, serviceWorker: false })).toHaveLength(5);
  expect(missingNotes({ ...ALL, memoryGB: 0.5 })).toEqual(["This device reports 0.5 GB of memory: the model (~300 MB while it runs) may not fit; close other tabs first."]);
  expect(missingNotes({ ...ALL, memoryGB: 8 })).toEqual([]);
  expect(missingNotes({ ...ALL, memoryGB: null })).toEqual([]);
});

test("load errors are explained: network, memory, else as they came", () => {
  expect(explainLoadError("Failed to fetch")).toMatch(/^the model could not be downloaded \(Failed to fetch\): check the connection/);
  expect(explainLoadError("model download stopped at 5 of 10 bytes")).toMatch(/could not be downloaded/);
  expect(explainLoadError("WebAssembly.Memory(): could not allocate memory")).toMatch(/^not enough memory for the model/);
  expect(explainLoadError("RangeError: Out of memory")).toMatch(/^not enough memory/);
  expect(explainLoadError("not a GGUF file")).toBe("not a GGUF file");
});
