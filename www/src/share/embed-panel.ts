//! The Embed panel beside Copy link: the <iframe> and <limbic-demo> snippets for the current
//! view and run, each with a copy button. Snippets are shown as text (a textarea's value).

import type { App } from "../app";
import { h } from "../dom";
import { elementSnippet, iframeSnippet } from "./embed-snippet";

/** Fills `root` (a <details>) with the snippets and keeps them current. */
export function embedPanel(root: HTMLElement, app: App) {
  const site = () => new URL("..", location.href).href;
  const block = (id: string, label: string, help: string) => {
    const text = h("textarea", { id, "data-testid": id, readonly: true, rows: 3, spellcheck: "false" });
    const copy = h("button", { type: "button", "data-testid": `${id}-copy` }, "Copy");
    const note = h("span", { class: "meta", role: "status" });
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text.value);
        note.textContent = "copied";
      } catch {
        text.select(); // no clipboard permission: selected to copy by hand
        note.textContent = "select and copy it";
      }
    });
    root.append(h("div", { class: "snippet" }, h("label", { for: id }, label), h("p", { class: "meta" }, help), text, h("div", {}, copy, note)));
    return text;
  };
  const iframe = block("embed-iframe", "As an iframe", "Works on any page. Shows Readout or Steer; it cannot size itself without our script, so set its height.");
  const element = block("embed-element", "As an element", "Our script adds <limbic-demo>, which sizes itself to the embed (its height comes from the embed's origin only).");
  const refresh = () => {
    iframe.value = iframeSnippet(site(), app.state, app.linkFragment());
    element.value = elementSnippet(site(), app.state, app.linkFragment());
  };
  app.on((e) => { if (e.type === "state" || e.type === "made") refresh(); });
  refresh();
}
