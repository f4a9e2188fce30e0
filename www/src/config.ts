//! Where the page finds its models, vectors and cache: the one place to change for hosting
//! elsewhere. Paths are relative to the page, so the built site works under any prefix; a
//! build can point the default model elsewhere with VITE_LIMBIC_MODEL_URL /
//! VITE_LIMBIC_EMOTIONS_URL / VITE_LIMBIC_MODEL_SHA256 (same origin, or an origin the CSP's
//! connect-src allows).

const env = import.meta.env as Record<string, string | undefined>;

/** A model of the page's menu. */
export interface ModelEntry {
  /** What `?model=` says for it. */
  id: string;
  name: string;
  /** The name in the reply's heading. */
  short: string;
  /** One line for the menu: what kind of model, where it runs. */
  kind: string;
  /** The GGUF file. */
  url: string;
  /** The emotion vectors made for it (`limbic extract`); a missing file (404) means none. */
  vectorsUrl: string;
  /** SHA-256 of the file; a cached or downloaded copy must match it. */
  sha256: string;
  /** The file's size in bytes (pinned by the hash), said before it downloads; null when a
   * build points the entry at another file. */
  bytes: number | null;
  /** Licence and format, for the footer and exports. */
  credit: string;
}

const overridden = env.VITE_LIMBIC_MODEL_URL !== undefined;

/** The menu's models, the default first. */
export const MODELS: readonly ModelEntry[] = [
  {
    id: "smollm2-135m-instruct",
    name: "SmolLM2-135M-Instruct",
    short: "SmolLM2",
    kind: "chat",
    url: env.VITE_LIMBIC_MODEL_URL ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf",
    vectorsUrl: env.VITE_LIMBIC_EMOTIONS_URL ?? "data/vectors/smollm2-135m-instruct.safetensors",
    sha256: env.VITE_LIMBIC_MODEL_SHA256 ?? "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    bytes: overridden ? null : 98_362_432,
    credit: "SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF",
  },
  {
    id: "gemma-3-270m",
    name: "Gemma 3 270M",
    short: "Gemma 3",
    kind: "base model: plain text, no chat",
    url: "models/gemma-3-270m.Q4_K_M.gguf",
    vectorsUrl: "data/vectors/gemma-3-270m.safetensors",
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    bytes: 253_113_024,
    credit: "Gemma 3 270M (Gemma Terms of Use), Q4_K_M GGUF",
  },
];

export const DEFAULT_MODEL = MODELS[0]!;
/** The default model's file and vectors (the service worker keeps these vectors offline). */
export const MODEL_URL = DEFAULT_MODEL.url;
export const EMOTIONS_URL = DEFAULT_MODEL.vectorsUrl;
/** Cache API bucket of the model files, keyed by their address; bump the version when the
 * way they are kept changes. */
export const MODEL_CACHE = "limbic-model-v1";
