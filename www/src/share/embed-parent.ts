//! The embed's side of talking to the page around it: whose origin it may post its height to.
//! The height goes only to an origin the browser vouches for: the parent's origin from
//! `location.ancestorOrigins` (Chromium, Safari), or the origin of a `limbic:hello` message that
//! came from the parent window itself (every browser; <limbic-demo> sends one).

/** The message type the embed posts its height with (heightOf in embed-src.ts reads it). */
export const HEIGHT_MESSAGE = "limbic:height";
export const HELLO_MESSAGE = "limbic:hello";

/** An http(s) origin, or null for an opaque ("null") or unusable one. */
export function usableOrigin(origin: string | undefined | null): string | null {
  if (!origin || origin === "null") return null;
  try {
    const u = new URL(origin);
    return (u.protocol === "https:" || u.protocol === "http:") && u.origin === origin ? origin : null;
  } catch {
    return null;
  }
}

/** The parent's origin as the browser gives it, or null when it does not. */
export function parentOrigin(ancestorOrigins: ArrayLike<string> | undefined): string | null {
  return usableOrigin(ancestorOrigins?.[0]);
}

/** True for a hello message (its origin is checked by the caller, from the event). */
export function isHello(data: unknown): boolean {
  return typeof data === "object" && data !== null && (data as { type?: unknown }).type === HELLO_MESSAGE;
}
