//! <limbic-demo>: limbic inside another site's page. Built on its own as limbic-demo.js (a
//! classic script with no imports): `<script src="https://…/limbic-demo.js" defer>` then
//! `<limbic-demo prompt="…" steer="sad:0.2" view="steer"></limbic-demo>`. The element makes an
//! <iframe> of embed.html from the script's own origin with its attributes as the URL
//! parameters, and takes the embed's height reports — only from that origin and that frame — to
//! size it. No inline styles or <style> elements (a host's CSP may forbid them): sizes are set
//! through the CSSOM.

import { EMBED_PARAMS, embedSrc, heightOf, HELLO_MESSAGE, MADE_ATTRIBUTE } from "./embed-src";

// Read while the script runs: later, currentScript is another script or null.
const SCRIPT_URL = (document.currentScript as HTMLScriptElement | null)?.src || document.baseURI;
const DEFAULT_HEIGHT = 560;

class LimbicDemo extends HTMLElement {
  static observedAttributes = [...EMBED_PARAMS, MADE_ATTRIBUTE, "height"];
  private frame: HTMLIFrameElement | null = null;
  private origin = new URL(SCRIPT_URL).origin;
  private readonly onMessage = (e: MessageEvent) => {
    if (!this.frame || e.origin !== this.origin || e.source !== this.frame.contentWindow) return;
    const height = heightOf(e.data);
    if (height === null) return;
    this.frame.style.height = `${height}px`;
    this.dispatchEvent(new CustomEvent("limbic-resize", { detail: { height } }));
  };

  connectedCallback() {
    if (!this.frame) {
      const frame = document.createElement("iframe");
      frame.title = this.getAttribute("title") || "limbic: a small language model's emotion readout, live";
      frame.setAttribute("allow", "cross-origin-isolated");
      frame.loading = "lazy";
      Object.assign(frame.style, { display: "block", width: "100%", border: "0", height: `${Number(this.getAttribute("height")) || DEFAULT_HEIGHT}px` });
      // The embed learns whom to tell its height from the origin of this message.
      frame.addEventListener("load", () => frame.contentWindow?.postMessage({ type: HELLO_MESSAGE }, this.origin));
      this.frame = frame;
      (this.shadowRoot ?? this.attachShadow({ mode: "open" })).append(frame);
    }
    window.addEventListener("message", this.onMessage);
    this.update();
  }

  disconnectedCallback() {
    window.removeEventListener("message", this.onMessage);
  }

  attributeChangedCallback() {
    if (this.isConnected) this.update();
  }

  /** The iframe behind the element (tests and hosts may want it). */
  get iframe(): HTMLIFrameElement | null {
    return this.frame;
  }

  private update() {
    if (!this.frame) return;
    const src = embedSrc(SCRIPT_URL, (n) => this.getAttribute(n));
    if (this.frame.src !== src) this.frame.src = src;
  }
}

if (!customElements.get("limbic-demo")) customElements.define("limbic-demo", LimbicDemo);
