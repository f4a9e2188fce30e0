//! Where the page finds its model, vectors and cache: the one place to change for hosting
//! elsewhere. Paths are relative to the page, so the built site works under any prefix; a
//! build can point them elsewhere with VITE_LIMBIC_MODEL_URL / VITE_LIMBIC_EMOTIONS_URL
//! (same origin, or an origin the CSP's connect-src allows).

const env = import.meta.env as Record<string, string | undefined>;

/** The GGUF model file (Q4_1, 98 MB). */
export const MODEL_URL = env.VITE_LIMBIC_MODEL_URL ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf";
/** The emotion vectors made for that model (`limbic extract`). */
export const EMOTIONS_URL = env.VITE_LIMBIC_EMOTIONS_URL ?? "data/vectors/smollm2-135m-instruct.safetensors";
/** Cache API bucket; bump the version when the model file changes. */
export const MODEL_CACHE = "limbic-model-v1";
/** SHA-256 of the model file (models.sha256); a cached or downloaded copy must match it. */
export const MODEL_SHA256 = env.VITE_LIMBIC_MODEL_SHA256 ?? "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
