//! The Embed panel's snippets for the current view and run: an <iframe> of embed.html, and the
//! <limbic-demo> element with its script. Pure: the page shows the text (as text) to copy.

import { type AppState, toQuery } from "./url-state";

/** embed-src.ts's MADE_ATTRIBUTE, written out: a module the page shares with limbic-demo.js
 * would make that script import a chunk, and it must stand alone (the unit tests tie the two). */
const MADE_ATTRIBUTE = "made";

/** The views an embed can show. */
export const EMBED_VIEWS = ["readout", "steer"] as const;

/** `s` as an embed shows it: an embeddable view (else Readout), running on load. */
export function embedState(s: AppState): AppState {
  const view = (EMBED_VIEWS as readonly string[]).includes(s.view) ? s.view : "readout";
  return { ...s, view, autorun: true };
}

/** Text safe inside a double-quoted HTML attribute. */
export function escapeAttr(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** `<iframe>` of embed.html under `site` (the site's root URL, ending in "/"); `fragment`: a
 * made vector the embed steers with (App.linkFragment). */
export function iframeSnippet(site: string, s: AppState, fragment = ""): string {
  const src = new URL(`embed.html?${toQuery(embedState(s))}${fragment ? `#${fragment}` : ""}`, site).href;
  return `<iframe src="${escapeAttr(src)}" title="limbic: a small language model's emotion readout, live" `
    + `width="100%" height="560" style="border:0" allow="cross-origin-isolated" loading="lazy"></iframe>`;
}

/** limbic-demo.js from `site` and a <limbic-demo> whose attributes are the URL parameters (and
 * `made`, the fragment of a made vector, when there is one). */
export function elementSnippet(site: string, s: AppState, fragment = ""): string {
  const params = [...new URLSearchParams(toQuery(embedState(s)))];
  if (fragment) params.push([MADE_ATTRIBUTE, fragment]);
  const attrs = params.map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join("");
  return `<script src="${escapeAttr(new URL("limbic-demo.js", site).href)}" defer></script>\n<limbic-demo${attrs}></limbic-demo>`;
}
