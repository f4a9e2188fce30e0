//! The page's one source of truth: the URL state, the engine's worker, the loaded emotion
//! names, the replies so far, and a listener list the shell and views subscribe to.

import type { Features } from "./engine/features";
import { DEFAULT_MODEL } from "./config";
import { choose, MAX_MODEL_BYTES, type ModelChoice } from "./models";
import type { Choice, EmotionInfo, FromWorker, GenerateRequest, MadeInfo, RunId, Steer, ToWorker } from "./engine/protocol";
import { encodeMade, type MadeLink } from "./share/made-link";
import { addToRun, newRun, type Run } from "./run-data";
import { type AppState, toQuery, TOP } from "./share/url-state";

/** Events views hear: every worker message, plus the page's own changes. */
export type AppEvent =
  | FromWorker
  | { type: "busy"; busy: boolean }
  | { type: "state" }
  | { type: "generate-start" }
  /** Another model starts loading (App.switchModel): what was shown belongs to the old one. */
  | { type: "model" };

export type Listener = (e: AppEvent) => void;

export interface Scope {
  on(l: Listener): void;
  dispose(): void;
}

/** A view on the page: `dispose` tears it down; `generate`, if the view runs replies, is
 * what a link's autorun=1 starts. */
export interface Mounted {
  dispose(): void;
  generate?(): void;
}

/** Where the page keeps the backend a first visit measured faster (see worker.ts). */
const CHOICE_KEY = "limbic.backend";

/** The backend an earlier visit measured faster for the model `id`, if this browser kept it. */
function remembered(id: string): Choice | undefined {
  try {
    const c = JSON.parse(localStorage.getItem(choiceKey(id)) ?? "null") as Choice | null;
    return (c?.backend === "cpu" || c?.backend === "webgpu") && typeof c.reason === "string" ? c : undefined;
  } catch {
    return undefined; // no storage (an opaque origin) or a damaged entry: measure again
  }
}

/** Per model (one may run faster on WebGPU, another on the CPU); the default's key is the old one. */
function choiceKey(id: string): string {
  return id === DEFAULT_MODEL.id ? CHOICE_KEY : `${CHOICE_KEY}.${id}`;
}

function remember(id: string, c: Choice) {
  try {
    localStorage.setItem(choiceKey(id), JSON.stringify(c));
  } catch {
    // no storage: the next visit measures again
  }
}

/** One view of the page. A file under views/ that exports `view` is a view; nothing else to
 * register. `mount` builds it under `root`. */
export interface ViewDef {
  id: string;
  title: string;
  /** Position in the navigation, low first. */
  order: number;
  /** Without emotion vectors the view has nothing to show (the page says so in its place). */
  needsVectors?: boolean;
  /** The view runs engines of its own (Compare): the page's model loads only once another
   * view is shown. */
  ownEngines?: boolean;
  mount(root: HTMLElement, app: App): Mounted;
}

export class App {
  emotions: EmotionInfo | null = null;
  runs: Partial<Record<RunId, Run>> = {};
  busy = false;
  ready = false;
  /** Earlier turns (user, assistant, …) of the Readout's conversation. */
  history: string[] = [];
  /** The backend running the model, once loaded. */
  backend = "";
  /** Vectors made in this page (or read from its link), by name; never the built-in ones. */
  made = new Map<string, MadeInfo>();
  /** The made vector a link's fragment carried, until the engine has it. */
  madeLink: MadeLink | null = null;
  /** The hash of the texts each made vector came from (or its link's), by name. */
  hashes = new Map<string, string>();
  /** The fragment (without "#") the view wants in its links, e.g. a made vector; "" for none. */
  fragment = "";
  /** The model loading or loaded, and whether it has a chat template (from `ready`). */
  model: ModelChoice;
  chat = true;
  /** Why the model has no emotion vectors (from `ready`), when it has none. */
  vectorsNote = "";
  /** Counts the models loaded in this tab: what a view shows belongs to one of them. */
  generation = 0;
  private listeners = new Set<Listener>();
  private urlTimer: ReturnType<typeof setTimeout> | undefined;
  private worker: Worker;
  private features: Features | null = null;

  constructor(public state: AppState) {
    this.model = choose(state.model, state.vectors);
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const w = new Worker(new URL("./engine/worker.ts", import.meta.url), { type: "module" });
    // A message the old worker sent before it was replaced is not about the model now loading.
    w.onmessage = (e: MessageEvent<FromWorker>) => { if (w === this.worker) this.receive(e.data); };
    return w;
  }

  /** Asks the worker to load `this.model` and its vectors (URLs resolved against the page),
   * using only the `features` the page has (relaxed SIMD, which the worker checks again
   * itself, and the Cache API; WebGPU the worker looks for itself). */
  load(features: Features) {
    this.features = features;
    const abs = (u: string | null) => (u === null ? undefined : new URL(u, document.baseURI).href);
    // ?threads=1 or 2 sets the CPU engine's threads (for comparisons); otherwise the worker
    // decides from the cores it sees. ?simd=plain runs the build without relaxed SIMD.
    const params = new URLSearchParams(location.search);
    const t = Number(params.get("threads"));
    const threads = t === 1 || t === 2 ? t : undefined;
    const simd = params.get("simd") === "plain" || !features.relaxedSimd ? "plain" : undefined;
    // The link's backend wins; else what an earlier visit measured; else the worker measures
    // (it finds no WebGPU itself where the page has none).
    const backend = this.state.backend ?? undefined;
    const m = this.model;
    const chosen = backend || !m.link ? undefined : remembered(m.link);
    this.post({
      type: "load", modelUrl: abs(m.url), modelFile: m.file ?? undefined, sha256: m.sha256 ?? undefined, maxBytes: MAX_MODEL_BYTES,
      emotionsUrl: abs(m.vectorsUrl), emotionsFile: m.vectorsFile ?? undefined,
      backend, chosen, threads, simd, cache: features.cache,
    });
  }

