// The one message protocol between the page and the engine's worker.
//
// page → worker
//   {type: "load", modelUrl}                         fetch (or take from cache) and load the model
//   {type: "generate", prompt, chat, maxTokens, temperature, topP, seed}
//   {type: "cancel"}                                 stop the generation under way after this step
// worker → page
//   {type: "progress", loaded, total, cached}        model bytes so far (total 0 if unknown)
//   {type: "ready", backend, nLayer, dModel}
//   {type: "token", id, text}
//   {type: "done", reason}                           reason: "end" | "cancelled"
//   {type: "error", message}
export const MODEL_URL = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
export const MODEL_CACHE = "limbic-model-v1";
