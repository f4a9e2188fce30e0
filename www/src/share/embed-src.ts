//! What the <limbic-demo> element needs, pure: the embed's address from the element's
//! attributes, and which messages from the embed are height reports. Only embed-element.ts
//! imports this, so limbic-demo.js stays one file with no imports.

/** The attributes <limbic-demo> passes on to embed.html: the page's own URL parameters. */
export const EMBED_PARAMS = ["view", "prompt", "steer", "layer", "emotion", "track", "seed", "temperature", "max", "backend", "model", "vectors", "autorun"] as const;
/** The attribute that carries a made vector: the fragment of a link (`made=…&name=…`), passed
 * on as embed.html's fragment, so no server sees it either. */
export const MADE_ATTRIBUTE = "made";

/** The message type the embed posts its height with (embed.ts posts it). */
export const HEIGHT_MESSAGE = "limbic:height";
/** What the element sends the embed once it loads, so the embed knows whom to tell. */
export const HELLO_MESSAGE = "limbic:hello";

/** Heights outside this range are clamped: an embed is never 0 or a mile high. */
export const MIN_HEIGHT = 120;
export const MAX_HEIGHT = 6000;

/** embed.html next to the script at `scriptUrl`, with the element's attributes as its query. */
export function embedSrc(scriptUrl: string, attr: (name: string) => string | null): string {
  const url = new URL("embed.html", scriptUrl);
  for (const name of EMBED_PARAMS) {
    const v = attr(name);
    if (v !== null) url.searchParams.set(name, v);
  }
  const made = attr(MADE_ATTRIBUTE);
  if (made) url.hash = made.replace(/^#/, "");
  return url.href;
}

/** The height in a `{type: "limbic:height", height}` message, clamped; null for anything else. */
export function heightOf(data: unknown): number | null {
  if (typeof data !== "object" || data === null) return null;
  const m = data as { type?: unknown; height?: unknown };
  if (m.type !== HEIGHT_MESSAGE || typeof m.height !== "number" || !Number.isFinite(m.height)) return null;
  return Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, m.height)));
}