  /** Loads `model` in place of the one running: a new worker (the old one goes with its wasm
   * memory, which never shrinks), the replies, made vectors and the settings that name the
   * old vectors' emotions and layers forgotten. */
  switchModel(model: ModelChoice) {
    this.worker.terminate();
    this.worker = this.spawn();
    this.model = model;
    this.generation += 1;
    Object.assign(this, { emotions: null, runs: {}, ready: false, busy: false, history: [], backend: "", chat: true, vectorsNote: "" });
    this.made.clear();
    this.hashes.clear();
    this.madeLink = null;
    this.fragment = "";
    this.update({ model: model.link, vectors: model.vectorsLink, steer: [], track: [], emotion: TOP, layer: null, window: null });
    this.emit({ type: "model" });
    this.emit({ type: "busy", busy: false });
    if (this.features) this.load(this.features);
  }

  /** Ends the engine (its worker and wasm memory) for good: a view that ran its own. */
  dispose() {
    this.worker.terminate();
    this.listeners.clear();
  }

  post(m: ToWorker) {
    this.worker.postMessage(m);
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Subscriptions that end together, when a view is torn down. */
  scope(): Scope {
    const offs: (() => void)[] = [];
    return { on: (l) => { offs.push(this.on(l)); }, dispose: () => offs.splice(0).forEach((off) => off()) };
  }

  emit(e: AppEvent) {
    for (const l of [...this.listeners]) l(e);
  }

  /** The layer the readout uses now. */
  layer(): number {
    return this.state.layer ?? this.emotions?.defaultLayer ?? 0;
  }

  /** The readout's smoothing window now (tokens; 1 is the raw readout). */
  window(): number {
    const info = this.emotions;
    const w = this.state.window ?? info?.defaultWindow ?? 1;
    return info?.windows.includes(w) ? w : info?.windows.includes(info.defaultWindow) ? info.defaultWindow : 1;
  }

  /** Changes the state, mirrors it in the address bar (without autorun), and tells the views. */
  update(change: Partial<AppState>) {
    Object.assign(this.state, change);
    // Browsers throttle frequent history writes (a dragged slider): write once it settles.
    clearTimeout(this.urlTimer);
    this.urlTimer = setTimeout(() => history.replaceState(history.state, "", `?${toQuery({ ...this.state, autorun: false })}`), 120);
    this.emit({ type: "state" });
  }

  /** A link that reproduces the current view and run. */
  shareUrl(): string {
    const f = this.linkFragment();
    return `${location.origin}${location.pathname}?${toQuery({ ...this.state, autorun: true })}${f ? `#${f}` : ""}`;
  }

  /** The fragment links carry: the view's own, else the first made vector the steering uses
   * (one a link can carry: made from texts or read from a link, not a control-vector file). */
  linkFragment(): string {
    if (this.fragment) return this.fragment;
    for (const s of this.state.steer) {
      const m = this.made.get(s.name);
      const hash = this.hashes.get(s.name);
      if (m && !m.imported && hash) return encodeMade({ name: m.name, hash, layer: m.steerLayer, strength: s.strength, vector: m.vector });
    }
    return "";
  }

  /** Runs the prompt with `steer`; with `compare` and a steer, the unsteered reply first.
   * `over` replaces settings from the state (a view with its own prompt, e.g. Experiments). */
  generate(steer: Steer[], compare: boolean, over: Partial<GenerateRequest> = {}) {
    if (!this.ready || this.busy) return;
    const s = this.state;
    this.runs = {};
    this.setBusy(true);
    this.emit({ type: "generate-start" });
    this.post({
      type: "generate", prompt: s.prompt, chat: this.chat, maxTokens: s.maxTokens, temperature: s.temperature,
      topP: 1, seed: s.seed, steer, compare: compare && steer.length > 0, layer: this.layer(), ...over,
    });
  }

  /** Forgets every made vector, here and in the engine. */
  clearMade() {
    this.made.clear();
    this.hashes.clear();
    this.madeLink = null;
    this.fragment = "";
    this.post({ type: "clear-made" });
    this.emit({ type: "state" });
  }

  stop() {
    this.post({ type: "cancel" });
  }

  /** Reads out at `layer` (null: the vectors' default) from the next reply on. */
  setLayer(layer: number | null) {
    this.update({ layer });
    this.post({ type: "set-layer", layer: this.layer() });
  }

  /** Marks the engine busy (a reply or an experiment runs) and tells the views. */
  setBusy(busy: boolean) {
    this.busy = busy;
    this.emit({ type: "busy", busy });
  }

  private receive(m: FromWorker) {
    const n = this.emotions?.names.length ?? 0;
    if (m.type === "ready" || m.type === "backend") this.backend = m.backend;
    if (m.type === "ready") {
      this.emotions = m.emotions;
      this.chat = m.chat;
      this.vectorsNote = m.vectorsNote ?? "";
      this.ready = true;
      if (m.measured && this.model.link) remember(this.model.link, { backend: m.backend, reason: m.reason });
    } else if (m.type === "made") {
      this.made.set(m.made.name, m.made);
    } else if (m.type === "run-start") {
      this.runs[m.run] = newRun(m.run, m.steer, m.layer);
    } else if (m.type === "prompt" || m.type === "token") {
      const run = this.runs[m.run];
      if (run) addToRun(run, m, n);
    }
    this.emit(m);
    if (m.type === "done") {
      for (const r of Object.values(this.runs)) r.done = true;
      this.setBusy(false);
    } else if (m.type === "error") {
      this.setBusy(false);
    }
  }
}
