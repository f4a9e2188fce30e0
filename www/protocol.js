// The one message protocol between the page and the engine's worker.
//
// page → worker
//   {type: "load", modelUrl, emotionsUrl, backend}   fetch (or take from cache) and load model and vectors;
//                                                    backend: "webgpu" | "cpu" | undefined (WebGPU if the
//                                                    browser has an adapter)
//   {type: "generate", prompt, chat, maxTokens, temperature, topP, seed, steer: [{name, strength}], compare}
//                                                    compare: with a steer, first the unsteered reply (same seed)
//   {type: "cancel"}                                 stop the generation under way after this step
//   {type: "lose-device"}                            destroy the WebGPU device (shows the CPU fallback)
// worker → page
//   {type: "progress", loaded, total, cached}        model bytes so far (total 0 if unknown)
//   {type: "notice", message}                        something the page should say (a damaged cached
//                                                    copy was dropped, the cache is full, ...)
//   {type: "ready", backend, fallback, nLayer, dModel, emotions: {names, defaultLayer, defaultStrength, ...}}
//                                                    backend: "webgpu" | "cpu"; fallback: why WebGPU was
//                                                    left for the CPU, or undefined
//   {type: "backend", backend, fallback}             the engine moved to the CPU mid-reply, and why
//   {type: "token", run, id, text, top: [[emotion, score], ...]}   run: "baseline" | "main";
//                                                    top: the 5 highest readout scores, or []
//   {type: "done", reason, stats}                    reason: "end" | "cancelled";
//                                                    stats (main run): {promptTokens, promptMs, tokens, decodeMs} or null
//   {type: "error", message}
export const MODEL_URL = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
export const EMOTIONS_URL = "data/vectors/smollm2-135m-instruct.safetensors";
export const MODEL_CACHE = "limbic-model-v1";
// SHA-256 of the model file (models.sha256); a cached or downloaded copy must match it.
export const MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
