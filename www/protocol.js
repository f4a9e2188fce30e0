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
