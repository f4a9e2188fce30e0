//! The model menu: the menu's entries (config.ts) and "another GGUF…" (an address or a file
//! from this computer, with emotion vectors from an address or a file, optional). Before a
//! model downloads, its size is said (the entry's, the server's Content-Length from a HEAD
//! request, or the file's) and a file the tab cannot hold is refused, the running model left
//! as it is. A model that fails to load (an architecture or tokenizer the engine does not
//! read, a broken file, a failed download) is named with the engine's reason, and the page goes
//! back to the model that ran before (else the default), so it stays usable.

import type { App } from "./app";
import { DEFAULT_MODEL, MODELS } from "./config";
import { h, option } from "./dom";
import { explainLoadError } from "./engine/features";
import type { Features } from "./engine/features";
import { choose, chooseFile, isAddress, type ModelChoice, roughBytes, sizeNote, tooLarge } from "./models";

export interface MenuElements {
  /** Where the menu goes (the model section). */
  root: HTMLElement;
  sizeNote: HTMLElement;
  /** The model's name in the header and its credit in the footer. */
  name: HTMLElement;
  credit: HTMLElement;
}

const OTHER = "other";
const CURRENT = "current";

/** The size the server gives for `url` (HEAD, Content-Length), or null when it does not say. */
async function headSize(url: string): Promise<number | null> {
  try {
    const resp = await fetch(url, { method: "HEAD" });
    const n = Number(resp.headers.get("content-length"));
    return resp.ok && Number.isFinite(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** `c`'s size before it loads (its own, else the server's for its address, resolved against
 * `base`; null when neither says) and why it cannot load in this tab ("" when it can: a size
 * not known is let through, and the worker stops the download at MAX_MODEL_BYTES). Both the
 * menu and the Compare view's sides ask this before they start an engine. */
export async function checkSize(c: ModelChoice, base = document.baseURI): Promise<{ bytes: number | null; refused: string }> {
  const bytes = c.bytes ?? (c.url ? await headSize(new URL(c.url, base).href) : null);
  return { bytes, refused: bytes === null ? "" : tooLarge(c.name, bytes) ?? "" };
}

export class ModelMenu {
  private readonly select = h("select", { id: "model-select", "data-testid": "model-select" });
  private readonly note = h("p", { class: "meta warn", id: "model-note", "data-testid": "model-note", role: "status" });
  private readonly url = h("input", { type: "url", id: "model-url", "data-testid": "model-url", size: 40, placeholder: "https://…/model.gguf" });
  private readonly file = h("input", { type: "file", id: "model-file", "data-testid": "model-file", accept: ".gguf" });
  private readonly vectorsUrl = h("input", { type: "url", id: "vectors-url", "data-testid": "vectors-url", size: 40, placeholder: "https://…/vectors.safetensors" });
  private readonly vectorsFile = h("input", { type: "file", id: "vectors-file", "data-testid": "vectors-file", accept: ".safetensors" });
  private readonly other: HTMLFieldSetElement;
  /** The last model that became ready: where a failed load goes back to. */
  private working: ModelChoice | null = null;
  /** The model loading now is the one a failed load went back to (if it fails too, that is
   * said and nothing more is tried). */
  private retreating = false;
  private features: Features | null = null;

  constructor(private readonly app: App, private readonly els: MenuElements) {
    const load = h("button", { type: "button", id: "model-load", "data-testid": "model-load" }, "Load");
    load.addEventListener("click", () => this.loadOther());
    this.other = h("fieldset", { class: "model-other", id: "model-other", hidden: true },
      h("legend", {}, "Another GGUF model"),
      h("div", { class: "controls" },
        h("label", { for: "model-url" }, "address "), this.url,
        h("label", { for: "model-file" }, "or a file "), this.file),
      h("div", { class: "controls" },
        h("label", { for: "vectors-url" }, "emotion vectors (optional): address "), this.vectorsUrl,
        h("label", { for: "vectors-file" }, "or a file "), this.vectorsFile),
      h("div", { class: "controls" }, load),
      h("p", { class: "meta" },
        "A model at another address has no known SHA-256: it is not checked, and it is kept in this browser under its address (Clear cache removes it). " +
        "Another site's file loads only where that site allows it (CORS) and this page's Content-Security-Policy lists it. " +
        "A file from this computer is read here, never uploaded or kept, and no link can carry it. Without emotion vectors the model still writes; the readout and steering need them."),
    );
    this.select.addEventListener("change", () => this.picked());
    els.root.append(h("label", { for: "model-select" }, "Model "), this.select, this.note, this.other);
    app.on((m) => {
      if (m.type === "ready") {
        this.working = app.model;
        this.retreating = false;
        this.fill();
      } else if (m.type === "error" && !app.ready) {
        this.failed(m.message);
      } else if (m.type === "model") {
        this.fill();
      }
    });
    this.fill();
  }

  /** Loads the link's model, once the page knows its `features`; one too large for the tab
   * is refused (said in the note) and the default loads instead. */
  async start(features: Features) {
    this.features = features;
    const c = this.app.model;
    const why = await this.check(c);
    if (why) {
      this.say(`${why} Loading ${DEFAULT_MODEL.name} instead.`);
      this.app.model = choose(DEFAULT_MODEL.id, null);
      this.app.update({ model: DEFAULT_MODEL.id, vectors: null });
      this.show(this.app.model, DEFAULT_MODEL.bytes);
      this.fill();
    }
    this.app.load(features);
  }

  /** Loads `c` in place of the running model, unless it is too large (then nothing changes). */
  async open(c: ModelChoice) {
    this.say("");
    this.retreating = false;
    const why = await this.check(c);
    if (why) {
      this.say(`${why}${this.working ? ` Still running: ${this.working.name}.` : ""}`);
      this.show(this.app.model, this.app.model.bytes);
      this.fill();
      return;
    }
    this.app.switchModel(c);
  }

  /** Says `c`'s size; returns why it cannot load here, or "" when it can. */
  private async check(c: ModelChoice): Promise<string> {
    if (c.bytes === null && c.url) this.els.sizeNote.textContent = `asking the server how large ${c.name} is…`;
    const { bytes, refused } = await checkSize(c);
    this.show(c, bytes);
    return refused;
  }

  /** The size note, the header's name and the footer's credit for `c`. */
  private show(c: ModelChoice, bytes: number | null) {
    this.els.sizeNote.textContent = sizeNote(c, bytes);
    this.els.name.textContent = c.name;
    this.els.credit.textContent = c.entry ? c.entry.credit : `${c.name} (another GGUF: its licence is for you to check)`;
  }

  private say(text: string) {
    this.note.textContent = text;
  }

  /** The menu's options, the running (or loading) model chosen. */
  private fill() {
    const m = this.app.model;
    const opts = MODELS.map((e) => option(e.id, `${e.name} (${e.kind}; ${e.bytes ? roughBytes(e.bytes) : "size unknown"})`));
    if (!m.entry) opts.push(option(CURRENT, `${m.name} (another GGUF)`));
    opts.push(option(OTHER, "another GGUF…"));
    this.select.replaceChildren(...opts);
    this.select.value = m.entry ? m.entry.id : CURRENT;
    this.other.hidden = true;
  }

  private picked() {
    const v = this.select.value;
    this.other.hidden = v !== OTHER;
    if (v === OTHER) {
      this.url.focus();
      return;
    }
    const e = MODELS.find((x) => x.id === v);
    if (e && e !== this.app.model.entry) void this.open(choose(e.id, null));
  }

  /** "Load" in the form: a file from this computer, else the address. */
  private loadOther() {
    const file = this.file.files?.[0] ?? null;
    const vFile = this.vectorsFile.files?.[0] ?? null;
    const vUrl = this.vectorsUrl.value.trim() || null;
    if (vUrl && !isAddress(vUrl, document.baseURI)) {
      this.say(`The vectors' address ${JSON.stringify(vUrl.slice(0, 80))} is not an http(s) address.`);
      return;
    }
    if (file) {
      void this.open(chooseFile(file, vUrl, vFile));
      return;
    }
    const url = this.url.value.trim();
    if (!isAddress(url, document.baseURI)) {
      this.say(url ? `${JSON.stringify(url.slice(0, 80))} is not an http(s) address.` : "Give the model's address, or pick a GGUF file from this computer.");
      return;
    }
    void this.open({ ...choose(url, vFile ? null : vUrl), vectorsFile: vFile });
  }

  /** A load that failed before the model was ready: its reason, then back to the model that
   * ran before (else the default), unless it was that one that failed. */
  private failed(message: string) {
    const bad = this.app.model;
    const back = this.working && this.working !== bad ? this.working : bad.entry === DEFAULT_MODEL ? null : choose(DEFAULT_MODEL.id, null);
    // The default failing on its own, or the way back failing too: the status line says why.
    if (!back || this.retreating || !this.features) return;
    const cross = bad.url && new URL(bad.url, document.baseURI).origin !== location.origin
      ? " (another site's file loads only where that site allows it, CORS, and this page's Content-Security-Policy lists it)" : "";
    this.say(`Could not load ${bad.name}: ${explainLoadError(message)}${cross}. Back to ${back.name}.`);
    this.retreating = true;
    this.show(back, back.bytes);
    this.app.switchModel(back);
  }
}
